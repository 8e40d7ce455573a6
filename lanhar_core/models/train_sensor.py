"""Stage 2 as a recorded, resumable training run (paper 3.5.2 and 3.6 (ii)).

``train_sensor_encoder`` aligns a sensor encoder with the *frozen* text embeddings of each
window's own interpretation. It never reads activity labels for training: windows come
with ids and signals, interpretations are looked up by window id, and the source's
held-out split only feeds metrics (and, with ``keep_best_epoch``, which epoch is kept).
The training itself is ``stage2.fit_stage2``, the same function the benchmark calls; this
module adds the store around it: interpretation texts, the recorded run, the artifact.
Target windows, when given, join training unlabeled
(transductive, as in the paper); training on the source alone is the default.

Every epoch is written to the run (losses, validation metrics, wall time) and to a
checkpoint; ``resume_run_id`` continues an interrupted run from its last checkpoint (pass
the same data arguments), and because shuffling/augmentation are seeded per epoch the result
equals an uninterrupted run. The finished run's artifact ``recognizer`` is a saved
``Recognizer`` (encoder + label vectors built from the collection's label descriptions)
under ``models_dir/sensor-<run id>/recognizer``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lanhar_core.config import Settings
from lanhar_core.data.types import WindowSet
from lanhar_core.errors import InsufficientDataError
from lanhar_core.jobs import Progress
from lanhar_core.models import stage2
from lanhar_core.models.checkpoint import CHECKPOINT_FILE
from lanhar_core.models.recognizer import TextEmbedder, label_embedding, unit_rows
from lanhar_core.models.sensor_encoder import SensorEncoder, count_parameters, preset_config
from lanhar_core.models.stage2 import (
    AlignmentData,
    AugmentOptions,
    LabelledValidation,
    common_frame,
    common_rate,
    unique_text_ids,
)
from lanhar_core.placement import dominant_segment
from lanhar_core.signal.segment_frame import to_segment_frame
from lanhar_core.tracking import RunResult, RunTracker
from lanhar_core.vocab import COMMON_ACTIVITIES, builtin_by_name
from storage import runs
from storage.db import Store
from storage.interpretations import current_label_interpretations, current_window_interpretations

KIND = "sensor"
RECOGNIZER_ARTIFACT = "recognizer"


@dataclass
class Stage2Data:
    """Training and validation windows with their interpretation texts (labels only for metrics)."""

    train: AlignmentData
    val: AlignmentData
    val_labels: np.ndarray
    selection: dict[str, Any]


def _load(store: Store, source: str | WindowSet, frame: str) -> WindowSet:
    """A dataset's windows (or the given ones) in the axes stage 2 trains in (``data.frame``)."""
    if not isinstance(source, WindowSet):
        from storage.datasets import load_windows

        source = load_windows(store, dataset=source)
    return to_segment_frame(source)[0] if frame == "segment" else source


def _texts_by_window(store: Store, collection: str, datasets: set[str]) -> dict[int, str]:
    """Current, valid, non-rejected interpretation text per window id (the label column is not read)."""
    texts: dict[int, str] = {}
    for dataset in sorted(datasets):
        frame = current_window_interpretations(store, collection, dataset)
        usable = frame[frame["valid"].astype(bool) & (frame["review_status"] != "rejected")]
        texts.update(zip(usable["window_id"].astype(int), usable["text"].astype(str)))
    return texts


def _split_groups(groups: np.ndarray, val_fraction: float, seed: int) -> np.ndarray:
    """Boolean validation mask holding out whole recordings (overlapping windows never straddle the split)."""
    unique = np.unique(groups)
    if len(unique) < 2:
        raise InsufficientDataError(
            "the source has a single recording, so no recording can be held out for validation; "
            "add recordings or another source dataset"
        )
    rng = np.random.default_rng(seed)
    n_val = min(len(unique) - 1, max(1, round(len(unique) * val_fraction)))
    val_groups = rng.choice(unique, size=n_val, replace=False)
    return np.isin(groups, val_groups)


def prepare_stage2_data(
    store: Store,
    collection: str,
    sources: Sequence[str | WindowSet],
    targets: Sequence[str | WindowSet],
    text_encoder: TextEmbedder,
    val_fraction: float,
    seed: int,
    frame: str = "device",
) -> Stage2Data:
    """Windows with interpretations, source split by recording, texts embedded once (deduplicated)."""
    source_sets = [_load(store, s, frame) for s in sources]
    target_sets = [_load(store, t, frame) for t in targets]
    all_sets = source_sets + target_sets
    datasets = {str(d) for ws in all_sets for d in np.unique(ws.datasets)}
    texts = _texts_by_window(store, collection, datasets)
    signals: list[np.ndarray] = []
    text_list: list[str] = []
    is_val: list[np.ndarray] = []
    val_labels: list[np.ndarray] = []
    counts: dict[str, int] = {}
    for i, ws in enumerate(all_sets):
        keep = np.array([int(w) in texts for w in ws.ids], dtype=bool)
        ws = ws.subset(keep)
        counts[f"windows_{'source' if i < len(source_sets) else 'target'}_{i}"] = len(ws)
        if len(ws) == 0:
            continue
        groups = np.array([f"{d}/{r}" for d, r in zip(ws.datasets, ws.recording_ids)], dtype=object)
        val = _split_groups(groups, val_fraction, seed) if i < len(source_sets) else np.zeros(len(ws), dtype=bool)
        signals.append(ws.signals)
        text_list.extend(texts[int(w)] for w in ws.ids)
        is_val.append(val)
        val_labels.append(ws.labels[val])
    if not signals:
        raise InsufficientDataError(
            f"no window of {', '.join(sorted(datasets))} has an interpretation in collection {collection!r}; "
            "run `lanhar interpret` first or choose another collection"
        )
    all_signals = np.concatenate(signals).astype(np.float32)
    mask = np.concatenate(is_val)
    ids, unique = unique_text_ids(text_list)
    embeddings = np.asarray(text_encoder.encode(unique), dtype=np.float32)
    data = AlignmentData(all_signals, ids, embeddings, common_rate(all_sets), common_frame(all_sets))
    selection = {
        "collection": collection,
        "sources": [s if isinstance(s, str) else "WindowSet" for s in sources],
        "targets": [t if isinstance(t, str) else "WindowSet" for t in targets],
        "distinct_texts": len(unique),
        "train_windows": int((~mask).sum()),
        "val_windows": int(mask.sum()),
        "segment": dominant_segment(p for ws in source_sets for p in ws.placements),
        **counts,
    }
    return Stage2Data(data.subset(np.flatnonzero(~mask)), data.subset(np.flatnonzero(mask)), np.concatenate(val_labels), selection)


def label_vectors(store: Store, collection: str, text_encoder: TextEmbedder) -> dict[str, tuple[np.ndarray, list[str]]]:
    """Label -> (vector, descriptions) from the collection's label descriptions.

    Without any label description in the collection, the common activities are described
    by their display names ("walking upstairs"), so a fresh model still has a label set.
    """
    frame = current_label_interpretations(store, collection)
    frame = frame[frame["valid"].astype(bool) & (frame["review_status"] != "rejected")] if len(frame) else frame
    groups: dict[str, list[str]] = {}
    for label, text in zip(frame.get("label", []), frame.get("text", [])):
        groups.setdefault(str(label), []).append(str(text))
    if not groups:
        known = builtin_by_name()
        groups = {name: [known[name].display] for name in COMMON_ACTIVITIES}
    return {name: (label_embedding(texts, text_encoder), texts) for name, texts in groups.items()}


def _resolve_text_encoder(
    store: Store, settings: Settings, text: int | TextEmbedder | None
) -> tuple[TextEmbedder, int | None, str]:
    """(encoder, parent run id, reference saved with the recognizer for adding labels later).

    Encoders come through ``load_text_encoder`` so they share the store's embedding cache:
    the interpretations stage 1 (or an earlier stage 2) embedded are not encoded again.
    """
    from lanhar_core.models.loading import load_text_encoder

    if text is None:
        parent = runs.latest_run(store, "text")
        text = parent.id if parent else None
    if text is None or isinstance(text, int):
        encoder = load_text_encoder(settings, store, text)
        reference = str(runs.artifacts(store, text)["text_encoder"]) if text is not None else settings.text_encoder.path
        return encoder, text, reference
    return text, None, str(getattr(text, "source_path", ""))


def train_sensor_encoder(
    store: Store,
    settings: Settings,
    text_encoder: int | TextEmbedder | None,
    datasets: Sequence[str | WindowSet],
    collection: str,
    progress: Progress | None = None,
    resume_run_id: int | None = None,
    seed: int = 0,
    target_datasets: Sequence[str | WindowSet] = (),
) -> RunResult:
    """Train (or resume) a stage-2 run; see the module docstring.

    ``text_encoder``: a stage-1 run id, an encoder object (anything with ``encode``), or
    ``None`` for the newest finished stage-1 run (else the configured pre-trained encoder).
    ``datasets``: source dataset names or ``WindowSet``s (e.g. a protocol's training split);
    ``target_datasets``: unlabeled windows added to training only. Raises ``CancelledError``
    (the run is then ``interrupted`` and resumable) when ``progress`` is cancelled.
    """
    progress = progress or Progress()
    if resume_run_id is not None:
        seed = runs.get_run(store, resume_run_id).seed
    cfg = settings.sensor_encoder
    encoder_text, parent_id, text_ref = _resolve_text_encoder(store, settings, text_encoder)
    data = prepare_stage2_data(store, collection, datasets, target_datasets, encoder_text, cfg.val_fraction, seed,
                               settings.data.frame)
    embed_dim = int(data.train.text_embeddings.shape[1])
    labels = label_vectors(store, collection, encoder_text)
    names = list(labels)
    label_matrix = np.stack([labels[n][0] for n in names]) if names else np.zeros((0, embed_dim), np.float32)
    validation = LabelledValidation(data.val.signals, data.val_labels, names, label_matrix)
    source_only = not target_datasets
    config = {
        "sensor_encoder": dataclasses.asdict(cfg),
        "augmentation": dataclasses.asdict(AugmentOptions.from_settings(cfg, source_only, data.train.frame)),
        "data": dataclasses.asdict(settings.data),
        "windows": {"rate_hz": data.train.rate_hz, "window_samples": data.train.window_samples},
        "encoder": preset_config(cfg.preset, embed_dim, data.train.window_samples, input_frame=cfg.input_frame).to_dict(),
    }
    with RunTracker(store, KIND, config, seed, data.selection, parent_id, resume_run_id) as run:
        run_dir = settings.models_dir / f"{KIND}-{run.run_id}"
        checkpoint = run_dir / CHECKPOINT_FILE
        batches = -(-len(data.train) // cfg.batch_size)

        def record(epoch: int, model: SensorEncoder, entry: dict[str, float]) -> None:
            metrics = {k: v for k, v in entry.items() if k not in ("epoch", "loss")}
            run.record_epoch(epoch, epoch * batches, {"align": entry["loss"]}, metrics)

        fit = stage2.fit_stage2(
            data.train, settings, seed, cfg.epochs, source_only, held_out=data.val, validation=validation,
            keep_best_epoch=cfg.keep_best_epoch, checkpoint=checkpoint, resume=resume_run_id is not None,
            on_epoch=record, progress=progress, text_encoder_ref=text_ref,
        )
        recognizer = fit.recognizer
        for name in names:
            recognizer.add_label(name, labels[name][1], encoder_text)
        segment = data.selection["segment"]
        recognizer.calibrate(recognizer.embed(data.val.signals), data.val_labels, sorted({str(x) for x in data.val_labels}),
                             cfg.new_label_steal_rate, segment)
        recognizer.calibrate_texts(unit_rows(data.val.text_embeddings[data.val.text_ids]), data.val_labels)
        recognizer.use_placement(segment)
        run.add_artifact(RECOGNIZER_ARTIFACT, recognizer.save(run_dir / RECOGNIZER_ARTIFACT))
        run.summary = {
            "labels": names, "temperature": recognizer.temperature, "parameters": count_parameters(recognizer.encoder),
            "kept_epoch": fit.kept_epoch,
        }
    checkpoint.unlink(missing_ok=True)
    return run.result()
