"""The rules-v2 writer (still selectable): label-blind, deterministic, structured, thresholds as documented."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from lanhar_core.data.types import GRAVITY, WindowSet
from lanhar_core.llm import rules_backend
from lanhar_core.llm.base import Backend, GenerationContext
from lanhar_core.llm.rules_backend import (
    CADENCE_BANDS,
    IMPACT_BANDS,
    STRENGTH_BANDS,
    RulesBackend,
    band,
    describe_features,
)
from lanhar_core.llm.rules_labels import CURATED
from lanhar_core.llm.validation import forbidden_terms, parse_label_reply, parse_window_reply
from lanhar_core.prompts import label_prompt, revision_prompt, window_prompt
from lanhar_core.signal.features import window_features
from lanhar_core.vocab import BUILTIN_ACTIVITIES

RATE = 20.0
ALL_FORBIDDEN = forbidden_terms([a.name for a in BUILTIN_ACTIVITIES])


def _gait(hz: float = 1.8, amplitude: float = 4.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(120) / RATE
    s = np.zeros((120, 6), dtype=np.float32)
    s[:, 0] = GRAVITY + amplitude * np.sin(2 * np.pi * hz * t) + rng.normal(0, 0.2, 120)
    s[:, 1] = 0.8 * np.sin(2 * np.pi * hz / 2 * t) + rng.normal(0, 0.2, 120)
    s[:, 3:] = 0.6 * np.sin(2 * np.pi * hz * t)[:, None] * np.array([1.0, 0.5, 0.2]) + rng.normal(0, 0.02, (120, 3))
    return s


def _still(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    s = rng.normal(0, 0.02, (120, 6)).astype(np.float32)
    s[:, 2] += GRAVITY
    return s


def _text(signals: np.ndarray, candidates: list[str] | None = None) -> str:
    spec = window_prompt(signals, RATE, "waist", candidates or ["walking", "sitting"])
    (generation,) = RulesBackend("rules-v2").generate([spec])
    assert generation.ok
    return generation.text


def test_backend_identity_says_rule_based() -> None:
    assert RulesBackend().model == "rules-v3" and RulesBackend().window_frame == "segment"
    backend = RulesBackend("rules-v2")
    assert isinstance(backend, Backend)
    assert (backend.name, backend.model, backend.is_llm, backend.window_frame) == ("rules", "rules-v2", False, "device")
    assert "rule-based" in backend.description and "not an LLM" in backend.description
    assert backend.params()["writer"] == "rule-based"


def test_window_text_does_not_depend_on_the_label() -> None:
    signals = np.stack([_gait(), _gait()])
    windows = WindowSet(
        ids=np.array([1, 2]), signals=signals, rate_hz=RATE, datasets=np.array(["d", "d"]),
        subjects=np.array(["s", "s"]), recording_ids=np.array([1, 1]), placements=np.array(["waist", "waist"]),
        labels=np.array(["walk", "sit"], dtype=object), native_labels=np.array(["WALKING", "SITTING"], dtype=object),
    )
    specs = [window_prompt(windows.signals[i], windows.rate_hz, windows.placements[i], ["walking", "sitting"]) for i in range(2)]
    texts = [g.text for g in RulesBackend("rules-v2").generate(specs)]
    assert texts[0] == texts[1]
    assert not any("label" in name for name in vars(specs[0].context))


def test_same_input_same_text_and_texts_vary_between_windows() -> None:
    assert _text(_gait(seed=1)) == _text(_gait(seed=1))
    texts = {_text(_gait(hz=1.6 + 0.05 * i, seed=i)) for i in range(8)}
    assert len(texts) == 8


@pytest.mark.parametrize("signals", [_gait(), _gait(hz=2.8, amplitude=9), _still(), np.zeros((120, 6), np.float32)])
def test_every_text_has_seven_valid_points_and_names_no_activity(signals: np.ndarray) -> None:
    parsed = parse_window_reply(_text(signals), ALL_FORBIDDEN)
    assert parsed.valid, parsed.reason
    assert len(parsed.fields) == 7
    for field in parsed.fields.values():
        numbers, _, conclusion = field.partition(". ")
        assert re.search(r"\d", numbers) and conclusion, field


def _level_words() -> set[str]:
    bands = [value for name, value in vars(rules_backend).items() if name.endswith("_BANDS")]
    return {word for bands_ in bands for _, word in bands_ if len(word) > 3}


@pytest.mark.parametrize("signals", [_gait(), _still()])
def test_simple_prompt_gets_the_numbers_without_the_conclusions(signals: np.ndarray) -> None:
    spec = window_prompt(signals, RATE, "waist", ["walking", "sitting"], variant="simple")
    (generation,) = RulesBackend("rules-v2").generate([spec])
    simple, full = generation.text, _text(signals)
    parsed = parse_window_reply(simple, ALL_FORBIDDEN)
    assert parsed.valid, parsed.reason
    for simple_line, full_line in zip(simple.splitlines(), full.splitlines(), strict=True):
        assert full_line.startswith(simple_line) and len(full_line) > len(simple_line)
    assert not [word for word in _level_words() if re.search(rf"\b{word}\b", simple.lower())]
    assert [word for word in _level_words() if re.search(rf"\b{word}\b", full.lower())]


def test_revision_of_a_simple_prompt_stays_simple() -> None:
    spec = window_prompt(_gait(), RATE, "waist", ["walking"], variant="simple")
    backend = RulesBackend("rules-v2")
    (first,) = backend.generate([spec])
    (revised,) = backend.generate([revision_prompt(spec, first.text)])
    assert revised.text == first.text


def test_conclusions_follow_the_documented_thresholds() -> None:
    gait = parse_window_reply(_text(_gait(hz=1.8, amplitude=4.0)), []).fields
    assert "high intensity" in gait["strength"].lower() or "high movement intensity" in gait["strength"].lower()
    assert "brisk cadence of 108 per minute" in gait["rhythm"]
    assert "vertical" in gait["axis_dominance"]
    still = parse_window_reply(_text(_still()), []).fields
    assert "Very low intensity; the device is essentially motionless." in still["strength"]
    assert "No rhythm" in still["rhythm"]
    assert "Negligible rotation" in still["gyro_acc_sync"]
    assert still["vertical_impact"].endswith("No vertical impacts.")
    assert "device z axis up" in still["posture_drift"].lower()


@pytest.mark.parametrize(
    ("value", "bands", "word"),
    [
        (0.29, STRENGTH_BANDS, "very low"), (0.3, STRENGTH_BANDS, "low"), (2.49, STRENGTH_BANDS, "moderate"),
        (2.5, STRENGTH_BANDS, "high"), (5.0, STRENGTH_BANDS, "very high"),
        (1.39, CADENCE_BANDS, "slow"), (1.7, CADENCE_BANDS, "brisk"), (2.8, CADENCE_BANDS, "very fast"),
        (0.49, IMPACT_BANDS, "no"), (4.5, IMPACT_BANDS, "strong"), (7.0, IMPACT_BANDS, "very strong"),
    ],
)
def test_band_boundaries(value: float, bands: tuple, word: str) -> None:
    assert band(value, bands) == word


def test_turning_and_posture_change_are_reported() -> None:
    f = window_features(_still(), RATE)
    turned = describe_features({**f, "net_turn_deg": 90.0, "gravity_drift_deg": 40.0})
    assert "large orientation change" in turned.lower() and "turning left" in turned


@pytest.mark.parametrize("activity", [a for a in BUILTIN_ACTIVITIES])
def test_every_builtin_label_gets_valid_descriptions(activity) -> None:
    specs = [label_prompt(activity.name, activity.display, i) for i in range(5)]
    texts = [g.text for g in RulesBackend("rules-v2").generate(specs)]
    for text in texts:
        assert parse_label_reply(text).valid
    if activity.name in CURATED:
        assert len(set(texts)) == 5


def test_common_labels_are_curated() -> None:
    assert {"walk", "upstairs", "downstairs", "sit", "stand", "lie", "jog", "bike", "jump"} <= set(CURATED)


def test_user_label_gets_honest_generic_description() -> None:
    (generation,) = RulesBackend("rules-v2").generate([label_prompt("salsa", "dancing salsa", 0)])
    fields = parse_label_reply(generation.text).fields
    assert fields["general"].startswith("Dancing salsa is the activity this label names.")


def test_bad_window_is_reported_not_raised() -> None:
    context = GenerationContext.for_window(np.full((120, 6), np.nan, np.float32), RATE, "waist", [])
    spec = window_prompt(np.zeros((120, 6), np.float32), RATE, "waist", [])
    bad = type(spec)(messages=spec.messages, template=spec.template, version=spec.version, context=context)
    (generation,) = RulesBackend("rules-v2").generate([bad])
    assert not generation.ok and "NaN" in (generation.error or "")


def test_threshold_table_in_docs_matches_the_code() -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "RULES_WRITER.md").read_text(encoding="utf-8")
    for name in ("STRENGTH_BANDS", "VERTICAL_SHARE_BANDS", "CADENCE_BANDS", "REGULARITY_BANDS", "CREST_BANDS",
                 "SYMMETRY_BANDS", "SPACING_BANDS", "DRIFT_BANDS", "GYRO_BANDS", "SYNC_BANDS", "IMPACT_BANDS"):
        bands = getattr(rules_backend, name)
        cells = [f"< {upper:g}: {word}" for upper, word in bands[:-1]] + [f"≥ {bands[-2][0]:g}: {bands[-1][1]}"]
        assert f"| {name} |" in doc and "; ".join(cells) + " |" in doc, name
