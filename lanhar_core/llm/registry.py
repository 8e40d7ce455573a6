"""Choose an interpretation backend by name.

Backends are imported only when chosen: ``local`` needs the optional ``llama-cpp-python``
extra and ``openai`` pulls in an HTTP client, neither of which a ``rules`` run should pay
for or fail on.
"""

from __future__ import annotations

from lanhar_core.config import Settings
from lanhar_core.errors import ConfigError
from lanhar_core.llm.base import Backend

BACKENDS: dict[str, str] = {
    "rules": "rule-based writer (not an LLM): offline, deterministic, free; the default",
    "openai": "any OpenAI-compatible chat-completions endpoint (OpenAI, Ollama, vLLM, LM Studio, llama.cpp server)",
    "local": "in-process GGUF model via llama-cpp-python (optional extra; SmolLM2-135M-Instruct by default)",
}


def make_backend(settings: Settings, name: str | None = None) -> Backend:
    """The backend ``name`` (default ``settings.llm.backend``), configured from ``settings.llm``.

    Raises ``BackendUnavailableError`` (with install instructions) when the ``local`` extra
    or its model file is missing, and ``ConfigError`` for an unknown name.
    """
    chosen = (name or settings.llm.backend).strip().lower()
    if chosen == "rules":
        from lanhar_core.llm.rules_backend import RulesBackend

        return RulesBackend(settings.llm.rules_version)
    if chosen == "openai":
        from lanhar_core.llm.openai_backend import OpenAIBackend

        return OpenAIBackend(settings.llm)
    if chosen == "local":
        from lanhar_core.llm.local_backend import LocalBackend

        return LocalBackend(settings.llm)
    raise ConfigError(f"unknown interpretation backend {chosen!r}; choose one of: {', '.join(BACKENDS)}")
