"""Recognition over a whole recording: resample, slide windows, predict, smooth into segments.

Per-window answers flicker at activity boundaries and on ambiguous windows. Two simple,
predictable steps turn them into segments:

1. Majority filter: each window's label becomes the most frequent label among the
   ``smooth_windows`` windows centred on it (ties keep the window's own label).
2. Minimum duration: a segment shorter than ``min_segment_s`` is absorbed by its longer
   neighbour, shortest first, until none is left (a recording's only segment stays).

Time: with overlapping windows (stride < length) each window owns the stride-long stretch
around its centre; the first and last window of a gap-free stretch also own the stretch's
edges. Segments never bridge a gap in the recording. A segment's ``confidence`` is the mean
probability of its activity over its windows (for ``unknown``: the mean top probability).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd

from lanhar_core.data.resample import resample_recording
from lanhar_core.data.types import Recording
from lanhar_core.data.windowing import make_windows
from lanhar_core.errors import RecordingTooShortError
from lanhar_core.jobs import Progress
from lanhar_core.models.recognizer import UNKNOWN, Predictions, Recognizer
from lanhar_core.models.text_path import TextReader
from lanhar_core.signal.segment_frame import recording_to_segment_frame


@dataclass(frozen=True)
class Segment:
    start_s: float
    end_s: float
    activity: str
    confidence: float
    n_windows: int


def majority_filter(labels: list[str], k: int) -> list[str]:
    """Centred majority vote over ``k`` (odd) neighbours; ties keep the original label."""
    half = k // 2
    out = []
    for i, own in enumerate(labels):
        counts = Counter(labels[max(0, i - half) : i + half + 1])
        best = max(counts.values())
        out.append(own if counts[own] == best else next(lab for lab, c in counts.items() if c == best))
    return out


def _runs(labels: list[str]) -> list[tuple[int, int]]:
    """[start, end) of each run of equal labels."""
    bounds = [0] + [i for i in range(1, len(labels)) if labels[i] != labels[i - 1]] + [len(labels)]
    return list(zip(bounds[:-1], bounds[1:]))


def _absorb_short(labels: list[str], cell_start: np.ndarray, cell_end: np.ndarray, min_s: float) -> list[str]:
    labels = list(labels)
    while True:
        runs = _runs(labels)
        if len(runs) < 2:
            return labels
        durations = [cell_end[e - 1] - cell_start[s] for s, e in runs]
        shortest = int(np.argmin(durations))
        if durations[shortest] >= min_s:
            return labels
        neighbours = [j for j in (shortest - 1, shortest + 1) if 0 <= j < len(runs)]
        target = max(neighbours, key=lambda j: durations[j])
        s, e = runs[shortest]
        labels[s:e] = [labels[runs[target][0]]] * (e - s)


def segments_from_predictions(
    predictions: Predictions,
    starts: np.ndarray,
    rate_hz: float,
    window_samples: int,
    stride_samples: int,
    smooth_windows: int = 3,
    min_segment_s: float = 0.0,
) -> list[Segment]:
    """Smoothed segments from per-window predictions; ``starts`` are window start samples at ``rate_hz``."""
    if len(predictions) == 0:
        return []
    order = np.argsort(starts, kind="stable")
    starts = np.asarray(starts)[order]
    labels = [str(v) for v in predictions.labels[order]]
    probs = predictions.probabilities[order]
    top = predictions.confidence[order]
    gap = np.diff(starts) != stride_samples
    stretch_id = np.concatenate([[0], np.cumsum(gap)])
    offset = (window_samples - stride_samples) / 2
    cell_start = (starts + offset) / rate_hz
    cell_end = (starts + offset + stride_samples) / rate_hz
    first = np.concatenate([[True], gap])
    last = np.concatenate([gap, [True]])
    cell_start[first] = starts[first] / rate_hz
    cell_end[last] = (starts[last] + window_samples) / rate_hz
    index = {name: i for i, name in enumerate(predictions.label_names)}
    segments: list[Segment] = []
    for stretch in np.unique(stretch_id):
        rows = np.flatnonzero(stretch_id == stretch)
        smoothed = majority_filter([labels[r] for r in rows], smooth_windows)
        smoothed = _absorb_short(smoothed, cell_start[rows], cell_end[rows], min_segment_s)
        for s, e in _runs(smoothed):
            members = rows[s:e]
            activity = smoothed[s]
            conf = top[members] if activity == UNKNOWN else probs[members, index[activity]]
            segments.append(
                Segment(float(cell_start[members[0]]), float(cell_end[members[-1]]), activity, float(conf.mean()), len(members))
            )
    return segments


def too_short_message(recording: Recording, window_s: float) -> str:
    """What is wrong with a recording too short to recognise, in its own terms: rows, seconds, the window."""
    size = f"{recording.n_samples} rows = {recording.duration_s:.1f} s at {recording.rate_hz:g} Hz"
    if recording.duration_s >= window_s:
        return (
            f"recording {recording.key!r}: {size}, but gaps split it into pieces shorter than one window "
            f"({window_s:g} s); record without pauses for at least {window_s:g} s"
        )
    return f"recording {recording.key!r}: {size}; a window needs {window_s:g} s, so record for at least {window_s:g} s"


def recognize_recording(
    recognizer: Recognizer,
    recording: Recording,
    smooth_windows: int = 3,
    min_segment_s: float = 0.0,
    progress: Progress | None = None,
    reader: TextReader | None = None,
) -> tuple[list[Segment], Predictions, np.ndarray]:
    """Segments of a recording of any length and rate (canonical units), plus the per-window predictions and starts.

    A recognizer whose preprocessing works in the body-segment frame gets the recording's
    windows turned into it (the recording's own gait is the upright reference), and the
    label vectors of the recording's placement when it declares one. With a ``reader`` the
    windows are recognised through the texts its writer writes for them (``models.text_path``),
    in the writer's frame, instead of through the sensor encoder.
    Every gap-free stretch is windowed, labelled or not; starts are samples at the model's rate.
    """
    progress = progress or Progress()
    pre = recognizer.preprocessing
    progress.update(0, 3, "resampling")
    resampled = resample_recording(recording, pre.rate_hz)
    unlabelled = np.full(resampled.n_samples, None, dtype=object)
    # Labels (an upload's truth column) must not decide where windows go: windowing a labelled
    # recording keeps only its labelled runs and cuts at every true change.
    windows = make_windows(replace(resampled, labels=unlabelled, native_labels=unlabelled.copy()),
                           pre.window_samples, pre.stride_samples)
    if len(windows) == 0:
        raise RecordingTooShortError(too_short_message(recording, pre.window_samples / pre.rate_hz))
    progress.update(1, 3, f"recognising {len(windows)} windows")
    frame = pre.frame if reader is None else reader.writer.window_frame
    signals, known = windows.signals, None
    if frame == "segment":
        signals, known = recording_to_segment_frame(signals, pre.rate_hz)
    if recording.placement:
        recognizer.use_placement(recording.placement)
    if reader is None:
        predictions = recognizer.predict(signals)
    else:
        predictions = reader.predict(recognizer, signals, pre.rate_hz, recording.placement,
                                     None if known is None else np.full(len(signals), known))
    predictions.upright_known = known
    progress.update(2, 3, "smoothing")
    segments = segments_from_predictions(
        predictions, windows.starts, pre.rate_hz, pre.window_samples, pre.stride_samples, smooth_windows, min_segment_s
    )
    progress.update(3, 3, f"{len(segments)} segments")
    return segments, predictions, np.asarray(windows.starts)


def segments_frame(segments: list[Segment]) -> pd.DataFrame:
    """Segments as a table (start_s, end_s, activity, confidence, n_windows)."""
    columns = ["start_s", "end_s", "activity", "confidence", "n_windows"]
    return pd.DataFrame([asdict(s) for s in segments], columns=columns)


NO_UPRIGHT_REFERENCE = (
    "this recording has no walking (at least 3 windows of steps), so how the device sits on the body is "
    "unknown and postures (sitting, standing, lying) are judged in the device's own axes: unreliable. "
    "Record a few steps with the device worn as it is, in the same recording."
)
"""The warning shown when ``Predictions.upright_known`` is False."""

