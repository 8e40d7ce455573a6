"""Benchmarks: run every method of a protocol on the same tasks and store each result.

One benchmark = one row in ``benchmarks`` plus one ``eval_results`` row per (task, method,
variant, seed). Methods of one task share its split (``EvalTask``); the supervised
baselines get the equal tuning budget of ``eval.baselines.tune_and_fit`` (source
validation only), ours is not tuned at all on anything but its source side.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from lanhar_core.config import Settings, with_overrides
from lanhar_core.errors import ConfigError
from lanhar_core.eval.baselines import SUPERVISED_BASELINES, Classifier, tune_and_fit
from lanhar_core.eval.metrics import category_accuracy, score
from lanhar_core.eval.pipeline import (
    TEXT_VARIANT,
    VARIANTS,
    OursConfig,
    OursResult,
    TextSet,
    run_ours,
    source_sample,
    unlabeled_sample,
)
from lanhar_core.eval.protocols import EvalTask, blind_rows, complex_task, cross_dataset_task, new_activity_task
from lanhar_core.eval.texts import before_regeneration, ensure_texts, eval_collection, load_texts
from lanhar_core.eval.zeroshot import scored_rows, zero_shot_predict
from lanhar_core.jobs import Progress, run_lifecycle
from lanhar_core.llm.activity_profiles import select_descriptions
from lanhar_core.models.checkpoint import code_version
from lanhar_core.models.loading import load_text_encoder
from lanhar_core.placement import dominant_segment
from lanhar_core.vocab import BUILTIN_ACTIVITIES, COMMON_ACTIVITIES
from storage import results as result_store
from storage.activities import activity_categories
from storage.db import Store

OURS = "lanhar"
ZERO_SHOT = "zeroshot"
REAL_DATASETS: tuple[str, ...] = ("hapt", "motionsense", "uschad", "dsads@torso")
"""The issue's four datasets; DSADS contributes its torso unit only (one placement per dataset)."""
QUICK_PAIR: tuple[str, str] = ("sample_hapt", "sample_motionsense")
ABLATIONS: tuple[str, ...] = ("full", "no_subtasks", "untrained_text", "no_regeneration", "simple_prompt")


@dataclass
class BenchOptions:
    """What a benchmark runs; ``quick`` swaps in the ``eval.quick_*`` budgets."""

    seeds: int
    variants: tuple[str, ...] = VARIANTS
    baselines: tuple[str, ...] = ()
    collection: str | None = None
    quick: bool = False


def quick_settings(settings: Settings) -> Settings:
    """Settings with the ``--quick`` stage-1 budgets (short texts, one short epoch)."""
    ev = settings.eval
    return with_overrides(
        settings, "text_encoder", epochs=ev.quick_text_epochs, per_class=ev.quick_text_per_class,
        max_length=ev.quick_text_max_length, val_per_class=ev.quick_text_per_class,
    )


def default_options(settings: Settings, seeds: int | None, quick: bool, collection: str | None = None,
                    variants: Sequence[str] = VARIANTS) -> BenchOptions:
    """Options from the ``eval`` settings, with the CLI's choices on top."""
    baselines = tuple(b.strip() for b in settings.eval.baselines.split(",") if b.strip())
    unknown = sorted(set(baselines) - {*SUPERVISED_BASELINES, ZERO_SHOT})
    if unknown:
        raise ConfigError(f"eval.baselines names unknown methods {unknown}; known: {[*SUPERVISED_BASELINES, ZERO_SHOT]}")
    bad = sorted(set(variants) - set(VARIANTS))
    if bad:
        raise ConfigError(f"unknown stage-2 variant(s) {bad}; use {' or '.join(VARIANTS)}")
    if not variants and not baselines:
        raise ConfigError("nothing to run: no variant of ours (--variant none) and no baseline in eval.baselines "
                          "(set it, e.g. LANHAR_EVAL_BASELINES=dcnn,transformer)")
    n = 1 if quick and seeds is None else (seeds or settings.eval.seeds)
    if n < 1:
        raise ConfigError(f"--seeds must be at least 1, got {n}")
    return BenchOptions(seeds=n, variants=tuple(variants), baselines=baselines, collection=collection, quick=quick)


def ours_config(settings: Settings, options: BenchOptions, variant: str, **changes: Any) -> OursConfig:
    ev = settings.eval
    if options.quick:
        cap = ev.quick_windows_per_label * len(COMMON_ACTIVITIES)
        base = OursConfig(variant=variant, sensor_epochs=ev.quick_sensor_epochs, stage2_source_windows=cap,
                          stage2_target_windows=cap, keep_best_epoch=settings.sensor_encoder.keep_best_epoch)
    else:
        base = OursConfig(variant=variant, sensor_epochs=ev.sensor_epochs or settings.sensor_encoder.epochs,
                          stage2_source_windows=ev.stage2_source_windows, stage2_target_windows=ev.stage2_target_windows,
                          keep_best_epoch=settings.sensor_encoder.keep_best_epoch)
    return dataclasses.replace(base, **changes)


def task_metrics(task: EvalTask, truth: np.ndarray, predicted: np.ndarray, extra_categories: dict[str, str]) -> dict[str, Any]:
    """Scores over the task's labels, category accuracy and, with new labels, accuracy on their windows."""
    truth = np.asarray([str(t) for t in truth], dtype=object)
    predicted = np.asarray([str(p) for p in predicted], dtype=object)
    metrics: dict[str, Any] = score(truth, predicted, task.eval_labels).as_dict()
    try:
        metrics["category_accuracy"] = category_accuracy(truth, predicted, extra_categories)
    except ValueError:
        metrics["category_accuracy"] = None
    if task.new_labels:
        new = np.isin(truth, list(task.new_labels))
        metrics["new_accuracy"] = float(np.mean(truth[new] == predicted[new])) if new.any() else None
        metrics["new_n"] = int(new.sum())
        metrics["common_accuracy"] = float(np.mean(truth[~new] == predicted[~new])) if (~new).any() else None
    return metrics


class Bench:
    """One benchmark in progress: its store rows, progress and the methods it runs per task."""

    def __init__(self, store: Store, settings: Settings, protocol: str, options: BenchOptions,
                 params: dict[str, Any], progress: Progress) -> None:
        self.store = store
        self.settings = quick_settings(settings) if options.quick else settings
        self.options = options
        self.progress = progress
        self.protocol = protocol
        self.code_version = code_version()
        self.extra_categories = activity_categories(store)
        self._fitted: dict[tuple[str, int, str], tuple[Classifier, dict[str, Any]]] = {}
        self._inductive: tuple[EvalTask, OursConfig, OursResult] | None = None
        """The last inductive run (task, its config, result): the text variant reads windows with its recognizer."""
        self.benchmark_id = result_store.create_benchmark(
            store, protocol, {**params, "options": dataclasses.asdict(options)}, self.code_version
        )

    def child(self, label: str) -> Progress:
        """A progress for one stage: its messages show on the benchmark's bar, cancel is shared."""
        parent = self.progress

        def forward(done: int, total: int | None, message: str) -> None:
            parent.update(parent.done, None, f"{label}: {message}" if message else label)

        return Progress(forward, parent.cancel_event)

    def record(self, task: EvalTask, method: str, variant: str, seed: int, metrics: dict[str, Any],
               config: dict[str, Any], started: float) -> None:
        result = result_store.ResultIn(
            protocol=self.protocol, source=task.source, target=task.target, method=method, variant=variant,
            seed=seed, metrics=metrics, config={**config, "task": task.info}, wall_s=time.monotonic() - started,
        )
        result_store.add_result(self.store, self.benchmark_id, result, self.code_version)
        self.progress.advance(1, f"{task.source}->{task.target} {method}/{variant} seed {seed}")

    def texts_for(self, task: EvalTask, collection: str, seed: int, prompt_variant: str = "full") -> TextSet:
        """Texts of the windows some method will read: the capped stage-2 samples and the zero-shot sample.

        Ours predicts from signals alone, so test windows need a text only for the zero-shot baseline.
        """
        cfg = ours_config(self.settings, self.options, "transductive")
        wanted = [source_sample(task, cfg, seed), unlabeled_sample(task, cfg, seed)] if self.options.variants else []
        if self.options.variants and task.source_other is not None:
            wanted.append(task.source_other)
        if TEXT_VARIANT in self.options.variants:
            wanted += [task.test, task.val]
        if ZERO_SHOT in self.options.baselines:
            limit = self.settings.eval.zeroshot_windows
            wanted.append(task.test if limit <= 0 else task.test.subset(blind_rows(len(task.test), limit, seed)))
        vocabulary = sorted({*task.eval_labels, *(a.name for a in BUILTIN_ACTIVITIES)})
        ensure_texts(self.store, self.settings, collection, wanted, vocabulary, prompt_variant,
                     self.child("interpretations"))
        datasets = {str(d) for ws in (task.train, task.test, task.unlabeled) for d in np.unique(ws.datasets)}
        return load_texts(self.store, collection, sorted(datasets))

    def run_ours(self, task: EvalTask, texts: TextSet, cfg: OursConfig, variant: str, seed: int, note: str = "") -> None:
        started = time.monotonic()
        previous = self._inductive
        reuse = previous[2] if previous and previous[0] is task and previous[1] == dataclasses.replace(cfg, variant="inductive") else None
        result = run_ours(self.store, self.settings, task, texts, cfg, seed, self.child(f"{OURS}/{variant}"), inductive=reuse)
        if cfg.variant == "inductive":
            self._inductive = (task, cfg, result)
        metrics = {**task_metrics(task, task.test.labels, result.predictions, self.extra_categories), **result.info}
        config = {"ours": cfg.as_dict(), "collection": texts.collection} | ({"note": note} if note else {})
        self.record(task, OURS, variant, seed, metrics, config, started)

    def fitted_baseline(self, task: EvalTask, name: str, seed: int) -> tuple[Classifier, dict[str, Any]]:
        """The tuned baseline for the task's source side: fitted once per benchmark, reused by every target.

        Its log says whether it was reused, so a stored result's wall time is read correctly.
        """
        key = (name, seed, task.source_key())
        if key in self._fitted:
            model, log = self._fitted[key]
            return model, {**log, "fit_reused": True}
        started = time.monotonic()
        model, log = tune_and_fit(
            name, (task.train.signals, task.train.labels.astype(str)), (task.val.signals, task.val.labels.astype(str)),
            task.train.rate_hz, seed, quick=self.options.quick, labels=task.train_labels, runtime=self.settings.runtime,
        )
        self._fitted[key] = (model, {**log, "fit_s": time.monotonic() - started, "fit_task": f"{task.source}->{task.target}"})
        return model, {**self._fitted[key][1], "fit_reused": False}

    def run_supervised(self, task: EvalTask, name: str, seed: int) -> None:
        started = time.monotonic()
        model, log = self.fitted_baseline(task, name, seed)
        predicted = model.predict(task.test.signals)
        self.record(task, name, "supervised", seed, task_metrics(task, task.test.labels, predicted, self.extra_categories),
                    log, started)

    def run_zero_shot(self, task: EvalTask, texts: TextSet, seed: int) -> None:
        started = time.monotonic()
        rows = scored_rows(task, texts, self.settings.eval.zeroshot_windows, seed)
        encoder = load_text_encoder(self.settings, self.store)
        predicted = zero_shot_predict(
            encoder, [texts.windows[int(task.test.ids[r])] for r in rows],
            {label: select_descriptions(d, dominant_segment(task.test.placements)) for label, d in texts.descriptions.items()},
            task.eval_labels,
            self.settings.text_encoder.encode_batch_size, self.child(ZERO_SHOT),
        )
        metrics = task_metrics(task, task.test.labels[rows], predicted, self.extra_categories)
        metrics["scored_share"] = float(len(rows) / max(1, len(task.test)))
        self.record(task, ZERO_SHOT, "pretrained", seed, metrics,
                    {"encoder": encoder.version, "collection": texts.collection}, started)

    def run_baselines(self, task: EvalTask, texts: TextSet, seed: int, supervised: bool = True) -> None:
        for name in self.options.baselines:
            self.progress.check_cancelled()
            if name == ZERO_SHOT:
                self.run_zero_shot(task, texts, seed)
            elif supervised:
                self.run_supervised(task, name, seed)


@contextmanager
def benchmark(store: Store, settings: Settings, protocol: str, options: BenchOptions, params: dict[str, Any],
              progress: Progress | None, total: int) -> Iterator[Bench]:
    """A ``Bench`` whose row is closed as finished, interrupted or failed however the block ends."""
    progress = progress or Progress()
    bench = Bench(store, settings, protocol, options, params, progress)
    progress.update(0, total, bench.benchmark_id)
    started = time.monotonic()

    def finish(status: str, error: str | None) -> None:
        result_store.finish_benchmark(store, bench.benchmark_id, status, time.monotonic() - started, error)

    with run_lifecycle(finish):
        yield bench


def _methods_per_task(options: BenchOptions, supervised: bool = True) -> int:
    n_baselines = sum(1 for b in options.baselines if b == ZERO_SHOT or supervised)
    return len(options.variants) + n_baselines


def _per_label(settings: Settings, options: BenchOptions) -> int:
    return settings.eval.quick_windows_per_label if options.quick else 0


def run_pairs(
    store: Store,
    settings: Settings,
    protocol: str,
    pairs: Sequence[tuple[str, str]],
    options: BenchOptions,
    progress: Progress | None = None,
) -> str:
    """The cross-dataset (``protocol='cross'``) or new-activity (``'new'``) benchmark over ``pairs``."""
    if protocol not in ("cross", "new"):
        raise ConfigError(f"run_pairs runs the 'cross' or 'new' protocol, not {protocol!r}")
    make: Callable[..., EvalTask] = cross_dataset_task if protocol == "cross" else new_activity_task
    supervised = protocol == "cross"
    total = len(pairs) * options.seeds * _methods_per_task(options, supervised)
    params = {"pairs": [list(p) for p in pairs]}
    with benchmark(store, settings, protocol, options, params, progress, total) as bench:
        collection = eval_collection(bench.settings, options.collection)
        for seed in range(options.seeds):
            for source, target in pairs:
                task = make(store, source, target, seed, bench.settings.eval.val_fraction, COMMON_ACTIVITIES,
                            _per_label(bench.settings, options), bench.settings.data.frame)
                texts = bench.texts_for(task, collection, seed)
                for variant in options.variants:
                    bench.run_ours(task, texts, ours_config(bench.settings, options, variant), variant, seed)
                bench.run_baselines(task, texts, seed, supervised)
        return bench.benchmark_id


def run_complex(store: Store, settings: Settings, dataset: str, options: BenchOptions,
                progress: Progress | None = None) -> str:
    """Complex activities (paper 4.4): most divergent subject halves of ``dataset``, all its activities."""
    total = options.seeds * _methods_per_task(options)
    with benchmark(store, settings, "complex", options, {"dataset": dataset}, progress, total) as bench:
        ev = bench.settings.eval
        collection = eval_collection(bench.settings, options.collection)
        for seed in range(options.seeds):
            task = complex_task(store, dataset, seed, ev.complex_trials, ev.complex_kl_dims, ev.val_fraction,
                                _per_label(bench.settings, options), bench.settings.data.frame)
            texts = bench.texts_for(task, collection, seed)
            for variant in options.variants:
                bench.run_ours(task, texts, ours_config(bench.settings, options, variant), variant, seed)
            bench.run_baselines(task, texts, seed)
        return bench.benchmark_id


RULES_VARIANT_NOTE = (
    "rules backend: the simple variant quotes each point's numbers without the knowledge-guided "
    "conclusions, its analogue of the paper's prompt without knowledge (an LLM backend measures the prompt itself)"
)


ABLATION_PROTOCOLS: dict[str, str] = {"cross": "ablation", "new": "ablation_new"}
"""Task protocol an ablation runs on -> the benchmark's protocol name (its tables follow the task's)."""


def check_ablations(names: Sequence[str]) -> tuple[str, ...]:
    """The named ablations in their canonical order; refuses unknown names and an empty choice."""
    unknown = sorted(set(names) - set(ABLATIONS))
    if unknown:
        raise ConfigError(f"unknown ablation(s) {unknown}; choose among {', '.join(ABLATIONS)}")
    if not names:
        raise ConfigError(f"no ablation chosen; choose among {', '.join(ABLATIONS)}")
    return tuple(a for a in ABLATIONS if a in names)


def run_ablation(store: Store, settings: Settings, pairs: Sequence[tuple[str, str]], options: BenchOptions,
                 progress: Progress | None = None, on: str = "cross", ablations: Sequence[str] = ABLATIONS) -> str:
    """Ours with one part removed at a time (paper 4.6), transductive, on the cross-dataset or new-activity tasks."""
    if on not in ABLATION_PROTOCOLS:
        raise ConfigError(f"ablations run on the {' or '.join(ABLATION_PROTOCOLS)} protocol, not {on!r}")
    chosen = check_ablations(ablations)
    make: Callable[..., EvalTask] = cross_dataset_task if on == "cross" else new_activity_task
    total = len(pairs) * options.seeds * len(chosen)
    params = {"pairs": [list(p) for p in pairs], "on": on, "ablations": list(chosen)}
    with benchmark(store, settings, ABLATION_PROTOCOLS[on], options, params, progress, total) as bench:
        collection = eval_collection(bench.settings, options.collection)
        for seed in range(options.seeds):
            for source, target in pairs:
                task = make(store, source, target, seed, bench.settings.eval.val_fraction,
                            COMMON_ACTIVITIES, _per_label(bench.settings, options), bench.settings.data.frame)
                texts = bench.texts_for(task, collection, seed)
                _ablate(bench, task, texts, options, seed, chosen)
        return bench.benchmark_id


def _not_run(bench: Bench, task: EvalTask, variant: str, seed: int, reason: str) -> None:
    bench.record(task, OURS, variant, seed, {"not_run": reason}, {}, time.monotonic())


def _ablate(bench: Bench, task: EvalTask, texts: TextSet, options: BenchOptions, seed: int,
            chosen: Sequence[str]) -> None:
    base = ours_config(bench.settings, options, "transductive")
    if "full" in chosen:
        bench.run_ours(task, texts, base, "full", seed)
    if "no_subtasks" in chosen:
        no_subtasks = dataclasses.replace(base, text_overrides={"category": False, "multidesc": False, "recon": False})
        bench.run_ours(task, texts, no_subtasks, "no_subtasks", seed)
    if "untrained_text" in chosen:
        bench.run_ours(task, texts, dataclasses.replace(base, train_text=False), "untrained_text", seed)
    if "no_regeneration" in chosen:
        before = before_regeneration(bench.store, texts)
        if before is None:
            _not_run(bench, task, "no_regeneration", seed,
                     f"collection {texts.collection!r} has no finished re-generation run (`lanhar quality regenerate`)")
        else:
            bench.run_ours(task, before[0], base, "no_regeneration", seed)
    if "simple_prompt" not in chosen:
        return
    if options.collection:
        _not_run(bench, task, "simple_prompt", seed,
                 "a named --collection has no simple-prompt counterpart to compare with; run without --collection")
        return
    simple = eval_collection(bench.settings, None, "simple")
    simple_texts = bench.texts_for(task, simple, seed, "simple")
    note = RULES_VARIANT_NOTE if bench.settings.eval.backend == "rules" else ""
    bench.run_ours(task, simple_texts, base, "simple_prompt", seed, note)
