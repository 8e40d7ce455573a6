"""The interpretation backends, in one table: name, description, how to build one, its hooks.

Backends are imported only when chosen: ``local`` needs the optional ``llama-cpp-python``
extra and ``openai`` pulls in an HTTP client, neither of which a ``rules`` run should pay
for or fail on.

Hooks are optional steps a backend declares here, and the pipelines find them only here
(never by probing an object for attributes): ``prepare`` rewrites a prompt before it is
generated and stored (the local model shortens prompts that do not fit its context).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lanhar_core.config import Settings
from lanhar_core.errors import ConfigError
from lanhar_core.llm.base import Backend, PromptSpec

HOOKS = ("prepare",)
"""Every hook a backend can declare; ``prepare(spec) -> PromptSpec``."""


def _rules(settings: Settings) -> Backend:
    from lanhar_core.llm.rules_backend import RulesBackend

    return RulesBackend(settings.llm.rules_version)


def _openai(settings: Settings) -> Backend:
    from lanhar_core.llm.openai_backend import OpenAIBackend

    return OpenAIBackend(settings.llm, batch_dir=settings.cache_dir / "openai-batches")


def _local(settings: Settings) -> Backend:
    from lanhar_core.llm.local_backend import LocalBackend

    return LocalBackend(settings.llm)


@dataclass(frozen=True)
class BackendEntry:
    """One registered backend: ``create`` builds it from the settings; ``hooks`` names the ``HOOKS`` it implements."""

    name: str
    description: str
    create: Callable[[Settings], Backend]
    hooks: tuple[str, ...] = ()


REGISTRY: tuple[BackendEntry, ...] = (
    BackendEntry("rules", "rule-based writer (not an LLM): offline, deterministic, free; the default", _rules),
    BackendEntry(
        "openai",
        "any OpenAI-compatible chat-completions endpoint (OpenAI, Ollama, vLLM, LM Studio, llama.cpp server)",
        _openai,
    ),
    BackendEntry(
        "local", "in-process GGUF model via llama-cpp-python (optional extra; SmolLM2-135M-Instruct by default)",
        _local, hooks=("prepare",),
    ),
)

BACKENDS: dict[str, str] = {entry.name: entry.description for entry in REGISTRY}
"""Name -> description, for help texts."""

_BY_NAME = {entry.name: entry for entry in REGISTRY}


def make_backend(settings: Settings, name: str | None = None) -> Backend:
    """The backend ``name`` (default ``settings.llm.backend``), configured from ``settings.llm``.

    Raises ``BackendUnavailableError`` (with install instructions) when the ``local`` extra
    or its model file is missing, and ``ConfigError`` for an unknown name.
    """
    chosen = (name or settings.llm.backend).strip().lower()
    if chosen not in _BY_NAME:
        raise ConfigError(f"unknown interpretation backend {chosen!r}; choose one of: {', '.join(BACKENDS)}")
    return _BY_NAME[chosen].create(settings)


def prepare_hook(backend: Backend) -> Callable[[PromptSpec], PromptSpec]:
    """The backend's declared ``prepare`` hook, or the identity for a backend that declares none.

    Backends built outside the table (test doubles, a user's own) declare no hooks.
    """
    entry = _BY_NAME.get(backend.name)
    if entry is None or "prepare" not in entry.hooks:
        return _unchanged
    prepare: Callable[[PromptSpec], PromptSpec] = backend.prepare  # type: ignore[attr-defined]
    return prepare


def _unchanged(spec: PromptSpec) -> PromptSpec:
    return spec
