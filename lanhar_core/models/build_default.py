"""One reproducible build of the shipped default recognizer (``lanhar models build-default``).

From a folder of public datasets to ``lanhar_core/models/default/``, with nothing done by
hand in between:

1. ingest each dataset with its built-in reader (idempotent: unchanged data is skipped);
2. hold out ``holdout_fraction`` of each dataset's subjects (never trained on; the model
   card's accuracy and ``bench/bench_default.py`` use them);
3. draw at most ``windows_per_label`` windows per (dataset, activity) from the others and
   interpret them with the rule-based writer, and describe every vocabulary activity;
4. stage 1 (``train_text.fit_text_encoder``) and stage 2 (``train_sensor.train_sensor_encoder``),
   both recorded as ordinary runs in the store;
5. write the artifact (``lanhar_core.models.shipped``) with reference outputs, measure
   window-level accuracy on the held-out subjects, and write the model card.

Budgets (windows, epochs, text length) are arguments so that a test builds a model from the
built-in sample in seconds, while the real build uses the configured defaults.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from lanhar_core.config import Settings, with_overrides
from lanhar_core.data import registry
from lanhar_core.data.ingest import ingest_source, reader_source
from lanhar_core.data.types import WindowSet
from lanhar_core.errors import InsufficientDataError, ModelError, NotFoundError
from lanhar_core.eval.metrics import score
from lanhar_core.eval.protocols import labelled, load_spec, per_label_sample, split_spec
from lanhar_core.eval.splits import subject_split
from lanhar_core.eval.texts import load_texts
from lanhar_core.interpret import default_collection, interpret_labels, interpret_windows
from lanhar_core.jobs import Progress
from lanhar_core.llm.registry import make_backend
from lanhar_core.models import shipped
from lanhar_core.models.checkpoint import code_version
from lanhar_core.models.model_card import MEASUREMENTS_FILE, write_card
from lanhar_core.models.recognizer import Recognizer
from lanhar_core.models.text_encoder import TextEncoder
from lanhar_core.models.train_sensor import RECOGNIZER_ARTIFACT, train_sensor_encoder
from lanhar_core.models.train_text import ENCODER_ARTIFACT, Stage1Data, fit_text_encoder, stage1_data
from lanhar_core.vocab import BUILTIN_ACTIVITIES, category_of
from storage import runs as run_store
from storage.activities import activity_categories
from storage.db import Store

BACKEND = "rules"
"""The interpretation writer of the default model: offline, deterministic, free."""


@dataclass(frozen=True)
class BuildOptions:
    """What one build reads and how much it trains; ``from_settings`` fills in the configured defaults."""

    data_root: Path
    datasets: tuple[str, ...]
    out: Path
    windows_per_label: int
    holdout_fraction: float
    reference_windows: int
    seed: int
    text_overrides: dict[str, Any] = field(default_factory=dict)
    sensor_epochs: int | None = None

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> BuildOptions:
        """Options from ``[default_model]``; ``None`` values in ``overrides`` keep the setting."""
        dm = settings.default_model
        values: dict[str, Any] = {
            "data_root": Path(dm.data_root),
            "datasets": tuple(s.strip() for s in dm.datasets.split(",") if s.strip()),
            "out": shipped.SHIPPED_DIR,
            "windows_per_label": dm.windows_per_label,
            "holdout_fraction": dm.holdout_fraction,
            "reference_windows": dm.reference_windows,
            "seed": dm.seed,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


@dataclass
class DatasetPart:
    """One dataset's role in the build: who was trained on, who was held out."""

    spec: str
    name: str
    placement: str
    train_subjects: list[str]
    held_out_subjects: list[str]
    train_windows: int
    held_out: WindowSet

    def record(self, data_root: Path) -> dict[str, Any]:
        info = registry.info(self.name)
        return {
            "spec": self.spec,
            "name": self.name,
            "title": info.title,
            "placement": self.placement,
            "train_subjects": self.train_subjects,
            "held_out_subjects": self.held_out_subjects,
            "train_windows": self.train_windows,
            "licence": info.license,
            "attribution": info.attribution,
            "source_licence": source_licence(data_root / self.name),
        }


@dataclass
class BuildReport:
    """What a build did; ``meta`` is what went into ``recognizer.json``."""

    out: Path
    text_run_id: int
    sensor_run_id: int
    sizes: dict[str, int]
    held_out_accuracy: dict[str, dict[str, float]]
    text_delta_max_abs_diff: float
    reference_diffs: dict[str, float]
    wall_s: float
    meta: dict[str, Any]

    @property
    def total_bytes(self) -> int:
        return sum(self.sizes.values())


def source_licence(folder: Path) -> str:
    """The "Citation / license" section of a dataset's ``SOURCE.md`` (empty when there is none)."""
    path = folder / "SOURCE.md"
    if not path.exists():
        return ""
    match = re.search(r"^##\s*Citation\s*/\s*licen[cs]e[^\n]*$(.*?)(?=^##\s|\Z)", path.read_text(encoding="utf-8"),
                      re.IGNORECASE | re.MULTILINE | re.DOTALL)
    return " ".join(match.group(1).split()) if match else ""


def ingest_public(store: Store, settings: Settings, options: BuildOptions, progress: Progress) -> None:
    """Ingest every dataset of the build (unchanged ones are skipped by their content hash)."""
    for spec in options.datasets:
        name, placement = split_spec(spec)
        folder = options.data_root / name
        if not folder.exists():
            raise NotFoundError(
                f"dataset folder {folder} does not exist; pass --data-root (the folder holding {name}/) "
                f"or leave {spec} out with --datasets"
            )
        reader_options: dict[str, Any] = {}
        if placement and "placements" in inspect.signature(registry.get(name).read).parameters:
            reader_options["placements"] = [placement]
        progress.update(progress.done, None, f"ingesting {name}")
        ingest_source(store, settings, reader_source(name, folder, **reader_options), Progress(cancel_event=progress.cancel_event))


def split_dataset(store: Store, spec: str, options: BuildOptions, frame: str) -> tuple[DatasetPart, WindowSet]:
    """(the dataset's part of the build, its training sample) with whole subjects held out, in ``frame``'s axes."""
    name, placement = split_spec(spec)
    windows = labelled(load_spec(store, spec, frame))
    split = subject_split(windows.subjects, options.holdout_fraction, options.seed)
    sample = per_label_sample(windows.subset(split.train), options.windows_per_label, options.seed)
    part = DatasetPart(
        spec=spec, name=name, placement=placement or str(windows.placements[0]),
        train_subjects=list(split.train_subjects), held_out_subjects=list(split.test_subjects),
        train_windows=len(sample), held_out=windows.subset(split.test),
    )
    return part, sample


def _stage1_data(store: Store, samples: list[WindowSet], windows: dict[int, str], descriptions: dict[str, list[str]],
                 selection: dict[str, Any]) -> Stage1Data:
    used = sorted({str(lab) for ws in samples for w, lab in zip(ws.ids, ws.labels) if int(w) in windows})
    missing = [label for label in used if not descriptions.get(label)]
    if missing:
        raise InsufficientDataError(f"no valid description of {missing} was written; check `lanhar interpret list`")
    extra = activity_categories(store)
    categories = {label: category_of(label, extra) for label in descriptions}
    return stage1_data(WindowSet.concat(samples), windows, descriptions, categories, selection)


def held_out_accuracy(directory: Path, parts: list[DatasetPart], trained: list[str]) -> dict[str, dict[str, float]]:
    """Window-level accuracy and macro-F1 per dataset on its held-out subjects.

    Each dataset is scored among its own (trained) activities with the label vectors of its
    placement, as a user recognising such a recording would be offered them (calibration
    included); ``unknown`` is not allowed, so the numbers are the encoder's.
    """
    results = {}
    for part in parts:
        truth = part.held_out.labels.astype(str)
        labels = sorted(set(truth.tolist()) & set(trained))
        if not labels:
            continue
        windows = part.held_out.subset(np.isin(truth, labels))
        recognizer = Recognizer.load(directory)
        recognizer.use_placement(part.placement)
        for name in [n for n in recognizer.label_names if n not in labels]:
            recognizer.remove_label(name)
        predicted = recognizer.predict(windows.signals, allow_unknown=False).labels
        scores = score(windows.labels.astype(str), predicted.astype(str))
        results[part.spec] = {"windows": len(windows), "labels": len(labels), "accuracy": scores.accuracy,
                              "macro_f1": scores.macro_f1}
    return results


def _reference_windows(parts: list[DatasetPart], n: int, seed: int) -> np.ndarray:
    pool = np.concatenate([p.held_out.signals for p in parts])
    rows = np.sort(np.random.default_rng(seed).choice(len(pool), size=min(n, len(pool)), replace=False))
    return pool[rows]


def build_default(store: Store, settings: Settings, options: BuildOptions, progress: Progress | None = None) -> BuildReport:
    """Run the whole build (see the module docstring) and return what it measured."""
    progress = progress or Progress()
    started = time.monotonic()
    if options.sensor_epochs is not None:
        settings = with_overrides(settings, "sensor_encoder", epochs=options.sensor_epochs)
    ingest_public(store, settings, options, progress)
    parts, samples = zip(*(split_dataset(store, spec, options, settings.data.frame) for spec in options.datasets))
    backend = make_backend(settings, BACKEND)
    collection = default_collection(backend)
    for part, sample in zip(parts, samples):
        progress.update(progress.done, None, f"interpreting {len(sample)} windows of {part.name}")
        interpret_windows(store, settings, part.name, backend, collection, window_ids=[int(i) for i in sample.ids])
    interpret_labels(store, settings, backend, labels=[a.name for a in BUILTIN_ACTIVITIES], collection=collection)
    texts = load_texts(store, collection, [p.name for p in parts])
    selection = {"build": "default", "datasets": list(options.datasets), "collection": collection,
                 "held_out": {p.spec: p.held_out_subjects for p in parts}}
    data = _stage1_data(store, list(samples), texts.windows, texts.descriptions, selection)
    text_run = fit_text_encoder(store, settings, data, {**options.text_overrides, "seed": options.seed}, progress)
    sensor_run = train_sensor_encoder(store, settings, text_run.run_id, list(samples), collection, progress, seed=options.seed)
    sensor_dir = run_store.artifacts(store, sensor_run.run_id)[RECOGNIZER_ARTIFACT]
    recognizer = Recognizer.load(sensor_dir)
    text_encoder = TextEncoder.load(run_store.artifacts(store, text_run.run_id)[ENCODER_ARTIFACT])
    trained = sorted(data.descriptions)
    info: dict[str, Any] = {
        "trained_labels": trained,
        "datasets": [p.record(options.data_root) for p in parts],
        "runs": {"text": text_run.run_id, "sensor": sensor_run.run_id},
        "code_version": code_version(),
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "build_options": {**dataclasses.asdict(options), "data_root": str(options.data_root), "out": str(options.out),
                          "sensor_epochs": settings.sensor_encoder.epochs},
        "interpretations": collection,
    }
    reference_texts = [texts.descriptions[label][0] for label in trained[:3]]
    info["held_out_accuracy"] = held_out_accuracy(sensor_dir, list(parts), trained)
    (options.out / MEASUREMENTS_FILE).unlink(missing_ok=True)  # measured on the previous model, if any
    shipped.write_shipped(options.out, recognizer, text_encoder, info,
                                  _reference_windows(list(parts), options.reference_windows, options.seed), reference_texts)
    rebuilt = shipped.shipped_text_encoder(options.out).encode(reference_texts)
    delta_diff = float(np.abs(rebuilt - text_encoder.encode(reference_texts)).max())
    reference_diffs = shipped.check_reference(options.out)
    meta = shipped.load_meta(options.out)
    write_card(options.out, meta, {"text_delta_max_abs_diff": delta_diff})
    sizes = shipped.artifact_sizes(options.out)
    if sum(sizes.values()) > shipped.MAX_SIZE_BYTES:
        raise ModelError(
            f"the default recognizer in {options.out} is {sum(sizes.values()) / 2**20:.1f} MB, over the "
            f"{shipped.MAX_SIZE_BYTES / 2**20:.0f} MB budget; freeze more text-encoder layers (--freeze-layers)"
        )
    return BuildReport(options.out, text_run.run_id, sensor_run.run_id, sizes, info["held_out_accuracy"], delta_diff,
                       reference_diffs, time.monotonic() - started, meta)
