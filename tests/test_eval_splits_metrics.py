"""Split logic (no subject leakage, label filtering) and the metrics."""

from __future__ import annotations

import numpy as np
import pytest

from lanhar_core.data.types import WindowSet
from lanhar_core.eval.metrics import category_accuracy, mean_std, score
from lanhar_core.eval.splits import SplitError, filter_labels, max_divergence_split, subject_split


def _windows(labels: list[str | None], subjects: list[str]) -> WindowSet:
    n = len(labels)
    return WindowSet(
        ids=np.arange(n),
        signals=np.zeros((n, 4, 6), dtype=np.float32),
        rate_hz=20.0,
        datasets=np.array(["d"] * n, dtype=object),
        subjects=np.array(subjects, dtype=object),
        recording_ids=np.arange(n),
        placements=np.array(["waist"] * n, dtype=object),
        labels=np.array(labels, dtype=object),
        native_labels=np.array(labels, dtype=object),
    )


def test_subject_split_never_shares_a_subject():
    subjects = np.array([f"s{i % 10}" for i in range(200)])
    for seed in range(5):
        split = subject_split(subjects, 0.2, seed)
        assert not set(subjects[split.train]) & set(subjects[split.test])
        assert split.train.sum() + split.test.sum() == subjects.size
        assert len(split.test_subjects) == 2 and len(split.train_subjects) == 8


def test_subject_split_needs_two_subjects():
    with pytest.raises(SplitError, match="at least 2 subjects"):
        subject_split(np.array(["a", "a"]))


def test_filter_labels_drops_other_and_unlabeled_windows():
    ws = _windows(["walk", "jog", None, "sit", "walk"], ["a", "a", "b", "b", "c"])
    kept = filter_labels(ws, ["walk", "sit"])
    assert list(kept.labels) == ["walk", "sit", "walk"]
    assert list(kept.ids) == [0, 3, 4]
    with pytest.raises(SplitError, match="no windows with labels"):
        filter_labels(ws, ["bike"])


def test_max_divergence_split_picks_the_most_different_halves():
    subjects = np.array([f"s{i}" for i in range(8) for _ in range(5)])
    value = np.array([10.0 if s in {"s0", "s1", "s2", "s3"} else 0.0 for s in subjects])

    def gap(a: np.ndarray, b: np.ndarray) -> float:
        return abs(value[a].mean() - value[b].mean())

    best = max_divergence_split(subjects, gap, n_trials=40, seed=1)
    assert gap(best.train, best.test) == pytest.approx(10.0)


def test_scores_on_a_known_prediction():
    truth = ["walk", "walk", "sit", "sit", "upstairs", "upstairs"]
    pred = ["walk", "sit", "sit", "sit", "upstairs", "unknown"]
    s = score(truth, pred, labels=["walk", "sit", "upstairs"])
    assert s.accuracy == pytest.approx(4 / 6)
    f1_walk, f1_sit, f1_up = 2 / 3, 0.8, 2 / 3
    assert s.macro_f1 == pytest.approx((f1_walk + f1_sit + f1_up) / 3)
    assert s.labels == ("walk", "sit", "upstairs", "unknown")
    assert s.confusion[0].tolist() == [1, 1, 0, 0]
    assert s.confusion[2].tolist() == [0, 0, 1, 1]


def test_category_accuracy_counts_same_category_as_right():
    truth = ["upstairs", "sit", "walk", "jump"]
    pred = ["downstairs", "lie", "upstairs", "walk"]
    assert category_accuracy(truth, pred) == pytest.approx(2 / 3)


def test_mean_std():
    assert mean_std([1.0, 2.0, 3.0]) == pytest.approx((2.0, 1.0))
    assert mean_std([0.5]) == (0.5, 0.0)
