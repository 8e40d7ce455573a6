"""The backend table: every backend is built from it, and hooks are used only where declared."""

from __future__ import annotations

import pytest

from lanhar_core.config import Settings
from lanhar_core.errors import ConfigError
from lanhar_core.llm.registry import BACKENDS, HOOKS, REGISTRY, make_backend, prepare_hook
from lanhar_core.prompts import label_prompt


class _Double:
    """Stands for a backend of a given name; its ``prepare`` marks the prompts it saw."""

    def __init__(self, name: str) -> None:
        self.name = name

    def prepare(self, spec):  # noqa: ANN001, ANN201 - test double
        return "prepared"


def test_the_table_builds_backends_and_rejects_unknown_names(settings: Settings) -> None:
    assert list(BACKENDS) == [entry.name for entry in REGISTRY] == ["rules", "openai", "local"]
    assert all(set(entry.hooks) <= set(HOOKS) for entry in REGISTRY)
    assert make_backend(settings, "rules").name == "rules"
    assert make_backend(settings, " OpenAI ").name == "openai"
    with pytest.raises(ConfigError, match="choose one of: rules, openai, local"):
        make_backend(settings, "gpt")


def test_prepare_runs_only_for_backends_that_declare_it() -> None:
    spec = label_prompt("walk", "walking", 0)
    assert prepare_hook(_Double("local"))(spec) == "prepared"
    assert prepare_hook(_Double("rules"))(spec) is spec
    assert prepare_hook(_Double("someone-elses"))(spec) is spec
