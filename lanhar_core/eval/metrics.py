"""Classification metrics for HAR evaluation.

Macro-F1 is reported beside accuracy because class mixes differ between datasets (sit is
easy and often frequent), which inflates accuracy; weighted F1 is what the paper's reference
code reports, so it is kept for comparison.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

from lanhar_core.errors import InvalidValueError
from lanhar_core.vocab import category_of


@dataclass(frozen=True)
class Scores:
    accuracy: float
    macro_f1: float
    weighted_f1: float
    labels: tuple[str, ...]
    confusion: np.ndarray = field(repr=False)
    n: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "accuracy": self.accuracy,
            "macro_f1": self.macro_f1,
            "weighted_f1": self.weighted_f1,
            "labels": list(self.labels),
            "confusion": self.confusion.tolist(),
            "n": self.n,
        }


Labels = Sequence[str] | np.ndarray
"""Label names per window: a list or a numpy array (of str or object)."""


def score(y_true: Labels, y_pred: Labels, labels: Sequence[str] | None = None) -> Scores:
    """Accuracy, macro/weighted F1 and the confusion matrix over ``labels`` (rows = truth).

    F1 averages run over the true labels only, so a prediction of a label absent from the
    test data (e.g. 'unknown') counts as an error without adding an empty class to the mean.
    """
    truth = np.asarray([str(v) for v in y_true])
    predicted = np.asarray([str(v) for v in y_pred])
    if truth.shape != predicted.shape:
        raise InvalidValueError(f"{truth.size} true labels but {predicted.size} predictions")
    if truth.size == 0:
        raise InvalidValueError("cannot score an empty prediction set")
    present = sorted(set(truth))
    order = list(labels) if labels is not None else present
    extra = sorted(set(predicted) - set(order))
    matrix_labels = order + extra
    return Scores(
        accuracy=float(accuracy_score(truth, predicted)),
        macro_f1=float(f1_score(truth, predicted, labels=present, average="macro", zero_division=0)),
        weighted_f1=float(f1_score(truth, predicted, labels=present, average="weighted", zero_division=0)),
        labels=tuple(matrix_labels),
        confusion=confusion_matrix(truth, predicted, labels=matrix_labels),
        n=int(truth.size),
    )


def category_accuracy(
    y_true: Labels, y_pred: Labels, extra_categories: dict[str, str] | None = None
) -> float:
    """Share of predictions in the right category (paper section 4.5).

    Windows whose true label has no category are left out: there is nothing to be right about.
    """
    hits, total = 0, 0
    for truth, pred in zip(y_true, y_pred):
        cat = category_of(str(truth), extra_categories)
        if cat is None:
            continue
        total += 1
        hits += int(category_of(str(pred), extra_categories) == cat)
    if total == 0:
        raise InvalidValueError("no true label belongs to a category; category accuracy is undefined")
    return hits / total


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value) over seeds."""
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        raise InvalidValueError("no values to average")
    return float(arr.mean()), float(arr.std(ddof=1)) if arr.size > 1 else 0.0
