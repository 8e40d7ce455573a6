"""Irregular timestamps to uniform recordings.

A ``Recording`` has no timestamps, only a rate, so sources with jittery or gappy
timestamps (phones, HHAR) are put on a uniform grid here. The grid uses the *median*
sample interval because it ignores the occasional dropped sample or burst that skews a
mean; values are interpolated *linearly* because phone sensors sample well above the
20 Hz analysis rate, so linear interpolation at the native rate adds no visible error and
cannot ring or overshoot the way spline/sinc interpolation can at gaps. Proper
anti-aliased rate conversion happens later in ``data/resample.py``. Gaps longer than
``max_gap_s`` are never interpolated across: the data is split there instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lanhar_core.errors import InvalidSignalError


@dataclass
class UniformPiece:
    """One gap-free stretch on a uniform grid: ``values`` (n, k), ``labels`` (n,) or None."""

    start_s: float
    rate_hz: float
    values: np.ndarray
    labels: np.ndarray | None

    @property
    def times(self) -> np.ndarray:
        """Grid times in seconds on the input's time base."""
        return self.start_s + np.arange(self.values.shape[0]) / self.rate_hz


def median_rate(t_s: np.ndarray, where: str) -> float:
    """Sampling rate from the median positive interval."""
    steps = np.diff(t_s)
    steps = steps[steps > 0]
    if steps.size == 0:
        raise InvalidSignalError(f"{where}: cannot infer a sampling rate from fewer than two distinct timestamps")
    return float(1.0 / np.median(steps))


def split_at_gaps(t_s: np.ndarray, max_gap_s: float) -> list[slice]:
    """Index ranges of ``t_s`` with no step longer than ``max_gap_s``."""
    breaks = np.flatnonzero(np.diff(t_s) > max_gap_s) + 1
    edges = np.concatenate([[0], breaks, [t_s.size]])
    return [slice(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]) if b > a]


def nearest_labels(t_source: np.ndarray, labels: np.ndarray, t_target: np.ndarray) -> np.ndarray:
    """Per-sample labels carried to new times by nearest neighbour (labels cannot be averaged)."""
    labels = np.asarray(labels, dtype=object)
    if t_source.size == 1:
        return np.full(t_target.size, labels[0], dtype=object)
    right = np.clip(np.searchsorted(t_source, t_target), 1, t_source.size - 1)
    left = right - 1
    return labels[np.where(t_target - t_source[left] <= t_source[right] - t_target, left, right)]


def interpolate(t_source: np.ndarray, values: np.ndarray, t_target: np.ndarray) -> np.ndarray:
    """Linear interpolation of every column of ``values`` at ``t_target``."""
    return np.column_stack([np.interp(t_target, t_source, values[:, j]) for j in range(values.shape[1])])


def to_uniform(
    t_s: np.ndarray,
    values: np.ndarray,
    labels: np.ndarray | None,
    max_gap_s: float,
    where: str,
    rate_hz: float | None = None,
) -> list[UniformPiece]:
    """Gap-free uniform pieces at ``rate_hz`` (default: the median rate of ``t_s``).

    ``t_s`` must be strictly increasing (validate first). Pieces shorter than two samples
    are dropped: they carry no signal.
    """
    rate = rate_hz if rate_hz is not None else median_rate(t_s, where)
    pieces = []
    for part in split_at_gaps(t_s, max_gap_s):
        t = t_s[part]
        if t.size < 2:
            continue
        grid = t[0] + np.arange(int(np.floor((t[-1] - t[0]) * rate + 1e-9)) + 1) / rate
        pieces.append(
            UniformPiece(
                start_s=float(t[0]),
                rate_hz=rate,
                values=interpolate(t, values[part], grid),
                labels=None if labels is None else nearest_labels(t, labels[part], grid),
            )
        )
    return pieces


def _spans(t: np.ndarray, max_gap_s: float) -> list[tuple[float, float]]:
    return [(float(t[s.start]), float(t[s.stop - 1])) for s in split_at_gaps(t, max_gap_s) if s.stop - s.start > 1]


def join_streams(
    t_acc: np.ndarray, acc: np.ndarray, t_gyro: np.ndarray, gyro: np.ndarray, max_gap_s: float, where: str
) -> list[UniformPiece]:
    """Accelerometer and gyroscope streams with their own timestamps on one uniform grid.

    The grid runs at the accelerometer's median rate, only over the spans where both
    streams have data with no gap over ``max_gap_s``; outside those spans one of the six
    channels would have to be invented, so those samples are left out.
    """
    rate = median_rate(t_acc, where)
    pieces = []
    for a0, a1 in _spans(t_acc, max_gap_s):
        for g0, g1 in _spans(t_gyro, max_gap_s):
            start, end = max(a0, g0), min(a1, g1)
            n = int(np.floor((end - start) * rate + 1e-9)) + 1 if end > start else 0
            if n < 2:
                continue
            grid = start + np.arange(n) / rate
            values = np.hstack([interpolate(t_acc, acc, grid), interpolate(t_gyro, gyro, grid)])
            pieces.append(UniformPiece(start_s=start, rate_hz=rate, values=values, labels=None))
    return pieces
