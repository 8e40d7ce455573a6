"""Supervised baselines, trained and tested on exactly the splits LanHAR gets.

Every baseline follows the scikit-learn convention (``fit(signals, labels)`` then
``predict(signals)``) and gets the same tuning budget: ``TUNING_BUDGET`` candidate
configurations, each trained on the source training subjects and scored by macro-F1 on
the source validation subjects; the best one is refitted on the training subjects and
tested on the target. The target is never looked at while choosing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch
from sklearn.ensemble import HistGradientBoostingClassifier
from torch import nn

from lanhar_core.config import RuntimeSettings
from lanhar_core.errors import InvalidValueError
from lanhar_core.eval.metrics import score
from lanhar_core.runtime import select_device, training_autocast
from lanhar_core.signal.features import window_feature_arrays

TUNING_BUDGET = 3
"""Candidate configurations every baseline (and our model) may try on the source validation split."""


class Classifier(Protocol):
    def fit(self, signals: np.ndarray, labels: np.ndarray) -> Classifier: ...

    def predict(self, signals: np.ndarray) -> np.ndarray: ...


_FEATURE_CACHE: dict[str, tuple[np.ndarray, list[str]]] = {}
_FEATURE_CACHE_SIZE = 8


def feature_matrix(signals: np.ndarray, rate_hz: float) -> tuple[np.ndarray, list[str]]:
    """The hand-crafted feature record of every window as a matrix (rows = windows).

    Memoised by content because tuning refits the same split several times and the
    features, not the boosting, dominate the cost.
    """
    key = hashlib.sha1(np.ascontiguousarray(signals).tobytes()).hexdigest() + f"@{rate_hz}"
    if key not in _FEATURE_CACHE:
        columns = window_feature_arrays(signals, rate_hz)
        names = sorted(columns)
        if len(_FEATURE_CACHE) >= _FEATURE_CACHE_SIZE:
            _FEATURE_CACHE.pop(next(iter(_FEATURE_CACHE)))
        _FEATURE_CACHE[key] = (np.column_stack([columns[k] for k in names]), names)
    return _FEATURE_CACHE[key]


@dataclass
class FeatureBoosting:
    """Gradient boosting on the orientation-robust feature record: the strong classical baseline."""

    rate_hz: float
    max_depth: int | None = None
    learning_rate: float = 0.1
    max_iter: int = 200
    seed: int = 0
    _model: HistGradientBoostingClassifier | None = field(default=None, init=False, repr=False)

    def fit(self, signals: np.ndarray, labels: np.ndarray) -> FeatureBoosting:
        x, _ = feature_matrix(signals, self.rate_hz)
        self._model = HistGradientBoostingClassifier(
            max_depth=self.max_depth,
            learning_rate=self.learning_rate,
            max_iter=self.max_iter,
            random_state=self.seed,
        ).fit(x, np.asarray(labels, dtype=str))
        return self

    def predict(self, signals: np.ndarray) -> np.ndarray:
        if self._model is None:
            raise RuntimeError("fit() must be called before predict()")
        x, _ = feature_matrix(signals, self.rate_hz)
        return self._model.predict(x)


class _DCNN(nn.Module):
    """DCNN-style 1-D convolutional network over the six channels."""

    def __init__(self, n_classes: int, width: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv1d(6, width, 5, padding=2), nn.BatchNorm1d(width), nn.ReLU(), nn.MaxPool1d(2),
            nn.Conv1d(width, width * 2, 5, padding=2), nn.BatchNorm1d(width * 2), nn.ReLU(), nn.MaxPool1d(2),
            nn.Conv1d(width * 2, width * 2, 3, padding=1), nn.BatchNorm1d(width * 2), nn.ReLU(),
            nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Dropout(0.3), nn.Linear(width * 2, n_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x.transpose(1, 2))


class _SupervisedTransformer(nn.Module):
    """A small Transformer encoder over patches of samples, trained on source labels."""

    def __init__(self, n_classes: int, width: int, patch: int = 5, layers: int = 2) -> None:
        super().__init__()
        self.patch = patch
        self.proj = nn.Linear(6 * patch, width)
        self.norm = nn.LayerNorm(width)
        self.pos = nn.Parameter(torch.zeros(1, 256, width))
        layer = nn.TransformerEncoderLayer(width, 4, width * 2, dropout=0.1, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers)
        self.head = nn.Linear(width, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, length, c = x.shape
        usable = length - length % self.patch
        tokens = x[:, :usable].reshape(n, usable // self.patch, self.patch * c)
        h = self.norm(self.proj(tokens))
        h = h + self.pos[:, : h.shape[1]]
        return self.head(self.encoder(h).mean(dim=1))


@dataclass
class TorchClassifier:
    """Trains one of the raw-signal networks with per-channel standardisation from the training data.

    The budget is a number of optimiser steps (random batches), not epochs, so that small
    and large source datasets get the same amount of tuning effort. ``device`` and
    ``mixed_precision`` come from ``[runtime]`` (``candidate_grid``); batches are drawn on
    the CPU, so a seed picks the same batches on any device.
    """

    architecture: str
    width: int = 32
    lr: float = 1e-3
    steps: int = 1500
    batch_size: int = 64
    seed: int = 0
    device: str = "cpu"
    mixed_precision: bool = False
    _net: nn.Module | None = field(default=None, init=False, repr=False)
    _classes: np.ndarray | None = field(default=None, init=False, repr=False)
    _mean: np.ndarray | None = field(default=None, init=False, repr=False)
    _std: np.ndarray | None = field(default=None, init=False, repr=False)

    def _build(self, n_classes: int) -> nn.Module:
        if self.architecture == "dcnn":
            return _DCNN(n_classes, self.width)
        if self.architecture == "transformer":
            return _SupervisedTransformer(n_classes, self.width)
        raise InvalidValueError(f"unknown architecture {self.architecture!r}; use 'dcnn' or 'transformer'")

    def _standardise(self, signals: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(((signals - self._mean) / self._std).astype(np.float32))

    def fit(self, signals: np.ndarray, labels: np.ndarray) -> TorchClassifier:
        torch.manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        self._classes, y = np.unique(np.asarray(labels, dtype=str), return_inverse=True)
        self._mean = signals.reshape(-1, 6).mean(axis=0)
        self._std = signals.reshape(-1, 6).std(axis=0) + 1e-6
        device = torch.device(self.device)
        x = self._standardise(signals).to(device)
        y_t = torch.from_numpy(y.astype(np.int64)).to(device)
        weights = torch.tensor(len(y) / (len(self._classes) * np.bincount(y)), dtype=torch.float32, device=device)
        self._net = self._build(len(self._classes)).to(device)
        optimiser = torch.optim.AdamW(self._net.parameters(), lr=self.lr, weight_decay=1e-4)
        loss_fn = nn.CrossEntropyLoss(weight=weights)
        self._net.train()
        batch = min(self.batch_size, len(y))
        for _ in range(self.steps):
            idx = torch.from_numpy(rng.choice(len(y), size=batch, replace=False)).to(device)
            optimiser.zero_grad()
            with training_autocast(device, self.mixed_precision):
                loss = loss_fn(self._net(x[idx]).float(), y_t[idx])
            loss.backward()
            optimiser.step()
        return self

    def predict(self, signals: np.ndarray) -> np.ndarray:
        if self._net is None or self._classes is None:
            raise RuntimeError("fit() must be called before predict()")
        self._net.eval()
        x = self._standardise(signals).to(self.device)
        with torch.no_grad():
            logits = torch.cat([self._net(x[i : i + 512]) for i in range(0, len(x), 512)])
        return self._classes[logits.argmax(dim=1).cpu().numpy()]


def candidate_grid(
    name: str, rate_hz: float, seed: int, quick: bool = False, runtime: RuntimeSettings = RuntimeSettings()
) -> list[Classifier]:
    """The ``TUNING_BUDGET`` configurations tried for one baseline (fewer steps and boosting rounds in quick mode).

    The networks run on ``runtime``'s device (``ConfigError`` when it asks for a missing GPU).
    """
    device = str(select_device(runtime)) if name in ("dcnn", "transformer") else "cpu"
    torch_args: dict[str, Any] = {"steps": 150 if quick else 1500, "seed": seed, "device": device,
                  "mixed_precision": runtime.mixed_precision}
    rounds = 0.25 if quick else 1.0
    grids: dict[str, list[Any]] = {
        "features_gbdt": [
            FeatureBoosting(rate_hz, max_depth=3, learning_rate=0.1, max_iter=int(200 * rounds), seed=seed),
            FeatureBoosting(rate_hz, max_depth=None, learning_rate=0.1, max_iter=int(200 * rounds), seed=seed),
            FeatureBoosting(rate_hz, max_depth=6, learning_rate=0.05, max_iter=int(400 * rounds), seed=seed),
        ],
        "dcnn": [
            TorchClassifier("dcnn", width=w, lr=lr, **torch_args)
            for w, lr in ((32, 1e-3), (64, 1e-3), (32, 3e-4))
        ],
        "transformer": [
            TorchClassifier("transformer", width=w, lr=lr, **torch_args)
            for w, lr in ((64, 1e-3), (64, 3e-4), (128, 3e-4))
        ],
    }
    if name not in grids:
        raise InvalidValueError(f"unknown baseline {name!r}; known: {', '.join(grids)}")
    return grids[name][:TUNING_BUDGET]


SUPERVISED_BASELINES: tuple[str, ...] = ("features_gbdt", "dcnn", "transformer")


def tune_and_fit(
    name: str,
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    rate_hz: float,
    seed: int,
    quick: bool = False,
    labels: Sequence[str] | None = None,
    runtime: RuntimeSettings = RuntimeSettings(),
) -> tuple[Classifier, dict[str, Any]]:
    """Pick the candidate with the best source-validation macro-F1; returns it and the tuning log."""
    log = []
    best: tuple[float, Classifier] | None = None
    for i, candidate in enumerate(candidate_grid(name, rate_hz, seed, quick, runtime)):
        candidate.fit(*train)
        val_f1 = score(val[1], candidate.predict(val[0]), labels).macro_f1
        log.append({"candidate": i, "config": repr(candidate), "val_macro_f1": val_f1})
        if best is None or val_f1 > best[0]:
            best = (val_f1, candidate)
    if best is None:
        raise InvalidValueError(f"baseline {name!r} has no candidates")
    return best[1], {"baseline": name, "tuning": log, "budget": TUNING_BUDGET}
