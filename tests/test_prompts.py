"""Prompt builders: the paper's four parts, versioned templates, no label leak, readable rendering."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from lanhar_core.errors import PromptTemplateError
from lanhar_core.llm.validation import LABEL_SECTIONS, WINDOW_SECTIONS
from lanhar_core.prompts import label_prompt, load_template, render_prompt, revision_prompt, window_prompt
from lanhar_core.prompts.loader import TEMPLATE_DIR

CANDIDATES = ["walking", "walking upstairs", "walking downstairs", "sitting"]


def _signals() -> np.ndarray:
    t = np.arange(120) / 20.0
    s = np.zeros((120, 6), dtype=np.float32)
    s[:, 0] = 9.8 + 2 * np.sin(2 * np.pi * 1.8 * t)
    s[:, 4] = 0.4 * np.sin(2 * np.pi * 0.9 * t)
    return s


def test_every_template_file_declares_its_version() -> None:
    files = sorted(TEMPLATE_DIR.glob("*.md"))
    assert {re.sub(r"\.v\d+\.md$", "", f.name) for f in files} >= {"window_full", "window_simple", "label", "revision", "knowledge", "task"}
    for path in files:
        version = re.search(r"\.v(\d+)\.md$", path.name).group(1)
        assert path.read_text(encoding="utf-8").splitlines()[0] == f"version: {version}"


def test_full_window_prompt_has_four_parts_and_the_exact_output_format() -> None:
    spec = window_prompt(_signals(), 20.0, "waist", CANDIDATES)
    user = spec.messages[-1]["content"]
    positions = [user.index(part) for part in ("Data introduction:", "Data analysis", "Knowledge:", "Task:")]
    assert positions == sorted(positions)
    assert "worn at the waist, sampled at 20 Hz (120 samples)" in user
    assert "[walking, walking upstairs, walking downstairs, sitting]" in user
    assert "step_freq_hz: 1.8 Hz" in user and "vertical_rms_mps2:" in user
    assert "Walking upstairs:" in user and "Jogging" not in user
    assert "Do not name or guess the activity" in user
    for i, (_, heading) in enumerate(WINDOW_SECTIONS, 1):
        assert f"\n{i}. {heading}: <numbers>. <conclusion>" in user
    assert spec.template == "window_full"
    assert spec.version == "window_full.v1+task.v1+knowledge.v1"
    assert spec.context.kind == "window" and spec.context.candidates == tuple(CANDIDATES)


def test_simple_prompt_is_data_and_task_only() -> None:
    spec = window_prompt(_signals(), 20.0, "waist", CANDIDATES, variant="simple")
    user = spec.messages[-1]["content"]
    assert "Data analysis" not in user and "Knowledge:" not in user
    assert "Task:" in user
    assert len([line for line in user.splitlines() if re.fullmatch(r"-?\d+\.\d\d(, -?\d+\.\d\d){5}", line)]) == 120
    assert spec.version == "window_simple.v1+task.v1"


def test_cache_key_is_stable_and_tracks_messages() -> None:
    a = window_prompt(_signals(), 20.0, "waist", CANDIDATES)
    b = window_prompt(_signals(), 20.0, "waist", CANDIDATES)
    c = window_prompt(_signals(), 20.0, "wrist", CANDIDATES)
    assert a.cache_key() == b.cache_key() != c.cache_key()
    assert re.fullmatch(r"[0-9a-f]{64}", a.cache_key())


def test_label_prompts_differ_per_index_and_ask_for_three_aspects() -> None:
    specs = [label_prompt("walk", "walking", i, total=5) for i in range(5)]
    assert len({s.cache_key() for s in specs}) == 5
    user = specs[2].messages[-1]["content"]
    assert 'activity "walking"' in user and "description 3 of 5" in user
    for i, (_, heading) in enumerate(LABEL_SECTIONS, 1):
        assert f"\n{i}. {heading}: <text>" in user
    assert specs[2].context.kind == "label" and specs[2].context.index == 2
    with pytest.raises(ValueError):
        label_prompt("walk", "walking", 5, total=5)


def test_revision_prompt_appends_previous_answer_and_the_paper_request() -> None:
    spec = window_prompt(_signals(), 20.0, "waist", CANDIDATES)
    revised = revision_prompt(spec, "1. Strength: ...")
    assert revised.messages[: len(spec.messages)] == spec.messages
    assert revised.messages[-2] == {"role": "assistant", "content": "1. Strength: ..."}
    assert revised.messages[-1]["content"].startswith("This is your previous response to the task. Please analyze it step by step")
    assert revised.template == "revision/window_full"
    assert revised.version == "revision.v1/window_full.v1+task.v1+knowledge.v1"
    assert revised.context is spec.context


def test_render_prompt_shows_version_and_every_message() -> None:
    spec = label_prompt("sit", "sitting", 0)
    text = render_prompt(spec)
    assert text.startswith("Template: label   Version: label.v2")
    assert "[system]" in text and "[user]" in text and spec.messages[-1]["content"] in text


def test_template_version_mismatch_and_missing_template_raise(tmp_path: Path) -> None:
    (tmp_path / "demo.v2.md").write_text("version: 1\n=== user ===\nhi\n", encoding="utf-8")
    with pytest.raises(PromptTemplateError, match="file name says v2"):
        load_template("demo", tmp_path)
    with pytest.raises(PromptTemplateError, match="no prompt template"):
        load_template("absent", tmp_path)
    (tmp_path / "demo.v3.md").write_text("version: 3\n=== user ===\nhi ${name}\n", encoding="utf-8")
    template = load_template("demo", tmp_path)
    assert template.version == "3" and template.render("user", name="x") == "hi x"
    with pytest.raises(PromptTemplateError, match="needs a value"):
        template.render("user")
