"""Scoring recognition of a whole labelled recording: per window and per segment.

When an upload carries its own labels (a generic CSV with a label column, a held-out
recording of a public dataset), the user wants to see where the recognizer is right, not
only what it says. Two numbers, because they answer different questions:

- window accuracy: share of the recognizer's windows (laid out without looking at the
  labels) that lie within one labelled activity and are predicted as it, before smoothing;
  what the model itself gets right;
- segment accuracy: share of labelled time whose smoothed segment carries the true
  activity; what the timeline a user sees gets right.

Unlabeled samples and postural transitions are left out of both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lanhar_core.data.resample import resample_recording
from lanhar_core.data.types import Recording
from lanhar_core.errors import InsufficientDataError
from lanhar_core.eval.metrics import Scores, score
from lanhar_core.models.recognizer import Predictions, Preprocessing
from lanhar_core.models.streaming import Segment
from lanhar_core.vocab import EXCLUDED_LABELS


@dataclass(frozen=True)
class TruthBand:
    """A stretch of one true activity, in seconds."""

    start_s: float
    end_s: float
    label: str


@dataclass
class RecordingScore:
    """Truth against prediction for one recording; ``windows`` is the confusion over windows."""

    window_accuracy: float
    segment_accuracy: float
    recall: dict[str, float]
    windows: Scores
    truth: list[TruthBand]
    labelled_s: float


def _evaluable(labels: np.ndarray) -> np.ndarray:
    return np.array([lab is not None and str(lab) not in EXCLUDED_LABELS for lab in labels], dtype=bool)


def truth_bands(labels: np.ndarray, rate_hz: float) -> list[TruthBand]:
    """Runs of equal per-sample labels (unlabeled samples end a band and start none)."""
    bands = []
    start = 0
    for i in range(1, len(labels) + 1):
        if i == len(labels) or labels[i] != labels[start]:
            if labels[start] is not None:
                bands.append(TruthBand(start / rate_hz, i / rate_hz, str(labels[start])))
            start = i
    return bands


def window_truth(labels: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    """The true label of each window: its samples' label when they all share one, else ``None``."""
    truth = np.full(len(starts), None, dtype=object)
    for i, start in enumerate(np.asarray(starts, dtype=int)):
        values = labels[start : start + length]
        if len(values) == length and values[0] is not None and all(v == values[0] for v in values):
            truth[i] = values[0]
    return truth


def score_recording(
    recording: Recording, preprocessing: Preprocessing, segments: list[Segment], predictions: Predictions,
    starts: np.ndarray,
) -> RecordingScore:
    """Window and segment accuracy, per-class recall and the window confusion of a labelled recording.

    ``segments``/``predictions``/``starts`` are ``recognize_recording``'s output for this
    recording. Raises ``InsufficientDataError`` when no window carries a single evaluable label.
    """
    rate = preprocessing.rate_hz
    sample_truth = resample_recording(recording, rate).labels
    truth = window_truth(sample_truth, starts, preprocessing.window_samples)
    usable = _evaluable(truth)
    if not usable.any():
        raise InsufficientDataError(
            f"recording {recording.key!r} has no window labelled with one activity; "
            "the label column must hold the same activity for at least one window's length"
        )
    y_true = truth[usable].astype(str)
    y_pred = predictions.labels[usable].astype(str)
    scores = score(y_true, y_pred)
    recall = {label: float((y_pred[y_true == label] == label).mean()) for label in sorted(set(y_true))}
    times = np.arange(len(sample_truth)) / rate
    predicted = np.full(len(sample_truth), None, dtype=object)
    for segment in segments:
        predicted[(times >= segment.start_s) & (times < segment.end_s)] = segment.activity
    counted = _evaluable(sample_truth) & np.array([p is not None for p in predicted], dtype=bool)
    segment_accuracy = float((predicted[counted] == sample_truth[counted]).mean()) if counted.any() else float("nan")
    return RecordingScore(
        window_accuracy=scores.accuracy,
        segment_accuracy=segment_accuracy,
        recall=recall,
        windows=scores,
        truth=truth_bands(sample_truth, rate),
        labelled_s=float(counted.sum() / rate),
    )
