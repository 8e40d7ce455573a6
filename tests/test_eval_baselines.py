"""Baselines learn a separable synthetic task and tune within the fixed budget."""

from __future__ import annotations

import numpy as np
import pytest

from lanhar_core.eval.baselines import TUNING_BUDGET, TorchClassifier, candidate_grid, tune_and_fit
from lanhar_core.eval.metrics import score


def _synthetic(n_per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Still vs 2 Hz bouncing vs 1 Hz swaying windows (120 samples at 20 Hz, gravity on z)."""
    rng = np.random.default_rng(seed)
    t = np.arange(120) / 20.0
    windows, labels = [], []
    for label, (freq, amp) in {"sit": (0.0, 0.0), "walk": (2.0, 3.0), "sway": (1.0, 1.0)}.items():
        for _ in range(n_per_class):
            w = rng.normal(0, 0.05, (120, 6)).astype(np.float32)
            w[:, 2] += 9.81 + amp * np.sin(2 * np.pi * freq * t + rng.uniform(0, 6.28))
            w[:, 3] += 0.3 * amp * np.sin(2 * np.pi * freq * t)
            windows.append(w)
            labels.append(label)
    return np.stack(windows), np.array(labels)


def test_feature_baseline_tunes_within_budget_and_beats_chance():
    train, val, test = _synthetic(30, seed=1), _synthetic(10, seed=2), _synthetic(10, seed=3)
    model, log = tune_and_fit("features_gbdt", train, val, rate_hz=20.0, seed=0, quick=True)
    assert len(log["tuning"]) == TUNING_BUDGET
    assert score(test[1], model.predict(test[0])).accuracy > 0.8


@pytest.mark.parametrize("architecture", ["dcnn", "transformer"])
def test_raw_signal_baselines_learn_a_separable_task(architecture: str):
    train, test = _synthetic(30, seed=1), _synthetic(10, seed=3)
    model = TorchClassifier(architecture, width=16, steps=60, batch_size=32).fit(*train)
    assert score(test[1], model.predict(test[0])).accuracy > 0.8


def test_every_baseline_gets_the_same_budget():
    sizes = {n: len(candidate_grid(n, 20.0, 0)) for n in ("features_gbdt", "dcnn", "transformer")}
    assert set(sizes.values()) == {TUNING_BUDGET}
    with pytest.raises(ValueError, match="unknown baseline"):
        candidate_grid("svm", 20.0, 0)
