"""Window feature record: known answers on synthetic signals, and walking vs sitting on real HAPT windows."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import resample_poly

from lanhar_core.data.types import GRAVITY
from lanhar_core.errors import InvalidSignalError
from lanhar_core.signal.features import FEATURE_KEYS, FEATURES, align_to_gravity, rotation_to_z, window_features

from conftest import shared_dataset

RATE = 20.0
N = 120


def _window(vertical_hz: float = 1.8, amplitude: float = 2.0, gyro_amp: float = 0.0) -> np.ndarray:
    t = np.arange(N) / RATE
    s = np.zeros((N, 6), dtype=np.float32)
    s[:, 2] = GRAVITY + amplitude * np.sin(2 * np.pi * vertical_hz * t)
    s[:, 3] = gyro_amp * np.sin(2 * np.pi * vertical_hz * t)
    return s


def _rotate(signals: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    out = signals.copy()
    out[:, :3] = signals[:, :3] @ rotation.T
    out[:, 3:] = signals[:, 3:] @ rotation.T
    return out


def test_every_feature_documented_with_unit_in_name() -> None:
    f = window_features(_window(), RATE)
    assert tuple(f) == FEATURE_KEYS
    suffixes = ("_mps2", "_mps3", "_hz", "_rad_s", "_deg", "_s", "_ratio", "_count")
    for feature in FEATURES:
        assert feature.key.endswith(suffixes) or feature.key == "peak_count", feature.key
        assert feature.meaning


def test_vertical_oscillation_gives_its_frequency_and_vertical_dominance() -> None:
    f = window_features(_window(1.8), RATE)
    assert f["dominant_freq_hz"] == pytest.approx(1.8, abs=0.05)
    assert f["step_freq_hz"] == pytest.approx(1.8, abs=0.05)
    assert f["vertical_energy_ratio"] > 0.99
    assert f["vertical_rms_mps2"] == pytest.approx(2.0 / np.sqrt(2), rel=0.05)
    assert f["horizontal_rms_mps2"] < 0.01
    assert f["step_regularity_ratio"] > 0.6
    assert f["peak_count"] == pytest.approx(6 * 1.8, abs=1)
    assert f["peak_interval_mean_s"] == pytest.approx(1 / 1.8, rel=0.05)
    assert f["step_impact_mps2"] == pytest.approx(2.0, rel=0.1)


def test_still_device_has_no_motion_and_no_nan() -> None:
    still = np.zeros((N, 6), dtype=np.float32)
    still[:, 2] = GRAVITY
    f = window_features(still, RATE)
    assert all(np.isfinite(v) for v in f.values())
    assert f["jerk_rms_mps3"] == pytest.approx(0.0, abs=1e-4)
    assert f["gyro_rms_rad_s"] == 0.0
    assert f["step_freq_hz"] == 0.0 and f["peak_count"] == 0.0
    assert f["gravity_mps2"] == pytest.approx(GRAVITY, rel=1e-5)
    zeros = window_features(np.zeros((N, 6)), RATE)
    assert all(v == 0.0 for k, v in zeros.items() if k != "duration_s")


def test_device_on_its_side_aligns_gravity_and_keeps_vertical_features() -> None:
    upright = _window(1.8, gyro_amp=0.5)
    to_side = rotation_to_z(np.array([1.0, 0.0, 0.0])).T  # maps +Z onto +X: gravity along x
    side = _rotate(upright, to_side)
    assert side[:, 0].mean() == pytest.approx(GRAVITY, rel=0.01)
    aligned, _ = align_to_gravity(side[:, :3].astype(np.float64))
    assert aligned.mean(axis=0) == pytest.approx([0, 0, np.linalg.norm(side[:, :3].mean(axis=0))], abs=1e-4)
    a, b = window_features(upright, RATE), window_features(side, RATE)
    for key in ("vertical_rms_mps2", "vertical_p2p_mps2", "step_freq_hz", "step_impact_mps2", "vertical_energy_ratio",
                "gyro_rms_rad_s", "gyro_vertical_rms_rad_s", "acc_gyro_sync_ratio"):
        assert b[key] == pytest.approx(a[key], abs=1e-3), key
    assert b["gravity_angle_x_deg"] == pytest.approx(0.0, abs=0.5)
    assert a["gravity_angle_z_deg"] == pytest.approx(0.0, abs=0.5)


@pytest.mark.parametrize("vector", [[0, 0, 1], [0, 0, -1], [1, 2, 3], [-3, 0.1, -5], [0, -9.8, 0]])
def test_rotation_to_z_works_for_any_orientation(vector: list[float]) -> None:
    v = np.array(vector, dtype=float)
    r = rotation_to_z(v)
    assert r @ (v / np.linalg.norm(v)) == pytest.approx([0, 0, 1], abs=1e-9)
    assert r @ r.T == pytest.approx(np.eye(3), abs=1e-9)


def test_deterministic() -> None:
    rng = np.random.default_rng(0)
    s = _window() + rng.normal(0, 0.3, (N, 6)).astype(np.float32)
    assert window_features(s, RATE) == window_features(s.copy(), RATE)


@pytest.mark.parametrize("bad", [np.zeros((N, 3)), np.zeros((2, 6)), np.full((N, 6), np.nan)])
def test_invalid_windows_raise(bad: np.ndarray) -> None:
    with pytest.raises(InvalidSignalError):
        window_features(bad, RATE)


def _hapt_windows(activity_id: int, experiments: tuple[int, ...] = (1, 3, 5)) -> list[np.ndarray]:
    raw = shared_dataset("hapt") / "RawData"
    labels = np.loadtxt(raw / "labels.txt", dtype=int)
    windows = []
    for exp in experiments:
        rows = labels[(labels[:, 0] == exp) & (labels[:, 2] == activity_id)]
        user = labels[labels[:, 0] == exp][0, 1]
        acc = np.loadtxt(raw / f"acc_exp{exp:02d}_user{user:02d}.txt.gz") * GRAVITY
        gyro = np.loadtxt(raw / f"gyro_exp{exp:02d}_user{user:02d}.txt.gz")
        for _, _, _, start, end in rows:
            segment = resample_poly(np.hstack([acc[start - 1 : end], gyro[start - 1 : end]]), 2, 5, axis=0)
            windows.extend(segment[i : i + N] for i in range(0, len(segment) - N, N))
    return windows


@pytest.mark.realdata
def test_real_walking_and_sitting_separate() -> None:
    walking = [window_features(w, RATE) for w in _hapt_windows(1)]
    sitting = [window_features(w, RATE) for w in _hapt_windows(4)]
    assert len(walking) >= 10 and len(sitting) >= 10

    def median(rows: list[dict[str, float]], key: str) -> float:
        return float(np.median([r[key] for r in rows]))

    assert median(walking, "vertical_rms_mps2") > 1.0 > 0.3 > median(sitting, "vertical_rms_mps2")
    assert median(walking, "jerk_rms_mps3") > 10 * median(sitting, "jerk_rms_mps3")
    assert np.mean([r["step_freq_hz"] > 0 for r in walking]) > 0.8
    assert np.mean([r["step_freq_hz"] > 0 for r in sitting]) < 0.1
    assert 1.4 < median(walking, "step_freq_hz") < 2.2


def test_a_walk_that_repeats_per_stride_not_per_step_still_has_a_step_rhythm() -> None:
    # A pocket phone swings with one thigh: a 0.9 Hz stride component on top of the 1.8 Hz
    # steps makes the window anti-correlated after one step but alike after one stride.
    t = np.arange(N) / RATE
    signals = np.zeros((N, 6))
    signals[:, 2] = GRAVITY + 3.0 * np.sin(2 * np.pi * 1.8 * t) + 2.5 * np.sin(2 * np.pi * 0.9 * t + 0.3)
    one_step = np.corrcoef(signals[:-11, 2], signals[11:, 2])[0, 1]
    assert one_step < 0.25
    f = window_features(signals, RATE)
    assert f["step_freq_hz"] == pytest.approx(1.8, abs=0.05)
    assert f["step_regularity_ratio"] > 0.8


def _assert_batch_equals_per_window(windows: np.ndarray, rate_hz: float) -> None:
    from lanhar_core.signal.features import window_features_batch

    batch = window_features_batch(windows, rate_hz)
    assert len(batch) == len(windows)
    for i, (row, window) in enumerate(zip(batch, windows)):
        single = window_features(window, rate_hz)
        assert list(row) == list(single) == list(FEATURE_KEYS)
        for key in FEATURE_KEYS:
            assert row[key] == pytest.approx(single[key], rel=1e-9, abs=1e-9), (i, key)


def test_batch_features_equal_per_window_features_on_edge_cases() -> None:
    rng = np.random.default_rng(0)
    cases = [
        _window(),
        _window(gyro_amp=1.5),
        _window(vertical_hz=3.0, amplitude=6.0),
        np.zeros((N, 6)),
        np.tile([0.0, 0.0, -GRAVITY, 0.0, 0.0, 0.0], (N, 1)),
        np.tile([0.0, 0.0, GRAVITY, 0.1, 0.0, 0.0], (N, 1)),
        _rotate(_window(gyro_amp=0.8), rotation_to_z(np.array([1.0, 2.0, -0.5])).T),
        rng.normal(0, 4, size=(N, 6)) + [0.0, GRAVITY, 0.0, 0.0, 0.0, 0.0],
    ]
    _assert_batch_equals_per_window(np.stack(cases), RATE)
    _assert_batch_equals_per_window(rng.normal(0, 2, size=(5, 4, 6)) + [0, 0, GRAVITY, 0, 0, 0], 50.0)
    from lanhar_core.signal.features import window_features_batch

    assert window_features_batch(np.zeros((0, N, 6)), RATE) == []
    with pytest.raises(InvalidSignalError, match="index 1"):
        window_features_batch(np.stack([_window(), np.full((N, 6), np.nan)]), RATE)


@pytest.mark.realdata
def test_batch_features_equal_per_window_features_on_real_windows() -> None:
    windows = np.stack(_hapt_windows(1)[:40] + _hapt_windows(4)[:40] + _hapt_windows(2)[:20])
    _assert_batch_equals_per_window(windows, RATE)
