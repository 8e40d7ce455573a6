"""rules-v3: label-blind, physical statements per placement, every vocabulary label described."""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pytest

from lanhar_core.config import Settings
from lanhar_core.data.ingest import ingest_dataset
from lanhar_core.data.types import GRAVITY, WindowSet
from lanhar_core.llm.activity_profiles import PROFILES, description_segment, select_descriptions
from lanhar_core.llm.rules_backend import RulesBackend
from lanhar_core.llm.rules_grounded import describe_grounded
from lanhar_core.llm.validation import forbidden_terms, parse_label_reply, parse_window_reply
from lanhar_core.placement import segment_of
from lanhar_core.prompts import label_prompt, window_prompt
from lanhar_core.signal.segment_frame import to_segment_frame, upright_reference
from lanhar_core.vocab import BUILTIN_ACTIVITIES
from storage.datasets import load_windows
from storage.db import Store
from tests.conftest import shared_dataset

RATE = 20.0
ALL_FORBIDDEN = forbidden_terms([a.name for a in BUILTIN_ACTIVITIES])


def _gait(up: np.ndarray, hz: float = 1.8, amplitude: float = 4.0, seed: int = 0) -> np.ndarray:
    """Rhythmic window whose gravity lies along ``up`` (device axes)."""
    rng = np.random.default_rng(seed)
    t = np.arange(120) / RATE
    s = np.zeros((120, 6), dtype=np.float32)
    bounce = GRAVITY + amplitude * np.sin(2 * np.pi * hz * t) + rng.normal(0, 0.2, 120)
    s[:, :3] = bounce[:, None] * up[None, :]
    s[:, 3:] = 0.6 * np.sin(2 * np.pi * hz * t)[:, None] * np.array([1.0, 0.5, 0.2]) + rng.normal(0, 0.02, (120, 3))
    return s


def _still(up: np.ndarray, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    s = rng.normal(0, 0.02, (120, 6)).astype(np.float32)
    s[:, :3] += GRAVITY * up
    return s


def _windows(signals: list[np.ndarray], placement: str, labels: list[str]) -> WindowSet:
    n = len(signals)
    return WindowSet(
        ids=np.arange(n), signals=np.stack(signals), rate_hz=RATE, datasets=np.array(["d"] * n),
        subjects=np.array(["s"] * n), recording_ids=np.zeros(n, dtype=int), placements=np.array([placement] * n),
        labels=np.array(labels, dtype=object), native_labels=np.array(labels, dtype=object),
    )


def _text(window: np.ndarray, placement: str, upright_known: bool = True) -> str:
    spec = window_prompt(window, RATE, placement, ["walking", "sitting"], upright_known=upright_known)
    (generation,) = RulesBackend().generate([spec])
    assert generation.ok, generation.error
    return generation.text


def _posture(text: str) -> str:
    return parse_window_reply(text, []).fields["posture_drift"]


def test_segment_frame_turns_the_persons_gait_axis_to_vertical() -> None:
    pocket_up = np.array([0.0, -1.0, 0.0])
    horizontal = np.array([0.0, 0.0, 1.0])
    windows = _windows([_gait(pocket_up, seed=i) for i in range(4)] + [_still(horizontal), _still(pocket_up)], "pocket",
                       ["walk"] * 4 + ["sit", "stand"])
    assert np.allclose(upright_reference(windows.signals, RATE), pocket_up, atol=0.05)
    converted, report = to_segment_frame(windows)
    assert converted.upright_known.all() and report.known_share == 1.0
    assert "The thigh is near horizontal." in _posture(_text(converted.signals[4], "pocket"))
    assert "The thigh is near vertical." in _posture(_text(converted.signals[5], "pocket"))
    again, _ = to_segment_frame(converted)
    assert again is converted


def test_without_gait_the_orientation_is_declared_unknown() -> None:
    windows = _windows([_still(np.array([0.0, 0.0, 1.0]))] * 3, "pocket", ["sit"] * 3)
    converted, report = to_segment_frame(windows)
    assert not converted.upright_known.any() and report.known_share == 0.0
    assert "No upright reference" in _posture(_text(converted.signals[0], "pocket", upright_known=False))
    assert "Placement unknown" in _posture(_text(_still(np.array([0.0, 0.0, 1.0])), ""))


def test_window_text_does_not_depend_on_the_label() -> None:
    windows = _windows([_gait(np.array([1.0, 0, 0]))] * 2, "waist", ["walk", "sit"])
    specs = [window_prompt(windows.signals[i], RATE, "waist", ["walking", "sitting"], upright_known=True) for i in range(2)]
    texts = [g.text for g in RulesBackend().generate(specs)]
    assert texts[0] == texts[1]
    assert not any("label" in name for name in vars(specs[0].context))


def test_physical_claims_follow_the_documented_thresholds() -> None:
    up = np.array([0.0, 0.0, 1.0])
    fields = parse_window_reply(_text(_gait(up, hz=2.9, amplitude=13.0), "waist"), ALL_FORBIDDEN)
    assert fields.valid, fields.reason
    assert "cadence 174 per minute" in fields.fields["rhythm"] and "very fast cadence" in fields.fields["rhythm"]
    assert "Vigorous intensity" in fields.fields["strength"]
    assert "Flight phase" in fields.fields["waveform_shape"] or "free fall" in fields.fields["waveform_shape"]
    walk = parse_window_reply(_text(_gait(up, hz=1.8, amplitude=3.0), "waist"), ALL_FORBIDDEN).fields
    assert "moderate cadence" in walk["rhythm"] and "No flight phase" in walk["waveform_shape"]
    assert "The trunk is upright" in walk["posture_drift"]


@pytest.mark.parametrize("placement", ["waist", "pocket", "wrist", ""])
def test_texts_are_valid_and_name_no_activity(placement: str) -> None:
    for window in (_gait(np.array([0, 0, 1.0])), _still(np.array([1.0, 0, 0])), np.zeros((120, 6), np.float32)):
        parsed = parse_window_reply(_text(window, placement), ALL_FORBIDDEN)
        assert parsed.valid, parsed.reason


def test_numbers_only_variant_drops_every_conclusion() -> None:
    window = _gait(np.array([0, 0, 1.0]))
    full = describe_grounded(window, RATE, "waist", True)
    simple = describe_grounded(window, RATE, "waist", True, numbers_only=True)
    for s_line, f_line in zip(simple.splitlines(), full.splitlines(), strict=True):
        assert f_line.startswith(s_line) and len(f_line) > len(s_line)
    assert "intensity" not in simple.lower()


@pytest.mark.parametrize("activity", BUILTIN_ACTIVITIES, ids=lambda a: a.name)
def test_every_vocabulary_label_has_descriptions_per_segment(activity) -> None:
    assert activity.name in PROFILES
    backend = RulesBackend()
    for segment in ("", "trunk", "thigh", "forearm"):
        texts = [g.text for g in backend.generate([label_prompt(activity.name, activity.display, i, segment=segment) for i in range(5)])]
        assert all(parse_label_reply(t).valid for t in texts)
        assert len(set(texts)) == 5
        assert {description_segment(t) for t in texts} == {segment or None}


def test_recognition_picks_the_descriptions_of_the_recordings_segment() -> None:
    texts = [g.text for g in RulesBackend().generate(
        [label_prompt("sit", "sitting", 0, segment=s) for s in ("", "trunk", "thigh")])]
    assert select_descriptions(texts, "thigh") == [texts[2]]
    assert select_descriptions(texts, "forearm") == [texts[0]]
    assert "The thigh is near horizontal" in texts[2] and "The trunk is upright or inclined" in texts[1]


def test_placement_names_map_to_segments() -> None:
    assert [segment_of(p) for p in ("waist", "pocket", "right_leg", "left_arm", "hip", "torso", "wrist", "", "helmet")] == [
        "trunk", "thigh", "thigh", "forearm", "trunk", "trunk", "forearm", "unknown", "unknown"]


def _modal_posture(store: Store, dataset: str) -> dict[str, str]:
    windows, _ = to_segment_frame(load_windows(store, dataset=dataset))
    out = {}
    for label in ("sit", "stand", "lie"):
        rows = np.flatnonzero(windows.labels == label)[::3]
        if not len(rows):
            continue
        statements = Counter(
            re.search(r"The \w+ is ([\w ]+?)[.;]", _posture(describe_grounded(
                windows.signals[i], RATE, str(windows.placements[i]), bool(windows.upright_known[i])))).group(1)
            for i in rows
        )
        out[label] = statements.most_common(1)[0][0]
    return out


@pytest.mark.realdata
def test_real_sit_stand_lie_windows_get_different_orientations_at_two_placements(settings: Settings, store: Store) -> None:
    ingest_dataset(store, settings, "hapt", shared_dataset("hapt"), subjects=["1", "2", "3"])
    ingest_dataset(store, settings, "motionsense", shared_dataset("motionsense"), subjects=["1", "2"])
    waist = _modal_posture(store, "hapt")
    pocket = _modal_posture(store, "motionsense")
    assert waist == {"sit": "inclined", "stand": "upright", "lie": "near horizontal"}
    assert pocket == {"sit": "near horizontal", "stand": "near vertical"}
