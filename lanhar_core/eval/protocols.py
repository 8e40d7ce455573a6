"""The paper's evaluation protocols as data: which windows train, tune and test what (section 4).

A protocol produces an ``EvalTask``; every method (ours and each baseline) is then trained
on ``train``, may tune on ``val`` and is scored on ``test``, so all methods of one run see
exactly the same split. ``unlabeled`` is what transductive stage 2 may add: test-side
windows with their labels removed (set to ``None``) before any training code sees them,
and drawn without looking at labels, so target labels can only reach the scoring.

- Cross-dataset: source windows of the common activities split by subject (``val_fraction``
  of the subjects for validation), target = all its windows of those activities.
- New activities: the same training side; the test side is every labelled target window
  (common and new activities), and the label set is all the target's activities.
- Complex activities: one dataset split into two subject halves, choosing among random
  splits the one whose halves differ most (Gaussian KL on the hand-crafted features).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lanhar_core.data.types import WindowSet
from lanhar_core.eval.baselines import feature_matrix
from lanhar_core.eval.splits import SplitError, filter_labels, max_divergence_split, subject_split
from lanhar_core.quality.kl import fit_gaussian, gaussian_kl, project
from lanhar_core.signal.segment_frame import to_segment_frame
from lanhar_core.vocab import COMMON_ACTIVITIES, EXCLUDED_LABELS
from storage.datasets import load_windows
from storage.db import Store

OTHER_PER_LABEL = 60
"""Source windows kept per untrained activity for stage-1 new-activity validation."""



@dataclass
class EvalTask:
    """One train/val/test assignment shared by every method; see the module docstring."""

    protocol: str
    source: str
    target: str
    train: WindowSet
    val: WindowSet
    test: WindowSet
    unlabeled: WindowSet
    train_labels: tuple[str, ...]
    eval_labels: tuple[str, ...]
    info: dict[str, Any] = field(default_factory=dict)
    source_other: WindowSet | None = None
    """Source windows of the training subjects whose activity is outside ``train_labels``: never
    trained on; stage 1 scores new-activity recognition on its held-out subjects' ones, so that
    settings are chosen on the source alone."""

    def source_key(self) -> str:
        """Identifies the labelled source side (train and val windows, labels, label set).

        Tasks with the same key train any supervised method identically, whatever their
        target: a benchmark fits such a baseline once per source and reuses it.
        """
        h = hashlib.sha256()
        for part in (self.train, self.val):
            h.update(np.asarray(part.ids, dtype=np.int64).tobytes())
            h.update("\x00".join(str(x) for x in part.labels).encode())
        h.update("\x01".join(self.train_labels).encode())
        return h.hexdigest()[:20]

    @property
    def new_labels(self) -> tuple[str, ...]:
        """Labels scored but never trained on (the new-activity protocol's point)."""
        return tuple(label for label in self.eval_labels if label not in self.train_labels)


def strip_labels(windows: WindowSet) -> WindowSet:
    """The same windows with no label information: what transductive training may see."""
    empty = np.full(len(windows), None, dtype=object)
    return WindowSet(
        ids=windows.ids,
        signals=windows.signals,
        rate_hz=windows.rate_hz,
        datasets=windows.datasets,
        subjects=windows.subjects,
        recording_ids=windows.recording_ids,
        placements=windows.placements,
        labels=empty,
        native_labels=empty.copy(),
        upright_known=windows.upright_known,
    )


def blind_rows(n: int, limit: int, seed: int) -> np.ndarray:
    """At most ``limit`` of ``n`` row indices drawn uniformly, sorted (0 = all): no label is read."""
    if limit <= 0 or n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng([seed, 7]).choice(n, size=limit, replace=False))


def blind_sample(windows: WindowSet, limit: int, seed: int) -> WindowSet:
    """At most ``limit`` windows drawn uniformly, without reading labels (0 = all)."""
    return windows.subset(blind_rows(len(windows), limit, seed))


def per_label_sample(windows: WindowSet, per_label: int, seed: int) -> WindowSet:
    """At most ``per_label`` windows of each label (0 = all); for budgets on labelled data only."""
    if per_label <= 0:
        return windows
    rng = np.random.default_rng([seed, 11])
    keep: list[np.ndarray] = []
    for label in sorted({str(x) for x in windows.labels}):
        rows = np.flatnonzero(windows.labels == label)
        keep.append(rows if rows.size <= per_label else rng.choice(rows, size=per_label, replace=False))
    return windows.subset(np.sort(np.concatenate(keep)))


def split_spec(spec: str) -> tuple[str, str | None]:
    """``'dsads@torso'`` -> ``('dsads', 'torso')``: a dataset, optionally one sensor placement of it."""
    name, _, placement = spec.partition("@")
    if not name or (spec.endswith("@") and not placement):
        raise SplitError(f"dataset {spec!r} is not NAME or NAME@PLACEMENT")
    return name, placement or None


def load_spec(store: Store, spec: str, frame: str = "device") -> WindowSet:
    """Windows of a dataset spec (``NAME`` or ``NAME@PLACEMENT``, e.g. DSADS's torso unit only).

    ``frame='segment'``: in the body-segment frame (``signal.segment_frame``), estimated from
    all of the dataset's windows before any is filtered by label, as every method sees them.
    """
    name, placement = split_spec(spec)
    windows = load_windows(store, dataset=name, placement=placement)
    if len(windows) == 0:
        raise SplitError(f"no windows for {spec!r}; check the dataset name and placement (`lanhar data list`)")
    return to_segment_frame(windows)[0] if frame == "segment" else windows


def labelled(windows: WindowSet) -> WindowSet:
    """Windows with an evaluable label (unlabeled and transition windows dropped)."""
    mask = np.array([lab is not None and lab not in EXCLUDED_LABELS for lab in windows.labels], dtype=bool)
    return windows.subset(mask)


def _source_split(source: WindowSet, val_fraction: float, seed: int) -> tuple[WindowSet, WindowSet, dict[str, Any]]:
    """Train/validation by subject; a single-subject side (a complex-protocol half of a tiny
    dataset) cannot hold a subject out, so its baselines are tuned on its own windows, and the
    task says so."""
    if len({str(s) for s in source.subjects}) < 2:
        only = sorted({str(s) for s in source.subjects})
        return source, source, {"train_subjects": only, "val_subjects": only, "val_is_train": True}
    split = subject_split(source.subjects, test_fraction=val_fraction, seed=seed)
    info = {"train_subjects": list(split.train_subjects), "val_subjects": list(split.test_subjects)}
    return source.subset(split.train), source.subset(split.test), info


def cross_dataset_task(
    store: Store,
    source: str,
    target: str,
    seed: int,
    val_fraction: float = 0.2,
    labels: Sequence[str] = COMMON_ACTIVITIES,
    per_label: int = 0,
    frame: str = "device",
) -> EvalTask:
    """Source split by subject, target = all its windows of ``labels`` (paper 4.1.2)."""
    if source == target:
        raise SplitError(f"source and target are both {source!r}; a cross-dataset pair needs two datasets")
    source_windows = load_spec(store, source, frame)
    src = per_label_sample(filter_labels(source_windows, labels), per_label, seed)
    tgt_all = load_spec(store, target, frame)
    tgt = per_label_sample(filter_labels(tgt_all, labels), per_label, seed)
    train, val, info = _source_split(src, val_fraction, seed)
    src_all = labelled(source_windows)
    others = src_all.subset(~np.isin(src_all.labels.astype(str), list(labels)) & np.isin(src_all.subjects, train.subjects))
    shared = tuple(label for label in labels if label in set(train.labels) and label in set(tgt.labels))
    if len(shared) < 2:
        raise SplitError(f"{source} -> {target}: fewer than two of {list(labels)} occur on both sides ({list(shared)})")
    return EvalTask(
        protocol="cross",
        source=source,
        target=target,
        train=train,
        val=val,
        test=filter_labels(tgt, shared),
        unlabeled=strip_labels(tgt_all),
        train_labels=shared,
        eval_labels=shared,
        info={**info, "labels": list(shared), "seed": seed},
        source_other=per_label_sample(others, OTHER_PER_LABEL, seed) if len(others) else None,
    )


def new_activity_task(
    store: Store,
    source: str,
    target: str,
    seed: int,
    val_fraction: float = 0.2,
    common: Sequence[str] = COMMON_ACTIVITIES,
    per_label: int = 0,
    frame: str = "device",
) -> EvalTask:
    """Train on the common activities of ``source``; test on every activity of ``target``.

    The label set is all of the target's evaluable labels: a window of a new activity is
    right only if it is matched to its own description among all of them.
    """
    cross = cross_dataset_task(store, source, target, seed, val_fraction, common, per_label, frame)
    tgt = per_label_sample(labelled(load_spec(store, target, frame)), per_label, seed)
    eval_labels = tuple(sorted({str(x) for x in tgt.labels}))
    new = [label for label in eval_labels if label not in cross.train_labels]
    if not new:
        raise SplitError(f"{target} has no activity besides {list(cross.train_labels)}; nothing new to recognise")
    cross.protocol = "new"
    cross.test = tgt
    cross.eval_labels = eval_labels
    cross.info["new_labels"] = new
    return cross


def feature_divergence(windows: WindowSet, dims: int, ridge: float = 1e-3) -> Callable[[np.ndarray, np.ndarray], float]:
    """Symmetrised Gaussian KL between two masks' hand-crafted feature distributions (PCA to ``dims``)."""
    features, _ = feature_matrix(windows.signals, windows.rate_hz)
    (reduced,) = project([features], dims, standardize=True)

    def divergence(a: np.ndarray, b: np.ndarray) -> float:
        mu_a, cov_a = fit_gaussian(reduced[a], ridge)
        mu_b, cov_b = fit_gaussian(reduced[b], ridge)
        return 0.5 * (gaussian_kl(mu_a, cov_a, mu_b, cov_b) + gaussian_kl(mu_b, cov_b, mu_a, cov_a))

    return divergence


def complex_task(
    store: Store,
    dataset: str,
    seed: int,
    trials: int = 20,
    dims: int = 8,
    val_fraction: float = 0.2,
    per_label: int = 0,
    frame: str = "device",
) -> EvalTask:
    """Most divergent of ``trials`` half/half subject splits of ``dataset``, all its activities (paper 4.4)."""
    windows = per_label_sample(labelled(load_spec(store, dataset, frame)), per_label, seed)
    if len(windows) == 0:
        raise SplitError(f"dataset {dataset!r} has no labelled windows; ingest it first")
    split = max_divergence_split(windows.subjects, feature_divergence(windows, dims), n_trials=trials, seed=seed)
    half_a, half_b = windows.subset(split.train), windows.subset(split.test)
    train, val, info = _source_split(half_a, val_fraction, seed)
    trained = tuple(sorted({str(x) for x in train.labels}))
    test = half_b.subset(np.isin(half_b.labels.astype(str), trained))
    return EvalTask(
        protocol="complex",
        source=f"{dataset}[A]",
        target=f"{dataset}[B]",
        train=train,
        val=val,
        test=test,
        unlabeled=strip_labels(half_b),
        train_labels=trained,
        eval_labels=trained,
        info={**info, "half_a": list(split.train_subjects), "half_b": list(split.test_subjects), "seed": seed},
    )
