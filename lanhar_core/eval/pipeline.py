"""Our method end to end on one ``EvalTask``: texts, stage 1 (cached), stage 2, recognizer.

Stage 1 is the expensive part and depends only on the source side, so its run is keyed
by (training windows, their texts, the label descriptions, the stage-1 configuration and
seed) and reused by every target of that source: the key travels in the recorded run's
data selection (``storage/runs``) and a later benchmark finds the finished run there.

Stage 2 is ``stage2.fit_stage2``, the function users' training (``train_sensor_encoder``)
calls too, fed here from arrays rather than through the recorded run, because the
protocols need what that run does not offer: the exact source split (no further hold-out),
unlabeled target windows whose labels are already removed, and window texts that may
differ from the collection's current ones (the without-re-generation ablation).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lanhar_core.config import Settings
from lanhar_core.data.types import WindowSet
from lanhar_core.errors import InsufficientDataError, NotFoundError
from lanhar_core.eval.protocols import EvalTask, blind_sample, per_label_sample
from lanhar_core.jobs import Progress
from lanhar_core.llm.activity_profiles import select_descriptions
from lanhar_core.models import stage2
from lanhar_core.models.loading import load_text_encoder
from lanhar_core.models.recognizer import UNKNOWN, Recognizer, label_embedding
from lanhar_core.models.stage2 import (
    AlignmentData,
    EpochHook,
    LabelledValidation,
    common_frame,
    common_rate,
    unique_text_ids,
)
from lanhar_core.models.text_encoder import TextEncoder
from lanhar_core.models.text_path import text_embeddings
from lanhar_core.models.train_text import ENCODER_ARTIFACT, fit_text_encoder, stage1_data
from lanhar_core.placement import dominant_segment
from lanhar_core.vocab import category_of
from storage import runs as run_store
from storage.activities import activity_categories
from storage.db import Store

TEXT_VARIANT = "text"
VARIANTS = ("transductive", "inductive", TEXT_VARIANT)
"""transductive: stage 2 also aligns the target's unlabelled windows; inductive: source windows only;
text: the inductive recognizer reading each test window's interpretation (``models.text_path``)."""

STAGE1_DATA_VERSION = 2
"""Changes whenever what stage 1 is given changes (2: encoder views, vocabulary candidates, new-activity
validation), so that a cached run of an earlier version is not reused."""


@dataclass(frozen=True)
class TextSet:
    """Window texts by window id and label descriptions by label, from one collection."""

    collection: str
    windows: dict[int, str]
    descriptions: dict[str, list[str]]

    def digest(self, window_ids: Sequence[int], labels: Sequence[str]) -> str:
        """Hash of the texts a stage-1 run would read: changes whenever any of them changes."""
        h = hashlib.sha256()
        for w in sorted(int(i) for i in window_ids if int(i) in self.windows):
            h.update(f"{w}\x00{self.windows[w]}\x01".encode())
        for label in sorted(labels):
            h.update(f"{label}\x02{json.dumps(self.descriptions.get(label, []))}".encode())
        return h.hexdigest()[:16]


@dataclass(frozen=True)
class OursConfig:
    """One configuration of our method; ``train_text=False`` skips stage 1 (untrained encoder)."""

    variant: str = "transductive"
    text_overrides: dict[str, Any] = field(default_factory=dict)
    train_text: bool = True
    sensor_epochs: int = 30
    stage2_source_windows: int = 2000
    stage2_target_windows: int = 2000
    keep_best_epoch: bool = False

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class OursResult:
    """Predictions on the task's test windows, the recognizer that made them (for export checks), the run's log."""

    predictions: np.ndarray
    stage1_run_id: int | None
    info: dict[str, Any]
    recognizer: Recognizer


def _with_texts(windows: WindowSet, texts: dict[int, str]) -> WindowSet:
    return windows.subset(np.array([int(w) in texts for w in windows.ids], dtype=bool))


def stage1_key(task: EvalTask, train: WindowSet, texts: TextSet, cfg: dict[str, Any], seed: int,
               other: WindowSet | None = None) -> str:
    """Identifies a stage-1 run: same key, same training data, candidates and settings, same weights."""
    ids = [int(i) for i in train.ids] + ([] if other is None else [int(i) for i in other.ids])
    payload = json.dumps(
        {"texts": texts.digest(ids, sorted(texts.descriptions)), "cfg": cfg, "seed": seed, "labels": list(task.train_labels),
         "stage1": STAGE1_DATA_VERSION},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


def find_stage1_run(store: Store, key: str) -> int | None:
    """A finished stage-1 run recorded with ``key`` whose encoder is still on disk."""
    for run in run_store.list_runs(store, kind="text", limit=1000):
        if run.status == "finished" and run.data_selection.get("bench_key") == key:
            path = run_store.artifacts(store, run.id).get(ENCODER_ARTIFACT)
            if path is not None and path.exists():
                return run.id
    return None


def stage1_encoder(
    store: Store, settings: Settings, task: EvalTask, texts: TextSet, cfg: OursConfig, seed: int, progress: Progress
) -> tuple[TextEncoder, int | None]:
    """The fine-tuned encoder for the task's source side (trained once, then reused), or the untrained one."""
    if not cfg.train_text:
        return load_text_encoder(settings, store), None
    te_cfg = {**dataclasses.asdict(settings.text_encoder), **cfg.text_overrides, "seed": seed}
    train = _with_texts(source_sample(task, cfg, seed), texts.windows)
    other = _with_texts(task.source_other, texts.windows) if task.source_other is not None else None
    key = stage1_key(task, train, texts, te_cfg, seed, other)
    run_id = find_stage1_run(store, key)
    if run_id is None:
        if len(train) == 0:
            raise InsufficientDataError(
                f"no training window of {task.source} has an interpretation in {texts.collection!r}; interpret them first"
            )
        extra = activity_categories(store)
        descriptions = {label: d for label, d in texts.descriptions.items() if label in task.train_labels or d}
        data = stage1_data(train, texts.windows, descriptions, {label: category_of(label, extra) for label in descriptions},
                           {"bench_key": key, "source": task.source, "collection": texts.collection, "windows": len(train)},
                           other)
        result = fit_text_encoder(store, settings, data, {**cfg.text_overrides, "seed": seed}, progress)
        run_id = result.run_id
    return load_text_encoder(settings, store, run_id), run_id


def stage2_data(
    settings: Settings, encoder: TextEncoder, parts: Sequence[WindowSet], texts: TextSet, progress: Progress
) -> AlignmentData:
    """The windows stage 2 trains on with their own texts, embedded once (duplicates share an id)."""
    window_texts = [texts.windows[int(w)] for p in parts for w in p.ids]
    if len(window_texts) < 2:
        raise InsufficientDataError(f"stage 2 needs at least 2 windows with interpretations, got {len(window_texts)}")
    text_ids, unique = unique_text_ids(window_texts)
    embeddings = encoder.encode(unique, batch_size=settings.text_encoder.encode_batch_size, progress=progress)
    signals = np.concatenate([p.signals for p in parts]).astype(np.float32)
    return AlignmentData(signals, text_ids, embeddings, common_rate(parts), common_frame(parts))


def stage2_windows(task: EvalTask, texts: TextSet, cfg: OursConfig, seed: int) -> tuple[WindowSet, WindowSet | None]:
    """Source training windows (balanced cap) and, when transductive, unlabeled target windows (blind cap)."""
    source = _with_texts(source_sample(task, cfg, seed), texts.windows)
    if cfg.variant in ("inductive", TEXT_VARIANT):
        return source, None
    if cfg.variant != "transductive":
        raise ValueError(f"unknown stage-2 variant {cfg.variant!r}; use one of {VARIANTS}")
    target = _with_texts(unlabeled_sample(task, cfg, seed), texts.windows)
    return source, target


def source_sample(task: EvalTask, cfg: OursConfig, seed: int) -> WindowSet:
    """The source training windows ours uses (stage 1 and stage 2): at most the budget, balanced per label."""
    return per_label_sample(task.train, cfg.stage2_source_windows // max(1, len(task.train_labels)), seed)


def unlabeled_sample(task: EvalTask, cfg: OursConfig, seed: int) -> WindowSet:
    """The unlabeled target windows transductive stage 2 may use: drawn before anything else is looked at."""
    return blind_sample(task.unlabeled, cfg.stage2_target_windows, seed)


def labelled_set(windows: WindowSet, labels: Sequence[str], texts: TextSet, encoder: TextEncoder) -> LabelledValidation:
    """Labelled windows to score nearest-label recognition on, among ``labels`` embedded from their descriptions."""
    names = list(labels)
    segment = dominant_segment(windows.placements)
    vectors = np.stack([label_embedding(select_descriptions(texts.descriptions[n], segment), encoder) for n in names])
    return LabelledValidation(windows.signals, np.asarray(windows.labels, dtype=str), names, vectors)


def source_validation(task: EvalTask, texts: TextSet, encoder: TextEncoder) -> LabelledValidation | None:
    """The source's held-out subjects, scored among the training labels: what selects the stage-2 epoch."""
    return labelled_set(task.val, task.train_labels, texts, encoder) if len(task.val) else None


def run_ours(
    store: Store,
    settings: Settings,
    task: EvalTask,
    texts: TextSet,
    cfg: OursConfig,
    seed: int,
    progress: Progress | None = None,
    on_epoch: EpochHook | None = None,
    inductive: OursResult | None = None,
) -> OursResult:
    """Train ours on the task's source side and predict its test windows among ``task.eval_labels``.

    Labels beyond ``task.train_labels`` are added to the recognizer from their descriptions
    only (``Recognizer.add_label``), as a user adding a new activity would. The ``text``
    variant reads the test windows' interpretations with the inductive recognizer: the one in
    ``inductive`` (this task's and seed's inductive result) when given, else one trained here.
    """
    if cfg.variant == TEXT_VARIANT:
        return _run_text_path(store, settings, task, texts, cfg, seed, progress, on_epoch, inductive)
    progress = progress or Progress()
    missing = [label for label in task.eval_labels if not texts.descriptions.get(label)]
    if missing:
        raise NotFoundError(
            f"collection {texts.collection!r} has no description of {missing}; run `lanhar interpret labels` for them"
        )
    encoder, run_id = stage1_encoder(store, settings, task, texts, cfg, seed, progress)
    source, target = stage2_windows(task, texts, cfg, seed)
    parts = [source] + ([target] if target is not None else [])
    data = stage2_data(settings, encoder, parts, texts, progress)
    outcome = stage2.fit_stage2(data, settings, seed, cfg.sensor_epochs, target is None,
                         validation=source_validation(task, texts, encoder), keep_best_epoch=cfg.keep_best_epoch,
                         on_epoch=on_epoch, progress=progress)
    recognizer = outcome.recognizer
    for label in task.eval_labels:
        recognizer.add_label(label, texts.descriptions[label], encoder)
    if len(task.val):
        recognizer.calibrate(recognizer.embed(task.val.signals), task.val.labels, task.train_labels,
                             settings.sensor_encoder.new_label_steal_rate, dominant_segment(task.val.placements))
    recognizer.use_placement(dominant_segment(task.test.placements))
    answers = recognizer.predict(task.test.signals, allow_unknown=False)
    predicted = answers.labels
    with_unknown = recognizer.predict(task.test.signals, allow_unknown=True).labels
    info = {
        "stage1_run_id": run_id,
        "stage2_source_windows": len(source),
        "stage2_target_windows": 0 if target is None else len(target),
        "temperature": recognizer.temperature,
        "stage2_kept_epoch": outcome.kept_epoch,
        "unknown_rate": float(np.mean(with_unknown == UNKNOWN)),
        "label_bias": dict(zip(recognizer.label_names, (round(float(b), 4) for b in recognizer.label_bias))),
        "stage2_epochs": outcome.epochs,
    }
    return OursResult(np.asarray(predicted, dtype=object), run_id, info, recognizer)


def _window_texts(windows: WindowSet, texts: TextSet, what: str) -> list[str]:
    missing = [int(w) for w in windows.ids if int(w) not in texts.windows]
    if missing:
        raise InsufficientDataError(
            f"{len(missing)} {what} windows have no interpretation in {texts.collection!r} (first id {missing[0]}); "
            "the text variant reads every test window's text"
        )
    return [texts.windows[int(w)] for w in windows.ids]


def _run_text_path(
    store: Store, settings: Settings, task: EvalTask, texts: TextSet, cfg: OursConfig, seed: int,
    progress: Progress | None, on_epoch: EpochHook | None, inductive: OursResult | None,
) -> OursResult:
    if inductive is None:
        inductive = run_ours(store, settings, task, texts, dataclasses.replace(cfg, variant="inductive"), seed, progress, on_epoch)
    encoder, run_id = stage1_encoder(store, settings, task, texts, cfg, seed, progress or Progress())
    recognizer = inductive.recognizer
    if len(task.val):
        recognizer.calibrate_texts(text_embeddings(encoder, _window_texts(task.val, texts, "source validation")), task.val.labels)
    test = text_embeddings(encoder, _window_texts(task.test, texts, "test"))
    predicted = recognizer.predict_texts(test, allow_unknown=False).labels
    with_unknown = recognizer.predict_texts(test, allow_unknown=True).labels
    info = {**inductive.info, "unknown_rate": float(np.mean(with_unknown == UNKNOWN)),
            "label_bias": dict(zip(recognizer.label_names, (round(float(b), 4) for b in recognizer.text_label_bias)))}
    return OursResult(np.asarray(predicted, dtype=object), run_id, info, recognizer)
