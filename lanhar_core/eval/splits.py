"""Data splits for the paper's protocols.

Splits are always by subject: windows of one person are strongly correlated, so a random
window split would leak the test subjects' gait into training and flatter every model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from lanhar_core.data.types import WindowSet
from lanhar_core.errors import LanharError


class SplitError(LanharError):
    """A split cannot be made (too few subjects, no windows with the requested labels)."""


@dataclass(frozen=True)
class SubjectSplit:
    """Boolean masks over one WindowSet; ``train`` and ``test`` never share a subject."""

    train: np.ndarray
    test: np.ndarray
    train_subjects: tuple[str, ...]
    test_subjects: tuple[str, ...]


def filter_labels(windows: WindowSet, labels: Sequence[str]) -> WindowSet:
    """Only the windows whose canonical label is in ``labels`` (unlabeled windows dropped)."""
    wanted = set(labels)
    mask = np.array([lab in wanted for lab in windows.labels], dtype=bool)
    if not mask.any():
        present = sorted({str(x) for x in windows.labels if x is not None})
        raise SplitError(f"no windows with labels {sorted(wanted)}; the data has {present}")
    return windows.subset(mask)


def subject_split(subjects: np.ndarray, test_fraction: float = 0.2, seed: int = 0) -> SubjectSplit:
    """Random split of the subjects (not the windows) into train and test."""
    if not 0 < test_fraction < 1:
        raise SplitError(f"test_fraction must be in (0, 1), got {test_fraction}")
    unique = np.array(sorted({str(s) for s in subjects}))
    if unique.size < 2:
        raise SplitError(f"a subject split needs at least 2 subjects, found {unique.size}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(unique)
    n_test = min(unique.size - 1, max(1, int(round(unique.size * test_fraction))))
    test_subjects = set(order[:n_test])
    as_str = np.array([str(s) for s in subjects])
    test = np.isin(as_str, list(test_subjects))
    return SubjectSplit(
        train=~test,
        test=test,
        train_subjects=tuple(sorted(set(order[n_test:]))),
        test_subjects=tuple(sorted(test_subjects)),
    )


def max_divergence_split(
    subjects: np.ndarray,
    divergence: Callable[[np.ndarray, np.ndarray], float],
    n_trials: int = 20,
    seed: int = 0,
) -> SubjectSplit:
    """The random half/half subject split with the largest divergence between halves.

    The paper (section 4.4) evaluates complex activities this way so that the two halves
    differ as much as the data allows, mimicking a cross-dataset shift inside one dataset.
    ``divergence(mask_a, mask_b)`` scores a candidate split.
    """
    if n_trials < 1:
        raise SplitError(f"n_trials must be at least 1, got {n_trials}")
    candidates = [subject_split(subjects, test_fraction=0.5, seed=seed * 1000 + t) for t in range(n_trials)]
    scores = [float(divergence(c.train, c.test)) for c in candidates]
    return candidates[int(np.argmax(scores))]
