"""Cutting resampled recordings into fixed-length windows.

A window never spans a label change or a gap (``Recording.segments``): the recording is
split into runs of constant (segment, canonical label, native label) and windows are laid
out inside each run from its first sample at the given stride. Each run starts its own
stride grid, so a short activity bout still yields a window when it is at least one window
long, and every window is label-pure by construction.

Which stretches give windows:
- a recording with at least one labelled sample: only its labelled runs; unlabeled
  stretches in it (HAPT between activities, transitions mapped to ``None``) are gaps in
  the annotation, not data we may treat as unlabeled activity, so they yield nothing;
- a recording with no labels at all (a user's unlabeled import): every gap-free stretch,
  as unlabeled windows (label ``None``), which stage 2 training and recognition can use.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from lanhar_core.data.types import Recording, Windows
from lanhar_core.errors import InvalidValueError


def runs(rec: Recording, by_labels: bool = True) -> list[tuple[int, int]]:
    """``[start, end)`` of each run of constant segment (and labels, when ``by_labels``)."""
    n = rec.n_samples
    if n == 0:
        return []
    change = np.diff(rec.segment_ids()) != 0
    if by_labels:
        labels = rec.labels.astype(str)
        native = rec.native_labels.astype(str)
        change |= (labels[1:] != labels[:-1]) | (native[1:] != native[:-1])
    bounds = np.concatenate([[0], np.flatnonzero(change) + 1, [n]])
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]


def is_labelled(rec: Recording) -> bool:
    """Whether any sample of ``rec`` carries a canonical label."""
    return bool(np.any(rec.labels != None))  # noqa: E711 - elementwise comparison on an object array


def window_starts(rec: Recording, length: int, stride: int) -> np.ndarray:
    """Start samples of every window of ``rec`` (see the module docstring for the rules)."""
    if length < 1 or stride < 1:
        raise InvalidValueError(f"window length and stride must be positive, got {length} and {stride}")
    labelled = is_labelled(rec)
    starts = []
    for start, end in runs(rec, by_labels=labelled):
        if labelled and rec.labels[start] is None:
            continue
        if end - start >= length:
            starts.append(np.arange(start, end - length + 1, stride))
    return np.concatenate(starts).astype(np.int64) if starts else np.empty(0, dtype=np.int64)


def make_windows(rec: Recording, length: int, stride: int) -> Windows:
    """All windows of ``rec`` (already at the analysis rate) as one ``Windows`` batch."""
    starts = window_starts(rec, length, stride)
    if starts.size:
        view = sliding_window_view(rec.signals, length, axis=0)
        signals = np.ascontiguousarray(view[starts].transpose(0, 2, 1), dtype=np.float32)
    else:
        signals = np.empty((0, length, rec.signals.shape[1]), dtype=np.float32)
    return Windows(
        signals=signals,
        rate_hz=rec.rate_hz,
        recording_keys=np.full(starts.size, rec.key, dtype=object),
        starts=starts,
        labels=rec.labels[starts] if starts.size else np.empty(0, dtype=object),
        native_labels=rec.native_labels[starts] if starts.size else np.empty(0, dtype=object),
    )
