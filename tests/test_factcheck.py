"""Fact checker: planted contradictions are caught, consistent texts raise nothing."""

from __future__ import annotations

import numpy as np
import pytest

from lanhar_core.llm.rules_backend import describe_features
from lanhar_core.quality.factcheck import analyse, check
from lanhar_core.signal.features import window_features

RATE = 20.0


def _walking() -> dict[str, float]:
    t = np.arange(120) / RATE
    rng = np.random.default_rng(0)
    sig = np.zeros((120, 6), np.float32)
    sig[:, 2] = 9.81 + 3 * np.sin(2 * np.pi * 1.9 * t) + rng.normal(0, 0.3, 120)
    sig[:, 0] = np.sin(2 * np.pi * 0.95 * t)
    sig[:, 3:] = 0.5 * np.sin(2 * np.pi * 0.95 * t)[:, None]
    return window_features(sig, RATE)


def _still() -> dict[str, float]:
    rng = np.random.default_rng(1)
    sig = rng.normal(0, 0.02, (120, 6)).astype(np.float32)
    sig[:, 1] += 9.8
    return window_features(sig, RATE)


@pytest.mark.parametrize("features", [_walking(), _still()], ids=["walking", "still"])
def test_rules_texts_are_consistent(features: dict[str, float]) -> None:
    text = describe_features(features)
    claims, contradictions = analyse(text, features)
    assert contradictions == []
    assert len(claims) >= 10


def test_planted_numeric_contradictions_are_caught() -> None:
    f = _walking()
    step = f["step_freq_hz"]
    text = f"The dominant frequency is {step * 2.5:.2f} Hz and the body acceleration RMS is 9.5 m/s^2."
    found = check(text, f)
    assert {c.feature for c in found} == {"dominant_freq_hz", "body_acc_rms_mps2"}
    freq = next(c for c in found if c.feature == "dominant_freq_hz")
    assert freq.claimed_value == pytest.approx(round(step * 2.5, 2))
    assert freq.measured_value == pytest.approx(f["dominant_freq_hz"])
    assert freq.severity == "major" and "frequency" in freq.rule
    gyro = check(f"Gyroscope RMS about {f['gyro_rms_rad_s'] * 4:.2f} rad/s, a cadence of {step * 60 / 2:.0f} steps per minute.", f)
    assert [c.feature for c in gyro] == ["gyro_rms_rad_s", "dominant_freq_hz"]
    assert gyro[1].measured_value == pytest.approx(f["dominant_freq_hz"] * 60)


def test_numbers_close_to_the_measurement_or_without_a_rule_pass() -> None:
    f = _walking()
    text = (
        f"The step frequency is about {f['step_freq_hz'] * 1.1:.2f} Hz with a vertical RMS of "
        f"{f['vertical_rms_mps2']:.1f} m/s²; the window has 120 samples over 6 s and 3 m/s^2 appears somewhere."
    )
    assert check(text, f) == []


def test_planted_verbal_contradictions_are_caught() -> None:
    walking, still = _walking(), _still()
    assert {c.feature for c in check("The device is stationary and the motion has very low intensity.", walking)} == {
        "body_acc_rms_mps2"
    }
    assert check("There is no rhythm: the movement is aperiodic and irregular.", walking)
    assert check("A highly regular periodic rhythm with strong vertical impacts.", still)
    assert check("Acceleration is horizontal-dominant.", walking)
    little = check("There is little rotation.", walking)
    assert [(c.feature, c.severity) for c in little] == [("gyro_rms_rad_s", "minor")]


def test_negated_and_adjacent_claims_are_not_alarms() -> None:
    walking, still = _walking(), _still()
    assert check("The signal is not aperiodic; it shows high intensity and a periodic rhythm.", walking) == []
    assert check("There is no step rhythm and the phone remains still; rotation is negligible.", still) == []
    assert check("The user is still walking with mild rotation.", walking) == []


SMOLLM2_TEXT = """1. Strength: {gravity:.1f} m/s^2 (magnitude of the mean acceleration vector (gravity estimate))
2. Axis dominance: vertical acceleration, horizontal displacement, and rotation.
3. Rhythm: 1.62 m/s^2 (magnitude of the mean acceleration vector)
4. Waveform shape: 7.94 rad/s^2 (angle between device +x and up)
5. Posture and drift: device orientation relative to gravity, orientation change.
6. Gyro-acc sync: 1.6 to 2.1 steps per second
7. Vertical impact: 1.62 m/s (magnitude of vertical acceleration peak)
8. Vertical impact: 1.62 m/s (magnitude of vertical acceleration peak)
9. Vertical impact: 1.62 m/s (magnitude of vertical acceleration peak)
10. Vertical impact: 1.62 m/s (magnitude of vertical acceleration peak)"""


def test_llm_unit_nonsense_repeats_and_misplaced_numbers_are_found() -> None:
    """The shape of the shipped SmolLM2 replies: every line filled with some number, one line repeated."""
    f = _walking()
    text = SMOLLM2_TEXT.format(gravity=f["gravity_mps2"])
    found = check(text, f)
    by_kind: dict[str, list] = {}
    for c in found:
        by_kind.setdefault(c.kind, []).append(c)
    units = {c.claim.split(":")[0]: c for c in by_kind["unit"]}
    assert set(units) == {"Rhythm", "Waveform shape", "Gyro-acc sync", "Vertical impact"}
    assert "m/s^2" in units["Rhythm"].rule and "frequency" in units["Rhythm"].rule
    assert "velocity" in units["Vertical impact"].rule and "angular acceleration" in units["Waveform shape"].rule
    assert all(c.severity == "major" for c in by_kind["unit"])
    [repeat] = by_kind["repeat"]
    assert repeat.measured_value == 4 and len(repeat.spans) == 3 and repeat.severity == "major"
    assert [text[a:b] for a, b in repeat.spans] == [SMOLLM2_TEXT.splitlines()[i] for i in (7, 8, 9)]
    [strength] = by_kind["value"]
    assert strength.feature == "body_acc_rms_mps2" and "gravity_mps2" in strength.rule
    for c in found:
        for a, b in c.spans:
            assert text[a:b].strip() and c.claim.split(" x")[0].split(":")[0] in text[a:b]


def test_ranges_hold_when_the_measurement_is_inside() -> None:
    f = _walking()
    step = f["step_freq_hz"]
    assert check(f"3. Rhythm: {step - 0.3:.1f} to {step + 0.3:.1f} steps per second. Steady cadence.", f) == []
    [far] = check(f"3. Rhythm: {step * 3:.1f} to {step * 3.5:.1f} steps per second.", f)
    assert far.kind == "value" and far.feature in {"step_freq_hz", "dominant_freq_hz"}


def test_a_point_number_no_feature_matches_is_reported() -> None:
    f = _walking()
    [c] = check("2. Axis dominance: 42 m/s^2 along the vertical.", f)
    assert (c.kind, c.severity, c.claimed_value) == ("unmatched", "minor", 42.0)
    assert check(f"2. Axis dominance: {f['horizontal_rms_mps2']:.2f} m/s^2 horizontal.", f) == []


def test_rules_texts_in_the_point_format_raise_no_new_findings() -> None:
    for features in (_walking(), _still()):
        claims, found = analyse(describe_features(features), features)
        assert found == [] and not any(c.kind in {"unit", "repeat", "unmatched"} for c in claims)
