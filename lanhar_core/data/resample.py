"""Rate conversion of recordings to the analysis rate (paper: 20 Hz).

Uses polyphase filtering (``scipy.signal.resample_poly``): its FIR low-pass removes what
lies above the new Nyquist frequency before decimating, so jogging harmonics at 15 Hz in a
50 Hz recording do not fold back into the 0-10 Hz band as plain decimation would. Arbitrary
rate pairs (25->20, 50->20, 100->20, 10->20, 52.3->20) become a rational ``up/down`` ratio;
the denominator is capped (``MAX_DENOMINATOR``) so that odd rates do not produce huge
filters, at the cost of a rate error of at most a few hundredths of a percent.

The filter is applied per segment (see ``Recording.segments``) so it never smears across a
gap, and with ``padtype='line'``: the default zero padding would drag the edges of the
accelerometer (which carries ~9.8 m/s^2 of gravity) towards zero.
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import numpy as np

from lanhar_core.data.types import Recording
from lanhar_core.errors import InvalidSignalError

MAX_DENOMINATOR = 100


def rate_ratio(source_hz: float, target_hz: float) -> tuple[int, int]:
    """``(up, down)`` with ``source * up / down`` close to ``target`` (exact for integer rates)."""
    if source_hz <= 0 or target_hz <= 0:
        raise InvalidSignalError(f"sampling rates must be positive, got {source_hz} -> {target_hz}")
    ratio = Fraction(target_hz / source_hz).limit_denominator(MAX_DENOMINATOR)
    if ratio == 0:
        raise InvalidSignalError(
            f"cannot resample {source_hz} Hz to {target_hz} Hz: the ratio is below 1/{MAX_DENOMINATOR}"
        )
    return ratio.numerator, ratio.denominator


def _segment_runs(segment_ids: np.ndarray) -> list[tuple[int, int]]:
    """``[start, end)`` of each run of equal segment ids."""
    if segment_ids.size == 0:
        return []
    edges = np.flatnonzero(np.diff(segment_ids)) + 1
    bounds = np.concatenate([[0], edges, [segment_ids.size]])
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]


def _nearest_source_index(n_out: int, n_in: int, up: int, down: int) -> np.ndarray:
    """For each output sample, the input sample nearest in time (labels are categorical)."""
    positions = np.arange(n_out) * (down / up)
    return np.clip(np.rint(positions).astype(np.int64), 0, n_in - 1)


def resample_recording(rec: Recording, rate_hz: float) -> Recording:
    """``rec`` at ``rate_hz``: anti-aliased signals, labels and segments by nearest sample.

    A recording already at the target rate is returned unchanged (same object).
    """
    up, down = rate_ratio(rec.rate_hz, rate_hz)
    if up == down:
        return rec
    # Imported here: scipy.signal takes seconds to import, and every `lanhar` command
    # imports this module while building its parser, though few commands resample.
    from scipy.signal import resample_poly

    pieces, labels, native, segments = [], [], [], []
    segment_ids = rec.segment_ids()
    for start, end in _segment_runs(segment_ids):
        out = resample_poly(rec.signals[start:end].astype(np.float64), up, down, axis=0, padtype="line")
        index = start + _nearest_source_index(out.shape[0], end - start, up, down)
        pieces.append(out.astype(np.float32))
        labels.append(rec.labels[index])
        native.append(rec.native_labels[index])
        segments.append(segment_ids[index])
    empty = np.empty(0, dtype=object)
    return replace(
        rec,
        signals=np.concatenate(pieces) if pieces else np.empty((0, rec.signals.shape[1]), dtype=np.float32),
        rate_hz=float(rate_hz),
        labels=np.concatenate(labels) if labels else empty,
        native_labels=np.concatenate(native) if native else empty,
        segments=np.concatenate(segments) if rec.segments is not None and segments else None,
    )
