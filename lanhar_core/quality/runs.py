"""Quality runs bound to the store: flag, fact-check, re-generate, relative KL.

The algorithms live in ``outliers``, ``factcheck``, ``regenerate`` and ``kl`` and know
nothing of the store; this module feeds them the current interpretations of a collection,
the windows' feature records, a backend and an embedding function, and writes every run
to ``storage.quality`` (a run row first, so a crashed run still shows how far it got).

What is clustered: the *valid* current window interpretations of one collection and
dataset, grouped by the window's activity (unlabeled windows form one group). Invalid
replies are left to the interpretation step's own retries. Versions a reviewer accepted
(or edited) shape the clusters but are never flagged or replaced.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from lanhar_core.config import Settings
from lanhar_core.data.types import WindowSet
from lanhar_core.errors import BackendError, ConfigError, InsufficientDataError, NotFoundError
from lanhar_core.interpret import collection_frame, dataset_candidates, windows_as_written
from lanhar_core.jobs import Progress, run_lifecycle
from lanhar_core.llm.base import Backend, Generation, GenerationContext, PromptSpec
from lanhar_core.llm.registry import prepare_hook
from lanhar_core.llm.validation import parse_window_reply
from lanhar_core.prompts import revision_prompt, window_prompt
from lanhar_core.quality import factcheck, kl
from lanhar_core.quality.outliers import OutlierParams, flag_outliers, mean_intra_distance
from lanhar_core.quality.regenerate import Embed, ItemState, Iteration, RegenerationParams, RegenerationResult, regenerate
from lanhar_core.signal.features import FEATURE_KEYS, window_feature_arrays, window_features_batch
from lanhar_core.vocab import COMMON_ACTIVITIES
from storage import interpretations as store_it
from storage import quality as store_q
from storage.datasets import load_windows
from storage.db import Store

REPRESENTATIONS = ("raw", "features", "text", "sensor")
_CHUNK = 2000


def default_embed(store: Store, settings: Settings, progress: Progress | None = None) -> Embed:
    """The configured text encoder (pre-trained MiniLM by default) through the store's embedding cache.

    Encodes in ``encode_batch_size`` batches and reports each batch to ``progress``, so a
    flagging job shows how far the encoding is instead of one frozen message.
    """
    from lanhar_core.models.loading import load_text_encoder

    encoder = load_text_encoder(settings, store)

    def embed(texts: list[str]) -> np.ndarray:
        return encoder.encode(texts, batch_size=settings.text_encoder.encode_batch_size, progress=progress)

    return embed


def current_texts(store: Store, collection: str, dataset: str | None) -> pd.DataFrame:
    """Valid current window interpretations of ``collection`` (and ``dataset``); raises if there are none."""
    frame = store_it.current_window_interpretations(store, collection, dataset)
    valid = frame[frame["valid"].astype(bool)].reset_index(drop=True)
    if valid.empty:
        where = f" for dataset {dataset!r}" if dataset else ""
        raise InsufficientDataError(
            f"collection {collection!r} has no valid window interpretations{where}; create them with "
            f"`lanhar interpret windows --dataset {dataset or 'NAME'}` (or check the name with `lanhar interpret list`)"
        )
    return valid


def features_by_window(
    store: Store, texts: pd.DataFrame, collection: str, progress: Progress | None = None
) -> dict[int, dict[str, float]]:
    """Feature record of each window of ``texts`` (columns window_id, dataset), in the axes the collection's
    writer saw (``interpret.collection_frame``): what the fact checker compares claims with."""
    progress = progress or Progress()
    frame = collection_frame(collection)
    out: dict[int, dict[str, float]] = {}
    for dataset, group in texts.groupby("dataset", sort=True):
        ids = [int(w) for w in group["window_id"]]
        for start in range(0, len(ids), _CHUNK):
            progress.check_cancelled()
            windows = windows_as_written(store, str(dataset), ids[start : start + _CHUNK], frame)
            out.update(zip((int(w) for w in windows.ids), window_features_batch(windows.signals, windows.rate_hz)))
            progress.advance(len(windows), "feature records")
    return out


def _locked(frame: pd.DataFrame) -> np.ndarray:
    return (frame["review_status"] == "accepted").to_numpy()


def _groups(frame: pd.DataFrame) -> list[str | None]:
    return [None if (lab is None or (isinstance(lab, float) and np.isnan(lab))) else str(lab) for lab in frame["label"]]


@contextmanager
def _run(store: Store, kind: str, collection: str | None, dataset: str | None, params: dict[str, Any],
         backend: str | None = None, job_id: int | None = None) -> Iterator[int]:
    """A run row that ends as ``jobs.run_lifecycle`` decides; the block itself finishes it with its summary."""
    run_id = store_q.create_run(store, kind, collection, dataset, params, backend, job_id)
    with run_lifecycle(lambda status, error: store_q.finish_run(store, run_id, status, error=error), on_success=False):
        yield run_id


def _contradictions(frame: pd.DataFrame, features: dict[int, dict[str, float]], rel_tol: float) -> list[list[factcheck.Contradiction]]:
    return [factcheck.check(text, features[int(w)], rel_tol) for text, w in zip(frame["text"], frame["window_id"])]


def _fact_rows(frame: pd.DataFrame, found: list[list[factcheck.Contradiction]]) -> list[store_q.FactCheckRow]:
    return [
        store_q.FactCheckRow(int(i), int(w), c.claim, c.feature, c.claimed_value, c.measured_value, c.rule, c.severity)
        for i, w, cs in zip(frame["interpretation_id"], frame["window_id"], found)
        for c in cs
    ]


# ---------------------------------------------------------------- flag


@dataclass
class FlagReport:
    run_id: int
    n_items: int
    n_locked: int
    reasons: Counter
    mean_distance: float
    groups: list[dict[str, Any]] = field(default_factory=list)

    @property
    def n_flagged(self) -> int:
        return sum(self.reasons.values())

    @property
    def flagged_share(self) -> float:
        return self.n_flagged / self.n_items if self.n_items else 0.0


def run_flagging(
    store: Store,
    settings: Settings,
    collection: str,
    dataset: str,
    embed: Embed,
    k: int | None = None,
    progress: Progress | None = None,
    job_id: int | None = None,
) -> FlagReport:
    """Flag outliers (K-means) and contradicted texts of one collection and dataset; one run, nothing replaced."""
    progress = progress or Progress()
    params = OutlierParams.from_settings(settings.quality, k=k)
    with _run(store, "flag", collection, dataset, {"k": k, "k_range": params.k_range, "max_flags": params.max_flags,
                                                    "max_flag_share": params.max_flag_share}, job_id=job_id) as run_id:
        frame = current_texts(store, collection, dataset)
        progress.update(0, 3 * len(frame), "feature records")
        features = features_by_window(store, frame, collection, progress)
        found = _contradictions(frame, features, settings.quality.factcheck_rel_tol)
        progress.update(len(frame), None, f"embedding {len(frame)} texts")
        x = np.asarray(embed(list(frame["text"])), dtype=np.float64)
        progress.update(2 * len(frame), 3 * len(frame), "clustering")
        locked = _locked(frame)
        flags, clusterings = flag_outliers(x, _groups(frame), params, eligible=~locked)
        outlier = {f.index: f for f in flags}
        where = {int(i): (c, pos) for c in clusterings for pos, i in enumerate(c.members)}
        rows = []
        reasons: Counter = Counter()
        for index in range(len(frame)):
            n_found = len(found[index])
            if index not in outlier and (n_found == 0 or locked[index]):
                continue
            c, pos = where[index]
            reason = "both" if index in outlier and n_found else ("outlier" if index in outlier else "contradiction")
            reasons[reason] += 1
            rows.append(store_q.FlagRow(
                int(frame["interpretation_id"][index]), int(frame["window_id"][index]), c.group,
                int(c.assignment[pos]), float(c.distances[pos]), float(c.cluster_mean[c.assignment[pos]]),
                outlier[index].rank if index in outlier else None, reason, n_found,
            ))
        store_q.add_flags(store, run_id, 0, rows)
        store_q.add_fact_checks(store, run_id, _fact_rows(frame, found))
        groups = [
            {"group": c.group, "n": len(c.members), "k": c.k, "silhouette": c.silhouette,
             "mean_distance": c.mean_distance(), "flagged": sum(1 for r in rows if r.grp == c.group)}
            for c in clusterings
        ]
        report = FlagReport(run_id, len(frame), int(locked.sum()), reasons, mean_intra_distance(clusterings), groups)
        store_q.finish_run(store, run_id, "finished", {
            "n_items": report.n_items, "n_flagged": report.n_flagged, "flagged_share": report.flagged_share,
            "reasons": dict(reasons), "mean_distance": report.mean_distance, "groups": groups,
        })
        progress.update(3 * len(frame), 3 * len(frame), f"{report.n_flagged} flagged")
    return report


# ---------------------------------------------------------------- fact check


@dataclass
class FactCheckReport:
    run_id: int
    n_texts: int
    n_claims: int
    n_contradictions: int
    n_texts_contradicted: int
    by_rule: Counter[str]


def run_factcheck(
    store: Store,
    settings: Settings,
    collection: str,
    dataset: str,
    progress: Progress | None = None,
    job_id: int | None = None,
) -> FactCheckReport:
    """Check every valid current interpretation against its window's features; contradictions go to the store."""
    progress = progress or Progress()
    rel_tol = settings.quality.factcheck_rel_tol
    with _run(store, "factcheck", collection, dataset, {"rel_tol": rel_tol}, job_id=job_id) as run_id:
        frame = current_texts(store, collection, dataset)
        progress.update(0, 2 * len(frame), "feature records")
        features = features_by_window(store, frame, collection, progress)
        n_claims = 0
        found: list[list[factcheck.Contradiction]] = []
        for text, w in zip(frame["text"], frame["window_id"]):
            claims, contradictions = factcheck.analyse(text, features[int(w)], rel_tol)
            n_claims += len(claims)
            found.append(contradictions)
            progress.advance(1, "checking claims")
        rows = _fact_rows(frame, found)
        store_q.add_fact_checks(store, run_id, rows)
        by_rule = Counter(r.rule.split(":")[0] for r in rows)
        report = FactCheckReport(run_id, len(frame), n_claims, len(rows), sum(1 for f in found if f), by_rule)
        store_q.finish_run(store, run_id, "finished", {
            "n_texts": report.n_texts, "n_claims": n_claims, "n_contradictions": report.n_contradictions,
            "n_texts_contradicted": report.n_texts_contradicted, "by_rule": dict(by_rule),
        })
    return report


# ---------------------------------------------------------------- re-generation


@dataclass
class RegenerationReport:
    run_id: int
    result: RegenerationResult
    n_locked: int

    def summary(self) -> dict[str, Any]:
        r = self.result
        accepted = sum(it.count("accepted") for it in r.iterations)
        return {
            "n_items": r.n_items,
            "n_locked": self.n_locked,
            "iterations": len(r.iterations),
            "stop_reason": r.stop_reason,
            "flagged_share_first": r.flagged_share_first,
            "flagged_share": r.flagged_share,
            "n_accepted": accepted,
            "accepted_share": r.accepted_share,
            "mean_distance_before": r.initial_mean_distance,
            "mean_distance_after": r.final_mean_distance,
        }


class _Reviser:
    """Builds revision prompts from each window's original prompt and asks the backend (LLM replies cached in the store)."""

    def __init__(self, store: Store, backend: Backend, candidates: list[str]) -> None:
        self.store = store
        self.backend = backend
        self.candidates = candidates
        self.params = backend.params()
        self.params_hash = store_it.params_hash(self.params)
        self._prepare = prepare_hook(backend)
        self.base: dict[int | None, PromptSpec] = {}
        self.sent: dict[int | None, PromptSpec] = {}

    def _base_specs(self, items: list[ItemState]) -> None:
        missing = [it for it in items if it.window_id not in self.base]
        if not missing:
            return
        windows = self._windows([int(it.window_id) for it in missing if it.window_id is not None])
        row_of: dict[int | None, int] = {int(w): i for i, w in enumerate(windows.ids)}
        for it in missing:
            row = row_of[it.window_id]
            signals, placement = windows.signals[row], str(windows.placements[row] or "")
            upright = windows.upright_known is not None and bool(windows.upright_known[row])
            stored = store_it.get_interpretation(self.store, it.interpretation_id)
            if stored.prompt_messages and stored.prompt_template:
                messages, template, version = list(stored.prompt_messages), stored.prompt_template, stored.prompt_version or ""
                while template.startswith("revision/") and len(messages) > 2:
                    messages, template, version = messages[:-2], template[len("revision/"):], version.partition("/")[2]
                context = GenerationContext.for_window(signals, windows.rate_hz, placement, self.candidates,
                                                       upright_known=upright)
                self.base[it.window_id] = PromptSpec(messages, template, version, context)
            else:
                self.base[it.window_id] = window_prompt(signals, windows.rate_hz, placement, self.candidates,
                                                        upright_known=upright)

    def _windows(self, ids: list[int]) -> WindowSet:
        """The windows in the axes the backend writes from (the body-segment frame for rules-v3)."""
        windows = load_windows(self.store, ids=ids)
        if self.backend.window_frame != "segment" or not len(windows):
            return windows
        return WindowSet.concat([windows_as_written(self.store, str(d), [int(w) for w, wd in zip(windows.ids, windows.datasets)
                                                                          if wd == d], "segment")
                                 for d in sorted({str(x) for x in windows.datasets})])

    def __call__(self, items: list[ItemState]) -> list[Generation]:
        self._base_specs(items)
        specs = [self._prepare(revision_prompt(self.base[it.window_id], it.text)) for it in items]
        self.sent = {it.window_id: spec for it, spec in zip(items, specs)}
        if not self.backend.is_llm:
            return self.backend.generate(specs)
        keys = [(s.cache_key(), self.backend.name, self.backend.model, self.params_hash) for s in specs]
        known = store_it.cached_replies(self.store, keys)
        todo = {key: spec for key, spec in zip(keys, specs) if key not in known}
        fresh = dict(zip(todo, self.backend.generate(list(todo.values()))))
        new_cache = [
            store_it.CacheEntry(*key, gen.text, gen.prompt_tokens, gen.completion_tokens, gen.cost_usd)
            for key, gen in fresh.items() if gen.ok
        ]
        if new_cache:
            store_it.add_interpretations(self.store, [], cache=new_cache)
        return [fresh[key] if key in fresh else Generation(known[key].text, True) for key in keys]


def run_regeneration(
    store: Store,
    settings: Settings,
    collection: str,
    dataset: str,
    backend: Backend,
    embed: Embed,
    k: int | None = None,
    max_iterations: int | None = None,
    progress: Progress | None = None,
    job_id: int | None = None,
) -> RegenerationReport:
    """Iterative re-generation over one collection and dataset; every iteration and candidate is stored.

    Accepted candidates become interpretation versions (origin ``regenerated``, chained to
    the version they replace); rejected ones stay in ``quality_candidates`` only.
    """
    progress = progress or Progress()
    params = RegenerationParams.from_settings(settings.quality, k=k, max_iterations=max_iterations)
    rel_tol = settings.quality.factcheck_rel_tol
    run_params = {"k": k, "max_iterations": params.max_iterations, "threshold": params.threshold,
                  "patience": params.patience, "max_flags": params.outliers.max_flags,
                  "max_flag_share": params.outliers.max_flag_share, "backend_params": backend.params()}
    with _run(store, "regenerate", collection, dataset, run_params, f"{backend.name}:{backend.model}", job_id) as run_id:
        frame = current_texts(store, collection, dataset)
        candidates, forbidden = dataset_candidates(store, dataset)
        features: dict[int | None, dict[str, float]] = {
            w: f for w, f in features_by_window(store, frame, collection).items()
        }
        locked = _locked(frame)
        items = [
            ItemState(int(i), int(w), g, str(t), bool(lk))
            for i, w, g, t, lk in zip(frame["interpretation_id"], frame["window_id"], _groups(frame), frame["text"], locked)
        ]
        reviser = _Reviser(store, backend, candidates)

        def check(item: ItemState, text: str) -> int:
            return len(factcheck.check(text, features[item.window_id], rel_tol))

        def validate(text: str) -> str | None:
            parsed = parse_window_reply(text, forbidden)
            return None if parsed.valid else (parsed.reason or "invalid reply")

        def persist(iteration: Iteration, states: list[ItemState]) -> None:
            accepted = [d for d in iteration.decisions if d.decision == "accepted"]
            new_items = []
            for d in accepted:
                item = states[d.index]
                spec = reviser.sent[item.window_id]
                new_items.append(store_it.InterpretationIn(
                    collection=collection, target_kind="window", text=d.candidate, backend=backend.name,
                    model=backend.model, valid=True, window_id=item.window_id,
                    params={**reviser.params, "quality_run": run_id, "iteration": iteration.number},
                    fields=dict(parse_window_reply(d.candidate, forbidden).fields), origin="regenerated",
                    prompt=store_it.PromptRecord(spec.template, spec.version, spec.messages, spec.cache_key()),
                ))
            new_ids = dict(zip((d.index for d in accepted), store_it.add_interpretations(store, new_items))) if new_items else {}
            for index, new_id in new_ids.items():
                states[index].interpretation_id = new_id
            _record(store, run_id, iteration, states, new_ids)

        result = regenerate(items, embed, reviser, params, check=check, validate=validate, on_iteration=persist, progress=progress)
        report = RegenerationReport(run_id, result, int(locked.sum()))
        store_q.finish_run(store, run_id, "finished", report.summary())
    return report


def regenerate_one(store: Store, interpretation_id: int, backend: Backend) -> int:
    """A reviewer's explicit request to rewrite one window interpretation; returns the new version's id.

    Unlike a re-generation run there is no accept rule: the reviewer asked and will judge,
    so the reply is stored as the next version (origin ``regenerated``; invalid replies kept
    with their reason) and becomes current unless a reviewer already accepted another
    version. Undo is rejecting it. The revision prompt is built as in ``run_regeneration``.
    """
    stored = store_it.get_interpretation(store, interpretation_id)
    if stored.target_kind != "window" or stored.window_id is None:
        raise NotFoundError(f"interpretation {interpretation_id} is not a window interpretation; only those can be regenerated")
    dataset = str(load_windows(store, ids=[stored.window_id]).datasets[0])
    candidates, forbidden = dataset_candidates(store, dataset)
    reviser = _Reviser(store, backend, candidates)
    item = ItemState(interpretation_id, stored.window_id, None, stored.text)
    generation = reviser([item])[0]
    if not generation.ok:
        raise BackendError(f"{backend.name} could not revise interpretation {interpretation_id}: {generation.error}")
    parsed = parse_window_reply(generation.text, forbidden)
    spec = reviser.sent[stored.window_id]
    (new_id,) = store_it.add_interpretations(store, [store_it.InterpretationIn(
        collection=stored.collection, target_kind="window", text=generation.text, backend=backend.name,
        model=backend.model, valid=parsed.valid, invalid_reason=parsed.reason, window_id=stored.window_id,
        params={**reviser.params, "requested_by": "reviewer",
                **({"reply_truncated_from_chars": generation.truncated_from_chars} if generation.truncated_from_chars else {})},
        fields=dict(parsed.fields), origin="regenerated",
        prompt=store_it.PromptRecord(spec.template, spec.version, spec.messages, spec.cache_key()),
        prompt_tokens=generation.prompt_tokens, completion_tokens=generation.completion_tokens,
        cost_usd=generation.cost_usd, latency_s=generation.latency_s,
    )])
    return int(new_id)


def _record(store: Store, run_id: int, iteration: Iteration, states: list[ItemState], new_ids: dict[int, int]) -> None:
    flags = [
        store_q.FlagRow(
            _previous_id(iteration, f.index, states), states[f.index].window_id, f.group, f.cluster, f.distance, None,
            f.rank, f.reason, 0,
        )
        for f in iteration.flags
    ]
    candidates = [
        store_q.CandidateRow(
            d.previous_id, states[d.index].window_id, d.candidate, d.decision, d.distance_before, d.distance_after,
            d.contradictions_before, d.contradictions_after, d.error, new_ids.get(d.index),
        )
        for d in iteration.decisions
    ]
    row = store_q.IterationRow(
        iteration.number, len(states), len(iteration.flags), len(iteration.decisions), iteration.count("accepted"),
        iteration.count("rejected"), iteration.count("unchanged"), iteration.count("invalid"), iteration.count("failed"),
        iteration.n_skipped_locked, iteration.mean_distance_before, iteration.mean_distance_after,
    )
    store_q.record_iteration(store, run_id, row, flags, candidates)


def _previous_id(iteration: Iteration, index: int, states: list[ItemState]) -> int:
    """The version that was current when the member was flagged (before any acceptance of this iteration)."""
    for d in iteration.decisions:
        if d.index == index:
            return d.previous_id
    return states[index].interpretation_id


# ---------------------------------------------------------------- relative KL


@dataclass
class KLReport:
    run_id: int
    repr: str
    estimator: str
    rows: dict[str, list[kl.RelativeKL]]

    def average(self, variant: str = "current") -> float:
        return kl.average(self.rows[variant])


def _by_label(values: np.ndarray, labels: Sequence[str | None], wanted: Sequence[str]) -> dict[str, np.ndarray]:
    labels_arr = np.array([str(x) if x is not None else "" for x in labels], dtype=object)
    return {lab: values[labels_arr == lab] for lab in wanted if np.any(labels_arr == lab)}


def _subsample(labels: np.ndarray, wanted: Sequence[str], limit: int, seed: int) -> np.ndarray:
    """Rows to keep: at most ``limit`` per wanted label, seeded, so features are computed only for those."""
    rng = np.random.default_rng(seed)
    keep: list[int] = []
    for lab in wanted:
        rows = np.flatnonzero(labels == lab)
        keep.extend(rng.choice(rows, size=limit, replace=False) if rows.size > limit else rows)
    return np.sort(np.array(keep, dtype=np.int64))


def _window_arrays(
    store: Store, settings: Settings, dataset: str, repr_name: str, labels: Sequence[str],
    encode_windows: Callable[[np.ndarray], np.ndarray] | None,
) -> dict[str, np.ndarray]:
    windows = load_windows(store, dataset=dataset, labels=list(labels))
    windows = windows.subset(_subsample(windows.labels.astype(str), labels, settings.quality.kl_max_per_label, settings.quality.seed))
    if repr_name == "raw":
        values = windows.signals.reshape(len(windows), -1)
    elif repr_name == "features":
        columns = window_feature_arrays(windows.signals, windows.rate_hz)
        values = np.column_stack([columns[key] for key in FEATURE_KEYS])
    else:
        if encode_windows is None:
            raise ConfigError("the sensor representation needs a trained recognizer: pass --model DIR")
        values = np.asarray(encode_windows(windows.signals))
    return _by_label(values, list(windows.labels), labels)


def _text_arrays(
    store: Store, collection: str, dataset: str, labels: Sequence[str], embed: Embed,
    replace: dict[int, str] | None = None,
) -> dict[str, np.ndarray]:
    frame = current_texts(store, collection, dataset)
    frame = frame[frame["label"].isin(list(labels))]
    texts = [replace.get(int(w), t) if replace else t for w, t in zip(frame["window_id"], frame["text"])]
    return _by_label(np.asarray(embed(texts), dtype=np.float64), list(frame["label"]), labels)


def run_kl(
    store: Store,
    settings: Settings,
    dataset_a: str,
    dataset_b: str,
    repr_name: str,
    collection: str | None = None,
    embed: Embed | None = None,
    encode_windows: Callable[[np.ndarray], np.ndarray] | None = None,
    labels: Sequence[str] = COMMON_ACTIVITIES,
    estimator: str | None = None,
    before_run: int | None = None,
    progress: Progress | None = None,
    job_id: int | None = None,
) -> KLReport:
    """Relative KL per activity between two datasets in one representation (Table 1 of the paper).

    ``text`` needs ``collection`` and ``embed``; with ``before_run`` it also computes the
    table for the texts as they were before that re-generation run (variant
    ``before_run:<id>``). ``sensor`` needs ``encode_windows`` (a recognizer's ``embed``).
    """
    if repr_name not in REPRESENTATIONS:
        raise ConfigError(f"representation must be one of {REPRESENTATIONS}, got {repr_name!r}")
    if repr_name == "text" and (collection is None or embed is None):
        raise ConfigError("the text representation needs --collection (and a text encoder)")
    progress = progress or Progress()
    config = kl.KLConfig.from_settings(settings.quality, estimator=estimator, standardize=repr_name in ("raw", "features"))
    params = {"a": dataset_a, "b": dataset_b, "repr": repr_name, "labels": list(labels), "estimator": config.estimator,
              "dims": config.dims, "before_run": before_run}
    with _run(store, "kl", collection, f"{dataset_a}|{dataset_b}", params, job_id=job_id) as run_id:
        variants: dict[str, dict[int, str] | None] = {"current": None}
        if before_run is not None:
            variants[f"before_run:{before_run}"] = store_q.texts_before_run(store, before_run)
        progress.update(0, 2 * len(variants) + 1, "loading")
        rows: dict[str, list[kl.RelativeKL]] = {}
        for variant, replace in variants.items():
            arrays = []
            for dataset in (dataset_a, dataset_b):
                progress.check_cancelled()
                if collection is not None and embed is not None and repr_name == "text":
                    arrays.append(_text_arrays(store, collection, dataset, labels, embed, replace))
                else:
                    arrays.append(_window_arrays(store, settings, dataset, repr_name, labels, encode_windows))
                progress.advance(1, f"{variant}: {dataset}")
            rows[variant] = kl.relative_kl_table(arrays[0], arrays[1], config)
            store_q.add_kl(store, run_id, dataset_a, dataset_b, repr_name, config.estimator,
                           [store_q.KLRow(r.label, r.same, r.different, r.relative, r.n_a, r.n_b) for r in rows[variant]],
                           collection=collection, variant=variant)
        report = KLReport(run_id, repr_name, config.estimator, rows)
        store_q.finish_run(store, run_id, "finished", {v: {"average": kl.average(r), **{x.label: x.relative for x in r}}
                                                      for v, r in rows.items()})
        progress.advance(1, "done")
    return report
