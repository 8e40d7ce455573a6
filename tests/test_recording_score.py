"""Scoring a labelled recording: window accuracy before smoothing, segment accuracy over labelled time."""

from __future__ import annotations

import numpy as np
import pytest

from lanhar_core.data.types import Recording
from lanhar_core.errors import InsufficientDataError
from lanhar_core.eval.recording import score_recording, truth_bands
from lanhar_core.models.recognizer import Predictions, Preprocessing
from lanhar_core.models.streaming import Segment

PRE = Preprocessing(rate_hz=20.0, window_samples=120, stride_samples=60)


def _recording(labels: list[str | None]) -> Recording:
    values = np.asarray(labels, dtype=object)
    signals = np.zeros((len(values), 6), dtype=np.float32)
    signals[:, 2] = 9.8
    return Recording("upload", "r", "me", signals, 20.0, values, values.copy())


def _predictions(labels: list[str]) -> Predictions:
    n = len(labels)
    names = sorted(set(labels))
    probs = np.full((n, len(names)), 0.1)
    return Predictions(np.asarray(labels, dtype=object), np.full(n, 0.9), probs, probs, names)


def test_window_and_segment_accuracy_and_recall() -> None:
    recording = _recording(["walk"] * 600 + ["sit"] * 600)  # 30 s + 30 s at 20 Hz
    starts = np.arange(0, 1200 - 120 + 1, 60)  # 19 windows; the one at 540 straddles the change and is not scored
    predicted = ["walk"] * 8 + ["sit"] * 11  # the last walk window (start 480) is wrong
    segments = [Segment(0.0, 27.0, "walk", 0.9, 8), Segment(27.0, 60.0, "sit", 0.9, 11)]
    result = score_recording(recording, PRE, segments, _predictions(predicted), starts)
    assert result.window_accuracy == pytest.approx(17 / 18)
    assert result.recall == {"sit": 1.0, "walk": pytest.approx(8 / 9)}
    assert result.segment_accuracy == pytest.approx(57 / 60)
    assert result.labelled_s == pytest.approx(60.0)
    assert [(b.start_s, b.end_s, b.label) for b in result.truth] == [(0.0, 30.0, "walk"), (30.0, 60.0, "sit")]
    assert result.windows.confusion.sum() == 18


def test_unlabelled_samples_and_transitions_are_left_out() -> None:
    labels = ["walk"] * 200 + [None] * 100 + ["transition"] * 100
    assert [b.label for b in truth_bands(np.asarray(labels, dtype=object), 20.0)] == ["walk", "transition"]
    with pytest.raises(InsufficientDataError, match="no window labelled"):
        score_recording(_recording([None] * 400), PRE, [], _predictions(["walk"] * 5), np.arange(0, 281, 60))
