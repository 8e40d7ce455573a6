"""The interpretation pipeline: windows and labels in, validated versioned texts in the store.

Work is done in batches of ``Settings.llm.batch_size`` targets. Each batch is generated,
validated, retried where invalid, and committed in one transaction, so an interrupted or
failed run keeps every finished batch, and the next run skips targets that already have a
version in the collection: it resumes where the last one stopped and writes nothing twice.

Every reply is stored, invalid ones too (with the validator's reason), because reviewers
need to see what the model got wrong. An invalid reply is re-asked up to
``Settings.llm.invalid_retries`` times by continuing the conversation: the rejected reply
and the reason (template ``invalid_retry``) are appended, so each retry is a different
prompt (a model that repeats itself is not answered from the cache) and a new version
chained to the one it replaces.

Replies of LLM backends are cached by (prompt, backend, model, parameters): an identical
request, in this run or any later one, is answered from the store and never paid twice.
The rule-based writer is not cached (it is deterministic and cheaper than a lookup).

A backend with a limited context may declare the ``prepare`` hook in the backend table
(``llm.registry``), ``prepare(spec) -> PromptSpec`` returning the prompt it will actually send (the ``local`` backend shortens the knowledge part); the
pipeline stores and caches that prompt, so the stored prompt is always the one answered.

Window prompts see the window's signals, its recording's placement and rate, and the
candidate states of its *dataset* (display names of the dataset's activities), never the
window's own label.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lanhar_core.config import Settings
from lanhar_core.data.types import WindowSet
from lanhar_core.errors import BackendError, ConfigError, UnknownDatasetError
from lanhar_core.jobs import Progress
from lanhar_core.llm.base import Backend, Generation, PromptSpec
from lanhar_core.llm.registry import prepare_hook
from lanhar_core.llm.validation import ParsedReply, forbidden_terms, parse_label_reply, parse_window_reply
from lanhar_core.placement import SEGMENTS
from lanhar_core.prompts import VARIANTS, label_prompt, window_prompt
from lanhar_core.prompts.loader import load_template
from lanhar_core.signal.features import window_features_batch
from lanhar_core.signal.segment_frame import to_segment_frame
from lanhar_core.vocab import builtin_by_name
from storage import interpretations as store_it
from storage.datasets import get_window, load_windows
from storage.db import Store


@dataclass
class InterpretReport:
    """What a run did. ``done`` targets got a stored version in this run; ``failed`` ones did not (re-run)."""

    collection: str
    backend: str
    model: str
    total: int = 0
    done: int = 0
    skipped: int = 0
    failed: int = 0
    valid: int = 0
    replies: int = 0
    cached: int = 0
    truncated: int = 0
    invalid_reasons: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    elapsed_s: float = 0.0

    @property
    def valid_share(self) -> float:
        """Share of targets done in this run whose final version is valid."""
        return self.valid / self.done if self.done else 0.0

    @property
    def per_second(self) -> float:
        return self.done / self.elapsed_s if self.elapsed_s > 0 else 0.0


@dataclass(frozen=True)
class _Target:
    """One window or label description to write: where it goes, its prompt, how to judge the reply."""

    fields: dict[str, Any]
    spec: PromptSpec
    judge: Callable[[str], ParsedReply]


def default_collection(backend: Backend, variant: str = "full") -> str:
    """``<backend>:<model>`` (``:simple`` appended for the simple-prompt ablation)."""
    base = f"{backend.name}:{backend.model}"
    return base if variant == "full" else f"{base}:{variant}"


def _reason_kind(reason: str | None) -> str:
    return (reason or "invalid").split(":", 1)[0].strip()


def _retry_spec(spec: PromptSpec, previous: str, reason: str, kind: str) -> PromptSpec:
    """The conversation so far plus the rejected reply and why it was rejected."""
    template = load_template("invalid_retry")
    note = template.render(kind, reason=reason)
    messages = [*spec.messages, {"role": "assistant", "content": previous}, {"role": "user", "content": note}]
    return PromptSpec(
        messages=messages,
        template=f"{template.name}/{spec.template}",
        version=f"{template.tag}/{spec.version}",
        context=spec.context,
    )


class _Runner:
    """Generates, validates, retries and commits batches for one backend and collection."""

    def __init__(self, store: Store, settings: Settings, backend: Backend, collection: str, report: InterpretReport):
        self.store = store
        self.settings = settings
        self.backend = backend
        self.collection = collection
        self.report = report
        self.params = backend.params()
        self.params_hash = store_it.params_hash(self.params)
        self._prepare = prepare_hook(backend)

    def _generate(
        self, specs: list[PromptSpec], cancel: Progress, new_cache: dict[tuple, store_it.CacheEntry]
    ) -> list[tuple[Generation, bool]]:
        """One (generation, from_cache) per spec; identical LLM requests are sent at most once."""
        if not self.backend.is_llm:
            return [(g, False) for g in self.backend.generate(specs, cancel)]
        keys = [(s.cache_key(), self.backend.name, self.backend.model, self.params_hash) for s in specs]
        known = store_it.cached_replies(self.store, keys)
        known.update(new_cache)
        to_send: dict[tuple, PromptSpec] = {}
        for key, spec in zip(keys, specs):
            if key not in known and key not in to_send:
                to_send[key] = spec
        fresh = dict(zip(to_send, self.backend.generate(list(to_send.values()), cancel)))
        for key, gen in fresh.items():
            if gen.ok:
                new_cache[key] = store_it.CacheEntry(
                    key[0], key[1], key[2], key[3], gen.text, gen.prompt_tokens, gen.completion_tokens, gen.cost_usd
                )
        results = []
        paid: set[tuple] = set()
        for key in keys:
            if key in fresh and key not in paid:
                paid.add(key)
                results.append((fresh[key], False))
            elif key in fresh and not fresh[key].ok:
                results.append((fresh[key], False))
            else:
                entry = known.get(key) or new_cache[key]
                results.append(
                    (Generation(entry.text, True, None, entry.prompt_tokens, entry.completion_tokens, 0.0, 0.0), True)
                )
        return results

    def run_batch(self, targets: list[_Target], kind: str, progress: Progress) -> None:
        """Generate, validate, retry invalid replies, then commit the whole batch at once."""
        cancel = Progress(cancel_event=progress.cancel_event)
        versions: list[list[store_it.InterpretationIn]] = [[] for _ in targets]
        final_valid = [False] * len(targets)
        specs = {i: self._prepare(t.spec) for i, t in enumerate(targets)}
        pending = list(range(len(targets)))
        new_cache: dict[tuple, store_it.CacheEntry] = {}
        first_errors: list[str] = []
        for attempt in range(self.settings.llm.invalid_retries + 1):
            generations = self._generate([specs[i] for i in pending], cancel, new_cache)
            retry = []
            for i, (gen, from_cache) in zip(pending, generations):
                if not gen.ok:
                    if attempt == 0:
                        first_errors.append(gen.error or "unknown error")
                    continue
                parsed = targets[i].judge(gen.text)
                versions[i].append(self._item(targets[i], specs[i], gen, parsed, from_cache))
                self._count_reply(gen, parsed, from_cache)
                final_valid[i] = parsed.valid
                if not parsed.valid and attempt < self.settings.llm.invalid_retries:
                    specs[i] = self._prepare(_retry_spec(specs[i], gen.text, parsed.reason or "invalid", kind))
                    retry.append(i)
            pending = retry
            if not pending:
                break
        items = [item for chain in versions for item in chain]
        store_it.add_interpretations(self.store, items, cache=list(new_cache.values()))
        done = sum(1 for chain in versions if chain)
        self.report.done += done
        self.report.valid += sum(1 for chain, ok in zip(versions, final_valid) if chain and ok)
        self.report.failed += len(targets) - done
        self.report.errors.extend(first_errors[: max(0, 5 - len(self.report.errors))])
        progress.advance(len(targets), f"{self.report.done} done, {self.report.valid} valid")
        progress.check_cancelled()
        if first_errors and done == 0:
            raise BackendError(
                f"the {self.backend.name} backend failed on every prompt of a batch ({first_errors[0]}); "
                f"{self.report.done} {kind}s done in this run are stored; fix the cause and re-run the same command "
                "to resume where it stopped"
            )

    def _count_reply(self, gen: Generation, parsed: ParsedReply, from_cache: bool) -> None:
        r = self.report
        r.replies += 1
        r.cached += int(from_cache)
        r.truncated += int(gen.truncated_from_chars > 0)
        if not from_cache:
            r.prompt_tokens += gen.prompt_tokens
            r.completion_tokens += gen.completion_tokens
            r.cost_usd += gen.cost_usd
        if not parsed.valid:
            reason = _reason_kind(parsed.reason)
            r.invalid_reasons[reason] = r.invalid_reasons.get(reason, 0) + 1

    def _item(
        self, target: _Target, spec: PromptSpec, gen: Generation, parsed: ParsedReply, from_cache: bool
    ) -> store_it.InterpretationIn:
        return store_it.InterpretationIn(
            collection=self.collection,
            text=gen.text,
            backend=self.backend.name,
            model=self.backend.model,
            valid=parsed.valid,
            params={**self.params, "reply_truncated_from_chars": gen.truncated_from_chars}
            if gen.truncated_from_chars else self.params,
            fields=dict(parsed.fields),
            invalid_reason=parsed.reason,
            origin="generated",
            prompt=store_it.PromptRecord(spec.template, spec.version, spec.messages, spec.cache_key()),
            from_cache=from_cache,
            prompt_tokens=gen.prompt_tokens,
            completion_tokens=gen.completion_tokens,
            cost_usd=0.0 if from_cache else gen.cost_usd,
            latency_s=gen.latency_s,
            **target.fields,
        )


def dataset_candidates(store: Store, dataset: str) -> tuple[list[str], list[str]]:
    """(display names offered to the model, terms a reply must not use) for ``dataset``'s activities."""
    activities = store_it.dataset_activities(store, dataset)
    if not activities:
        raise UnknownDatasetError(
            f"dataset {dataset!r} has no labelled windows or label map in the store; ingest it first "
            "(`lanhar data ingest NAME PATH`, or `lanhar data sample` for the built-in sample)"
        )
    builtins = builtin_by_name()
    displays = [d or (builtins[n].display if n in builtins else n.replace("_", " ")) for n, d in activities]
    names = [n for n, _ in activities]
    return displays, forbidden_terms([*names, *displays])


def balanced_window_ids(store: Store, dataset: str, per_label: int) -> list[int]:
    """Up to ``per_label`` windows of each labelled activity of ``dataset``, spread evenly over its windows.

    For runs that cannot afford every window (a slow local model, a paid API): the subset
    still covers every activity and every part of the recordings, not just the first ones.
    """
    if per_label < 1:
        raise ConfigError(f"windows per label must be at least 1, got {per_label}")
    by_label: dict[str, list[int]] = {}
    for window_id, label in store_it.window_labels(store, dataset):
        if label is not None:
            by_label.setdefault(label, []).append(window_id)
    chosen: list[int] = []
    for ids in by_label.values():
        picks = np.unique(np.linspace(0, len(ids) - 1, num=min(per_label, len(ids))).round().astype(int))
        chosen.extend(ids[i] for i in picks)
    return sorted(chosen)


_LOAD_CHUNK = 1024
"""Windows read from the store (and given feature records) per query; batches commit inside a chunk."""


def interpret_windows(
    store: Store,
    settings: Settings,
    dataset: str,
    backend: Backend,
    collection: str | None = None,
    limit: int | None = None,
    variant: str = "full",
    progress: Progress | None = None,
    window_ids: Sequence[int] | None = None,
) -> InterpretReport:
    """Interpret the windows of ``dataset`` (all, or ``window_ids``; at most the first ``limit``).

    Windows that already have a version in ``collection`` are skipped, so re-running the
    same command resumes an interrupted run. The store is pinned for the run; windows are
    read and given feature records (``window_features_batch``) about a thousand at a time,
    while batches of ``llm.batch_size`` still commit one by one. Raises ``BackendError`` when a whole batch
    fails (the backend is down); everything finished before that is already stored.
    """
    if variant not in VARIANTS:
        raise ConfigError(f"prompt variant must be one of {VARIANTS}, got {variant!r}")
    progress = progress or Progress()
    collection = collection or default_collection(backend, variant)
    report = InterpretReport(collection, backend.name, backend.model)
    started = time.monotonic()
    candidates, forbidden = dataset_candidates(store, dataset)
    if window_ids is None:
        considered = store_it.dataset_window_ids(store, dataset, limit)
    else:
        considered = [int(i) for i in window_ids][:limit]
    already = store_it.interpreted_window_ids(store, collection, dataset)
    pending = [w for w in considered if w not in already]
    report.total = len(considered)
    report.skipped = len(considered) - len(pending)
    runner = _Runner(store, settings, backend, collection, report)

    def judge(text: str) -> ParsedReply:
        return parse_window_reply(text, forbidden)

    batch_size = max(1, settings.llm.batch_size)
    chunk = batch_size * max(1, _LOAD_CHUNK // batch_size)
    progress.update(0, len(pending), f"{report.skipped} already interpreted")
    segment_frame = _segment_frame_of(store, dataset, pending) if backend.window_frame == "segment" and pending else None
    segment_frame_row = {} if segment_frame is None else {int(w): i for i, w in enumerate(segment_frame.ids)}
    with store.pinned():
        for chunk_start in range(0, len(pending), chunk):
            chunk_ids = pending[chunk_start : chunk_start + chunk]
            windows = load_windows(store, ids=chunk_ids) if segment_frame is None else segment_frame.subset(
                np.array([segment_frame_row[w] for w in chunk_ids])
            )
            row_of = {int(w): i for i, w in enumerate(windows.ids)}
            features = window_features_batch(windows.signals, windows.rate_hz)
            for start in range(0, len(chunk_ids), batch_size):
                progress.check_cancelled()
                targets = []
                for window_id in chunk_ids[start : start + batch_size]:
                    row = row_of[window_id]
                    spec = window_prompt(
                        windows.signals[row], windows.rate_hz, str(windows.placements[row] or ""), candidates,
                        variant=variant, features=features[row],
                        upright_known=windows.upright_known is not None and bool(windows.upright_known[row]),
                    )
                    targets.append(_Target({"target_kind": "window", "window_id": window_id}, spec, judge))
                try:
                    runner.run_batch(targets, "window", progress)
                finally:
                    report.elapsed_s = time.monotonic() - started
    report.elapsed_s = time.monotonic() - started
    return report


def collection_frame(collection: str) -> str:
    """The axes a collection's window texts were written in: ``segment`` for a writer that asks for the
    body-segment frame (``rules:rules-v3``), else ``device``; what a fact check must compare them with."""
    backend, _, model = collection.partition(":")
    if backend != "rules":
        return "device"
    from lanhar_core.llm.rules_backend import RULES_VERSIONS, RulesBackend

    version = model.split(":")[0]
    return RulesBackend(version).window_frame if version in RULES_VERSIONS else "device"


def windows_as_written(store: Store, dataset: str, window_ids: Sequence[int], frame: str) -> WindowSet:
    """Windows of ``dataset`` in the axes their texts were written in (``collection_frame``)."""
    return _segment_frame_of(store, dataset, window_ids) if frame == "segment" else load_windows(store, ids=list(window_ids))


def window_signals_as_written(store: Store, window_id: int, collection: str) -> tuple[np.ndarray, float]:
    """(signals, rate) of one window in the axes the collection's texts were written in.

    The body-segment frame needs the person's other windows (their gait is the reference),
    so only that person's windows are read, not the dataset's.
    """
    window = get_window(store, window_id)
    if collection_frame(collection) != "segment":
        return window.signals, window.rate_hz
    person, _ = to_segment_frame(load_windows(store, dataset=window.dataset, subjects=[window.subject],
                                              placement=window.placement or None))
    row = int(np.flatnonzero(person.ids == window_id)[0])
    return person.signals[row], person.rate_hz


def _segment_frame_of(store: Store, dataset: str, window_ids: Sequence[int]) -> WindowSet:
    """The pending windows in the body-segment frame, estimated from all windows of their people.

    The upright reference of a person comes from their gait windows, which need not be among
    the pending ones, so the whole dataset is read once (about 3 KB per window).
    """
    converted, _ = to_segment_frame(load_windows(store, dataset=dataset))
    wanted = np.isin(converted.ids, np.asarray(list(window_ids), dtype=converted.ids.dtype))
    return converted.subset(wanted)


SEGMENT_INDEX_BASE = 100
"""Description indexes of segment k (1-based in ``SEGMENTS``) start at k * 100, so that asking
for more descriptions later (a larger ``n``) extends every slot without renumbering any."""


def description_slots(n: int, per_segment: bool) -> list[tuple[int, int, str]]:
    """(stored index, index within its segment, segment) of each description; segment "" is any placement."""
    slots = [(i, i, "") for i in range(n)]
    if per_segment:
        slots += [(k * SEGMENT_INDEX_BASE + i, i, seg) for k, seg in enumerate(SEGMENTS, start=1) for i in range(n)]
    return slots


def describe_new_label(settings: Settings, backend: Backend, name: str, display: str = "") -> list[str]:
    """Descriptions of an activity a user adds, written by ``backend`` (any placement, then per segment).

    Nothing is stored: the caller adds them to a recognizer. Only valid three-aspect replies
    are returned; ``BackendError`` when none is, so a label is never added without words.
    """
    display = display or name.replace("_", " ")
    slots = description_slots(settings.llm.label_descriptions, settings.llm.placement_descriptions)
    specs = [label_prompt(name, display, index, total=settings.llm.label_descriptions, segment=segment)
             for _, index, segment in slots]
    texts = [g.text for g in backend.generate(specs) if g.ok and parse_label_reply(g.text).valid]
    if not texts:
        raise BackendError(f"{backend.name} ({backend.model}) wrote no valid description of {name!r}; "
                           "pass descriptions yourself (--description)")
    return texts


def _label_catalogue(store: Store, labels: Sequence[str] | None) -> list[tuple[str, str]]:
    known = dict(store_it.store_activities(store)) or {a.name: a.display for a in builtin_by_name().values()}
    builtins = builtin_by_name()
    if labels is None:
        return sorted(known.items())
    chosen = []
    for label in labels:
        if label in known:
            chosen.append((label, known[label]))
        elif label in builtins:
            chosen.append((label, builtins[label].display))
        else:
            raise ConfigError(f"unknown activity {label!r}; known: {', '.join(sorted(known))}")
    return chosen


def interpret_labels(
    store: Store,
    settings: Settings,
    backend: Backend,
    labels: Sequence[str] | None = None,
    n: int | None = None,
    collection: str | None = None,
    progress: Progress | None = None,
) -> InterpretReport:
    """Write ``n`` descriptions (default ``Settings.llm.label_descriptions``) per activity label,
    and with ``llm.placement_descriptions`` ``n`` more for each body segment (``description_slots``).

    ``labels`` defaults to every activity the store knows. Descriptions that already exist
    in ``collection`` are skipped, so a re-run resumes or extends (a larger ``n``) a run.
    """
    progress = progress or Progress()
    collection = collection or default_collection(backend)
    n = settings.llm.label_descriptions if n is None else int(n)
    if n < 1:
        raise ConfigError(f"the number of descriptions per label must be at least 1, got {n}")
    report = InterpretReport(collection, backend.name, backend.model)
    started = time.monotonic()
    existing = store_it.existing_label_targets(store, collection)
    slots = description_slots(n, settings.llm.placement_descriptions)
    wanted = [(a, d, slot) for a, d in _label_catalogue(store, labels) for slot in slots]
    pending = [(a, d, slot) for a, d, slot in wanted if (a, slot[0]) not in existing]
    report.total = len(wanted)
    report.skipped = len(wanted) - len(pending)
    runner = _Runner(store, settings, backend, collection, report)
    batch_size = max(1, settings.llm.batch_size)
    progress.update(0, len(pending), f"{report.skipped} already described")
    for start in range(0, len(pending), batch_size):
        progress.check_cancelled()
        targets = [
            _Target(
                {"target_kind": "label", "label": activity, "desc_index": stored},
                label_prompt(activity, display, index, total=n, segment=segment),
                parse_label_reply,
            )
            for activity, display, (stored, index, segment) in pending[start : start + batch_size]
        ]
        try:
            runner.run_batch(targets, "label", progress)
        finally:
            report.elapsed_s = time.monotonic() - started
    report.elapsed_s = time.monotonic() - started
    return report

