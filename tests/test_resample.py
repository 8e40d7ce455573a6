"""Resampling keeps the band below the new Nyquist and removes what lies above it."""

from __future__ import annotations

import numpy as np
import pytest

from lanhar_core.data.resample import rate_ratio, resample_recording
from lanhar_core.data.types import Recording


def _recording(channel_values: np.ndarray, rate_hz: float, labels: np.ndarray | None = None, segments=None) -> Recording:
    n = channel_values.shape[0]
    signals = np.zeros((n, 6), dtype=np.float64)
    signals[:, 2] = 9.81
    signals[:, 0] = channel_values
    labels = np.full(n, "walk", dtype=object) if labels is None else labels
    return Recording("d", "r", "s1", signals, rate_hz, labels, labels, segments=segments)


def _tone(freq_hz: float, rate_hz: float, seconds: float = 20.0, amplitude: float = 1.0) -> np.ndarray:
    t = np.arange(int(seconds * rate_hz)) / rate_hz
    return amplitude * np.sin(2 * np.pi * freq_hz * t)


def _dominant(x: np.ndarray, rate_hz: float) -> tuple[float, float]:
    """(frequency, amplitude) of the strongest spectral peak (Hann window, amplitude-corrected)."""
    x = x - x.mean()
    window = np.hanning(x.size)
    spectrum = np.abs(np.fft.rfft(x * window)) * 2 / window.sum()
    k = int(np.argmax(spectrum))
    return k * rate_hz / x.size, float(spectrum[k])


@pytest.mark.parametrize("source_hz", [25.0, 50.0, 100.0, 10.0, 52.3])
def test_two_hz_sine_stays_two_hz_with_its_amplitude(source_hz: float) -> None:
    out = resample_recording(_recording(_tone(2.0, source_hz, amplitude=3.0), source_hz), 20.0)
    assert out.rate_hz == 20.0
    assert out.n_samples == pytest.approx(20 * 20.0, abs=2)
    freq, amplitude = _dominant(out.signals[:, 0].astype(np.float64), 20.0)
    assert freq == pytest.approx(2.0, abs=0.06)
    assert amplitude == pytest.approx(3.0, rel=0.03)
    if float(source_hz).is_integer():
        # Exact ratio: the output matches the ideal sine sample by sample (away from the edges).
        expected = 3.0 * np.sin(2 * np.pi * 2.0 * np.arange(out.n_samples) / 20.0)
        interior = slice(20, -20)
        assert np.abs(out.signals[interior, 0] - expected[interior]).max() < 0.03 * 3.0


@pytest.mark.parametrize("source_hz,freq_hz", [(50.0, 15.0), (100.0, 30.0), (25.0, 12.0)])
def test_component_above_new_nyquist_is_attenuated(source_hz: float, freq_hz: float) -> None:
    out = resample_recording(_recording(_tone(freq_hz, source_hz), source_hz), 20.0)
    assert np.abs(out.signals[20:-20, 0]).max() < 0.05


def test_gravity_is_kept_at_the_edges() -> None:
    out = resample_recording(_recording(np.zeros(500), 50.0), 20.0)
    np.testing.assert_allclose(out.signals[:, 2], 9.81, atol=1e-3)


def test_labels_follow_the_nearest_sample() -> None:
    labels = np.array(["walk"] * 250 + ["sit"] * 250, dtype=object)
    out = resample_recording(_recording(np.zeros(500), 50.0, labels), 20.0)
    change = int(np.flatnonzero(out.labels == "sit")[0])
    assert change == 100
    assert set(out.labels[:100]) == {"walk"} and set(out.labels[100:]) == {"sit"}
    assert list(out.native_labels) == list(out.labels)


def test_segments_are_resampled_separately_and_kept() -> None:
    segments = np.array([0] * 300 + [1] * 200)
    out = resample_recording(_recording(np.zeros(500), 50.0, segments=segments), 20.0)
    assert (out.segments == 0).sum() == 120 and (out.segments == 1).sum() == 80
    np.testing.assert_allclose(out.signals[:, 2], 9.81, atol=1e-3)


def test_same_rate_is_a_no_op() -> None:
    rec = _recording(np.zeros(100), 20.0)
    assert resample_recording(rec, 20.0) is rec


def test_rate_ratio_is_exact_for_integer_rates_and_bounded_otherwise() -> None:
    assert rate_ratio(50, 20) == (2, 5)
    assert rate_ratio(25, 20) == (4, 5)
    assert rate_ratio(100, 20) == (1, 5)
    assert rate_ratio(10, 20) == (2, 1)
    up, down = rate_ratio(52.3, 20)
    assert down <= 100 and 52.3 * up / down == pytest.approx(20, rel=5e-4)
