"""Interpretations: append-only versions, the prompts behind them, reviews and the LLM cache.

Nothing is overwritten. A new text for a target (a window, or one description of a label)
is a new version chained to the previous one (``parent_id``); a review decision is a new
row in ``interpretation_reviews`` (the newest row is the status, so a decision can be
undone by recording ``unreviewed``); an edit by a reviewer is a new version with origin
``edited`` that is accepted on creation. Which version counts is decided by the
``current_interpretations`` view (see ``002_interpretations.sql``): a reviewer's accepted
version wins over anything an automatic run appends later.

Every row keeps the id of the exact prompt that produced it, so a reviewer can read what
the model was asked. Parameters are stored without secrets (``add_interpretations``
refuses secret-looking keys).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb
import pandas as pd

from lanhar_core.errors import InvalidValueError, NotFoundError
from storage.db import Store

TARGET_KINDS = ("window", "label")
ORIGINS = ("generated", "regenerated", "edited")
REVIEW_STATUSES = ("unreviewed", "accepted", "rejected")
_SECRET_PARAMS = {"api_key", "key", "authorization", "password", "secret", "token", "access_token"}


def window_target(window_id: int) -> str:
    return f"window:{int(window_id)}"


def label_target(label: str, index: int) -> str:
    return f"label:{label}:{int(index)}"


def params_hash(params: dict[str, Any]) -> str:
    """Stable hash of generation parameters (part of the cache key)."""
    text = json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class PromptRecord:
    """The exact chat messages sent, with the template and version they were rendered from."""

    template: str
    version: str
    messages: list[dict[str, str]]
    cache_key: str


@dataclass(frozen=True)
class InterpretationIn:
    """One text to append. ``parent_id``/``version`` are assigned by the store."""

    collection: str
    target_kind: str
    text: str
    backend: str
    model: str
    valid: bool
    window_id: int | None = None
    label: str | None = None
    desc_index: int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    fields: dict[str, Any] = field(default_factory=dict)
    invalid_reason: str | None = None
    origin: str = "generated"
    prompt: PromptRecord | None = None
    prompt_id: int | None = None
    from_cache: bool = False
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_s: float = 0.0

    @property
    def target_key(self) -> str:
        if self.target_kind == "window":
            if self.window_id is None:
                raise InvalidValueError("a window interpretation needs window_id")
            return window_target(self.window_id)
        if self.target_kind == "label":
            if not self.label or self.desc_index is None:
                raise InvalidValueError("a label interpretation needs label and desc_index")
            return label_target(self.label, self.desc_index)
        raise InvalidValueError(f"target_kind must be one of {TARGET_KINDS}, got {self.target_kind!r}")


@dataclass(frozen=True)
class CacheEntry:
    """A reply worth keeping for an identical request (same prompt, backend, model, parameters)."""

    cache_key: str
    backend: str
    model: str
    params_hash: str
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0


@dataclass(frozen=True)
class Interpretation:
    """One stored version with everything a reviewer needs: text, validity, provenance, prompt."""

    id: int
    collection: str
    target_kind: str
    target_key: str
    window_id: int | None
    label: str | None
    desc_index: int | None
    version: int
    parent_id: int | None
    backend: str
    model: str
    params: dict[str, Any]
    text: str
    fields: dict[str, Any]
    valid: bool
    invalid_reason: str | None
    origin: str
    from_cache: bool
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    latency_s: float
    created_at: datetime
    review_status: str
    reviewer: str | None
    review_note: str | None
    prompt_id: int | None
    prompt_template: str | None
    prompt_version: str | None
    prompt_messages: list[dict[str, str]]
    window_dataset: str | None
    window_label: str | None


def _check(item: InterpretationIn) -> None:
    if item.origin not in ORIGINS:
        raise InvalidValueError(f"origin must be one of {ORIGINS}, got {item.origin!r}")
    secret = _SECRET_PARAMS & {k.lower() for k in item.params}
    if secret:
        raise InvalidValueError(f"generation params must not contain secrets; remove {sorted(secret)}")


def _ensure_prompts(conn: duckdb.DuckDBPyConnection, prompts: Iterable[PromptRecord]) -> dict[str, int]:
    unique = {p.cache_key: p for p in prompts}
    if not unique:
        return {}
    keys = list(unique)
    known = dict(conn.execute("SELECT cache_key, id FROM prompts WHERE list_contains(?, cache_key)", [keys]).fetchall())
    missing = [key for key in keys if key not in known]
    if missing:
        ids = [int(r[0]) for r in conn.execute("SELECT nextval('prompt_id_seq') FROM range(?)", [len(missing)]).fetchall()]
        frame = pd.DataFrame(
            {
                "id": ids,
                "template": [unique[k].template for k in missing],
                "version": [unique[k].version for k in missing],
                "messages": [json.dumps(unique[k].messages, ensure_ascii=False) for k in missing],
                "cache_key": missing,
            }
        )
        conn.register("new_prompts", frame)
        try:
            conn.execute(
                "INSERT INTO prompts (id, template, version, messages, cache_key) "
                "SELECT id, template, version, messages, cache_key FROM new_prompts"
            )
        finally:
            conn.unregister("new_prompts")
        known.update(zip(missing, ids))
    return known


def _insert(conn: duckdb.DuckDBPyConnection, items: Sequence[InterpretationIn]) -> list[int]:
    for item in items:
        _check(item)
    prompt_ids = _ensure_prompts(conn, (i.prompt for i in items if i.prompt is not None))
    targets = sorted({(i.collection, i.target_key) for i in items})
    heads: dict[tuple[str, str], tuple[int, int]] = {}
    if targets:
        rows = conn.execute(
            "SELECT collection, target_key, max(version), arg_max(id, version) FROM interpretations "
            "WHERE list_contains(?, collection || chr(0) || target_key) GROUP BY collection, target_key",
            [[f"{c}\x00{t}" for c, t in targets]],
        ).fetchall()
        heads = {(c, t): (int(v), int(i)) for c, t, v, i in rows}
    ids = [int(r[0]) for r in conn.execute("SELECT nextval('interpretation_id_seq') FROM range(?)", [len(items)]).fetchall()]
    records = []
    for new_id, item in zip(ids, items):
        target = (item.collection, item.target_key)
        version, parent = heads.get(target, (0, None))
        heads[target] = (version + 1, new_id)
        prompt_id = prompt_ids[item.prompt.cache_key] if item.prompt is not None else item.prompt_id
        records.append(
            {
                "id": new_id,
                "collection": item.collection,
                "target_kind": item.target_kind,
                "target_key": item.target_key,
                "window_id": item.window_id,
                "label": item.label,
                "desc_index": item.desc_index,
                "version": version + 1,
                "parent_id": parent,
                "prompt_id": prompt_id,
                "backend": item.backend,
                "model": item.model,
                "params": json.dumps(item.params, sort_keys=True, default=str),
                "text": item.text,
                "fields": json.dumps(item.fields, ensure_ascii=False, default=str),
                "valid": bool(item.valid),
                "invalid_reason": item.invalid_reason,
                "origin": item.origin,
                "from_cache": bool(item.from_cache),
                "prompt_tokens": int(item.prompt_tokens),
                "completion_tokens": int(item.completion_tokens),
                "cost_usd": float(item.cost_usd),
                "latency_s": float(item.latency_s),
            }
        )
    if records:
        frame = pd.DataFrame.from_records(records).astype(
            {"window_id": "Int64", "desc_index": "Int64", "parent_id": "Int64", "prompt_id": "Int64", "label": "object"}
        )
        conn.register("new_interpretations", frame)
        try:
            conn.execute(
                "INSERT INTO interpretations (" + ", ".join(frame.columns) + ") "
                "SELECT " + ", ".join(frame.columns) + " FROM new_interpretations"
            )
        finally:
            conn.unregister("new_interpretations")
    return ids


def _insert_cache(conn: duckdb.DuckDBPyConnection, entries: Sequence[CacheEntry]) -> None:
    for e in entries:
        conn.execute(
            "INSERT INTO llm_cache (cache_key, backend, model, params_hash, text, prompt_tokens, completion_tokens, cost_usd) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [e.cache_key, e.backend, e.model, e.params_hash, e.text, e.prompt_tokens, e.completion_tokens, e.cost_usd],
        )


def add_interpretations(
    store: Store, items: Sequence[InterpretationIn], cache: Sequence[CacheEntry] = ()
) -> list[int]:
    """Append versions (and cache entries) in one transaction; returns the new ids in order.

    Items for the same target become successive versions in list order, so a reply and
    its retries keep their chain even when written together.
    """
    with store.transaction() as conn:
        ids = _insert(conn, items)
        _insert_cache(conn, cache)
    return ids


def add_interpretation(store: Store, item: InterpretationIn) -> int:
    """Append one version; it becomes the newest of its target's chain."""
    return add_interpretations(store, [item])[0]


def cached_replies(
    store: Store, keys: Sequence[tuple[str, str, str, str]]
) -> dict[tuple[str, str, str, str], CacheEntry]:
    """Cached replies for ``(cache_key, backend, model, params_hash)`` tuples (missing ones absent)."""
    if not keys:
        return {}
    frame = pd.DataFrame(list(set(keys)), columns=["cache_key", "backend", "model", "params_hash"])
    with store.connect(read_only=False) as conn:
        conn.register("wanted", frame)
        rows = conn.execute(
            "SELECT c.cache_key, c.backend, c.model, c.params_hash, c.text, c.prompt_tokens, c.completion_tokens, c.cost_usd "
            "FROM llm_cache c JOIN wanted w USING (cache_key, backend, model, params_hash)"
        ).fetchall()
    return {tuple(r[:4]): CacheEntry(*r) for r in rows}


_STATUS_COLUMNS = (
    "s.id AS interpretation_id, s.collection, s.target_kind, s.target_key, s.window_id, s.label AS target_label, "
    "s.desc_index, s.version, s.parent_id, s.prompt_id, s.backend, s.model, s.text, s.fields, s.valid, "
    "s.invalid_reason, s.origin, s.from_cache, s.review_status, s.reviewer, s.review_note, "
    "s.prompt_tokens, s.completion_tokens, s.cost_usd, s.latency_s, s.created_at"
)


def _decode_fields(frame: pd.DataFrame) -> pd.DataFrame:
    if "fields" in frame:
        frame["fields"] = [json.loads(v) if v else {} for v in frame["fields"]]
    return frame


def current_window_interpretations(store: Store, collection: str, dataset: str | None = None) -> pd.DataFrame:
    """The current version per window of ``collection`` (optionally one dataset), with the window's label.

    Columns: interpretation_id, window_id, dataset, label, text, fields (dict), valid,
    invalid_reason, origin, review_status, version, backend, model, prompt_version.
    """
    sql = (
        "SELECT c.id AS interpretation_id, c.window_id, w.dataset, w.label, c.text, c.fields, c.valid, "
        "c.invalid_reason, c.origin, c.review_status, c.version, c.backend, c.model, p.version AS prompt_version "
        "FROM current_interpretations c JOIN windows w ON w.id = c.window_id "
        "LEFT JOIN prompts p ON p.id = c.prompt_id "
        "WHERE c.collection = ? AND c.target_kind = 'window'"
    )
    args: list[Any] = [collection]
    if dataset is not None:
        sql += " AND w.dataset = ?"
        args.append(dataset)
    sql += " ORDER BY c.window_id"
    with store.connect(read_only=False) as conn:
        frame = conn.execute(sql, args).df()
    return _decode_fields(frame)


def current_label_interpretations(store: Store, collection: str) -> pd.DataFrame:
    """The current version per (label, description index) of ``collection``.

    Columns: interpretation_id, label, index, text, fields (dict), valid, invalid_reason,
    origin, review_status, version, backend, model.
    """
    with store.connect(read_only=False) as conn:
        frame = conn.execute(
            "SELECT id AS interpretation_id, label, desc_index AS \"index\", text, fields, valid, invalid_reason, "
            "origin, review_status, version, backend, model FROM current_interpretations "
            "WHERE collection = ? AND target_kind = 'label' ORDER BY label, desc_index",
            [collection],
        ).df()
    return _decode_fields(frame)


def get_interpretation(store: Store, interpretation_id: int) -> Interpretation:
    """One version with its review status and the exact prompt messages that produced it."""
    with store.connect(read_only=False) as conn:
        row = conn.execute(
            "SELECT s.id, s.collection, s.target_kind, s.target_key, s.window_id, s.label, s.desc_index, s.version, "
            "s.parent_id, s.backend, s.model, s.params, s.text, s.fields, s.valid, s.invalid_reason, s.origin, "
            "s.from_cache, s.prompt_tokens, s.completion_tokens, s.cost_usd, s.latency_s, s.created_at, "
            "s.review_status, s.reviewer, s.review_note, s.prompt_id, p.template, p.version, p.messages, "
            "w.dataset, w.label "
            "FROM interpretation_status s LEFT JOIN prompts p ON p.id = s.prompt_id "
            "LEFT JOIN windows w ON w.id = s.window_id WHERE s.id = ?",
            [int(interpretation_id)],
        ).fetchone()
    if row is None:
        raise NotFoundError(f"no interpretation with id {interpretation_id}; `lanhar interpret list` shows the collections")
    values = list(row)
    values[11] = json.loads(values[11]) if values[11] else {}
    values[13] = json.loads(values[13]) if values[13] else {}
    values[29] = json.loads(values[29]) if values[29] else []
    return Interpretation(*values)


def _target_key(target: int | str | tuple[str, int]) -> str:
    if isinstance(target, tuple):
        return label_target(*target)
    if isinstance(target, str):
        return target
    return window_target(target)


def history(store: Store, collection: str, target: int | str | tuple[str, int]) -> pd.DataFrame:
    """All versions of one target, oldest first. ``target`` is a window id, ``(label, index)`` or a target key."""
    with store.connect(read_only=False) as conn:
        frame = conn.execute(
            f"SELECT {_STATUS_COLUMNS} FROM interpretation_status s "
            "WHERE s.collection = ? AND s.target_key = ? ORDER BY s.version",
            [collection, _target_key(target)],
        ).df()
    return _decode_fields(frame)


def _require(conn: duckdb.DuckDBPyConnection, interpretation_id: int) -> tuple:
    row = conn.execute(
        "SELECT collection, target_kind, window_id, label, desc_index, prompt_id FROM interpretations WHERE id = ?",
        [int(interpretation_id)],
    ).fetchone()
    if row is None:
        raise NotFoundError(f"no interpretation with id {interpretation_id}")
    return row


def set_review(store: Store, interpretation_id: int, status: str, reviewer: str, note: str | None = None) -> None:
    """Record a review decision; ``unreviewed`` undoes an earlier accept/reject (the trail is kept)."""
    if status not in REVIEW_STATUSES:
        raise InvalidValueError(f"review status must be one of {REVIEW_STATUSES}, got {status!r}")
    with store.transaction() as conn:
        _require(conn, interpretation_id)
        conn.execute(
            "INSERT INTO interpretation_reviews (interpretation_id, status, reviewer, note) VALUES (?, ?, ?, ?)",
            [int(interpretation_id), status, reviewer, note],
        )


def edit_interpretation(
    store: Store,
    interpretation_id: int,
    text: str,
    reviewer: str,
    note: str | None = None,
    fields: dict[str, Any] | None = None,
) -> int:
    """A reviewer's corrected text as a new version (origin ``edited``), accepted at once.

    It keeps the prompt of the version it corrects (the question did not change) and
    records the reviewer as its author, so its provenance is never confused with a model's.
    """
    with store.transaction() as conn:
        return _edit(conn, interpretation_id, text, reviewer, note, fields)


def _edit(
    conn: duckdb.DuckDBPyConnection, interpretation_id: int, text: str, reviewer: str, note: str | None,
    fields: dict[str, Any] | None,
) -> int:
    if not text.strip():
        raise InvalidValueError("an edited interpretation cannot be empty; type the corrected text, or reject the version instead")
    collection, kind, window_id, label, desc_index, prompt_id = _require(conn, interpretation_id)
    [new_id] = _insert(
        conn,
        [
            InterpretationIn(
                collection=collection,
                target_kind=kind,
                text=text,
                backend="reviewer",
                model=reviewer,
                valid=True,
                window_id=window_id,
                label=label,
                desc_index=desc_index,
                params={"edited_from": int(interpretation_id)},
                fields=fields or {},
                origin="edited",
                prompt_id=prompt_id,
            )
        ],
    )
    conn.execute(
        "INSERT INTO interpretation_reviews (interpretation_id, status, reviewer, note) VALUES (?, 'accepted', ?, ?)",
        [new_id, reviewer, note],
    )
    return new_id


def list_collections(store: Store) -> pd.DataFrame:
    """One row per collection: what wrote it, how many targets, how many current versions are valid."""
    with store.connect(read_only=False) as conn:
        return conn.execute(
            "SELECT c.collection, string_agg(DISTINCT c.backend, ',' ORDER BY c.backend) AS backends, "
            "string_agg(DISTINCT c.model, ',' ORDER BY c.model) AS models, "
            "count(*) FILTER (WHERE c.target_kind = 'window') AS windows, "
            "count(*) FILTER (WHERE c.target_kind = 'label') AS label_descriptions, "
            "avg(c.valid::INTEGER) AS valid_share, "
            "count(*) FILTER (WHERE c.review_status = 'accepted') AS accepted, "
            "count(*) FILTER (WHERE c.review_status = 'rejected') AS rejected, "
            "(SELECT count(*) FROM interpretations i WHERE i.collection = c.collection) AS versions, "
            "max(c.created_at) AS updated_at "
            "FROM current_interpretations c GROUP BY c.collection ORDER BY c.collection"
        ).df()


def dataset_window_ids(store: Store, dataset: str, limit: int | None = None) -> list[int]:
    """Ids of ``dataset``'s windows in id order (the first ``limit``): the targets of a window run."""
    sql = "SELECT id FROM windows WHERE dataset = ? ORDER BY id"
    args: list[Any] = [dataset]
    if limit is not None:
        sql += " LIMIT ?"
        args.append(int(limit))
    with store.connect(read_only=False) as conn:
        return [int(r[0]) for r in conn.execute(sql, args).fetchall()]


def window_labels(store: Store, dataset: str) -> list[tuple[int, str | None]]:
    """(window id, canonical label) of every window of ``dataset`` in id order, for choosing subsets."""
    with store.connect(read_only=False) as conn:
        rows = conn.execute("SELECT id, label FROM windows WHERE dataset = ? ORDER BY id", [dataset]).fetchall()
    return [(int(i), label) for i, label in rows]


def interpreted_window_ids(store: Store, collection: str, dataset: str | None = None) -> set[int]:
    """Windows (of ``dataset``) with at least one version in ``collection``: what a resumed run skips."""
    sql = "SELECT DISTINCT i.window_id FROM interpretations i"
    args: list[Any] = [collection]
    if dataset is not None:
        sql += " JOIN windows w ON w.id = i.window_id WHERE i.collection = ? AND w.dataset = ?"
        args.append(dataset)
    else:
        sql += " WHERE i.collection = ? AND i.window_id IS NOT NULL"
    with store.connect(read_only=False) as conn:
        return {int(r[0]) for r in conn.execute(sql, args).fetchall()}


def existing_label_targets(store: Store, collection: str) -> set[tuple[str, int]]:
    """``(label, index)`` pairs that already have a description in ``collection``."""
    with store.connect(read_only=False) as conn:
        rows = conn.execute(
            "SELECT DISTINCT label, desc_index FROM interpretations WHERE collection = ? AND target_kind = 'label'",
            [collection],
        ).fetchall()
    return {(str(label), int(index)) for label, index in rows}


def dataset_activities(store: Store, dataset: str) -> list[tuple[str, str | None]]:
    """Canonical activities of ``dataset`` (from its label map and its windows) with display names if known."""
    with store.connect(read_only=False) as conn:
        rows = conn.execute(
            "WITH names AS ("
            " SELECT activity AS name FROM label_map WHERE dataset = ?"
            " UNION SELECT DISTINCT label FROM windows WHERE dataset = ? AND label IS NOT NULL)"
            " SELECT n.name, a.display FROM names n LEFT JOIN activities a ON a.name = n.name ORDER BY n.name",
            [dataset, dataset],
        ).fetchall()
    return [(str(name), display) for name, display in rows]


def store_activities(store: Store) -> list[tuple[str, str]]:
    """Every activity the store knows (built-in and user-added), with its display name."""
    with store.connect(read_only=False) as conn:
        rows = conn.execute("SELECT name, display FROM activities ORDER BY name").fetchall()
    return [(str(n), str(d)) for n, d in rows]


def window_positions(store: Store, datasets: Sequence[str]) -> pd.DataFrame:
    """window_id, dataset, recording_key, start_sample for ``datasets``: how exported rows re-attach."""
    with store.connect(read_only=False) as conn:
        return conn.execute(
            "SELECT w.id AS window_id, w.dataset, r.key AS recording_key, w.start_sample "
            "FROM windows w JOIN recordings r ON r.id = w.recording_id WHERE list_contains(?, w.dataset)",
            [list(datasets)],
        ).df()


def export_rows(store: Store, collection: str, datasets: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Every generated version of ``collection`` with its prompt and the window's position, by target then version."""
    sql = (
        "SELECT i.id, i.target_kind, i.label, i.desc_index, i.version, i.parent_id, i.backend, i.model, i.params, "
        "i.text, i.fields, i.valid, i.invalid_reason, i.origin, i.prompt_tokens, i.completion_tokens, i.cost_usd, "
        "i.latency_s, p.template, p.version AS prompt_version, p.messages, p.cache_key, "
        "w.dataset, r.key AS recording_key, w.start_sample "
        "FROM interpretations i LEFT JOIN prompts p ON p.id = i.prompt_id "
        "LEFT JOIN windows w ON w.id = i.window_id LEFT JOIN recordings r ON r.id = w.recording_id "
        "WHERE i.collection = ? AND i.origin <> 'edited'"
    )
    args: list[Any] = [collection]
    if datasets is not None:
        sql += " AND (i.target_kind = 'label' OR list_contains(?, w.dataset))"
        args.append(list(datasets))
    sql += " ORDER BY i.target_key, i.version"
    with store.connect(read_only=False) as conn:
        cursor = conn.execute(sql, args)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


# ---------------------------------------------------------------- the review decision log

DECISION_STATES = ("done", "undone", "dropped")
CANDIDATE_NOTE = "candidate: awaiting the reviewer's choice"
KEEP_ACTIONS = ("keep-candidate", "keep-current")  # undoing one puts the candidate back to waiting


@dataclass(frozen=True)
class StatusChange:
    """One interpretation's status after the decision (``redo_status``) and before it (``undo_status``)."""

    interpretation_id: int
    undo_status: str
    redo_status: str


@dataclass(frozen=True)
class Decision:
    """One reviewer decision (a bulk action is one) with the status changes that make and unmake it."""

    id: int
    reviewer: str
    collection: str
    action: str
    description: str
    state: str
    created_at: datetime
    changes: tuple[StatusChange, ...]


def _write_statuses(conn: duckdb.DuckDBPyConnection, pairs: Sequence[tuple[int, str]], reviewer: str, note: str) -> None:
    for _, status in pairs:
        if status not in REVIEW_STATUSES:
            raise ValueError(f"review status must be one of {REVIEW_STATUSES}, got {status!r}")
    if not pairs:
        return
    frame = pd.DataFrame({"interpretation_id": [int(i) for i, _ in pairs], "status": [s for _, s in pairs]})
    conn.register("new_statuses", frame)
    try:
        conn.execute(
            "INSERT INTO interpretation_reviews (interpretation_id, status, reviewer, note) "
            "SELECT interpretation_id, status, ?, ? FROM new_statuses",
            [reviewer, note],
        )
    finally:
        conn.unregister("new_statuses")


def _log_decision(
    conn: duckdb.DuckDBPyConnection, reviewer: str, collection: str, action: str, description: str,
    changes: Sequence[StatusChange],
) -> int:
    """Append a decision and its changes; the reviewer's undone decisions can no longer be redone."""
    conn.execute("UPDATE review_decisions SET state = 'dropped', undo_seq = NULL WHERE reviewer = ? AND state = 'undone'", [reviewer])
    [(decision_id,)] = conn.execute(
        "INSERT INTO review_decisions (reviewer, collection, action, description) VALUES (?, ?, ?, ?) RETURNING id",
        [reviewer, collection, action, description],
    ).fetchall()
    if changes:
        frame = pd.DataFrame(
            {
                "interpretation_id": [int(c.interpretation_id) for c in changes],
                "undo_status": [c.undo_status for c in changes],
                "redo_status": [c.redo_status for c in changes],
            }
        )
        conn.register("new_changes", frame)
        try:
            conn.execute(
                "INSERT INTO review_decision_changes SELECT ?, interpretation_id, undo_status, redo_status FROM new_changes",
                [int(decision_id)],
            )
        finally:
            conn.unregister("new_changes")
    return int(decision_id)


def statuses(store: Store, interpretation_ids: Sequence[int]) -> dict[int, str]:
    """The review status of each interpretation (``unreviewed`` when it never had a decision)."""
    ids = [int(i) for i in interpretation_ids]
    if not ids:
        return {}
    with store.connect(read_only=False) as conn:
        rows = conn.execute(
            "SELECT id, review_status FROM interpretation_status WHERE list_contains(?, id)", [ids]
        ).fetchall()
    return {int(i): str(s) for i, s in rows}


def decide(
    store: Store, reviewer: str, collection: str, action: str, description: str, changes: Sequence[StatusChange]
) -> int:
    """Apply status changes (their ``redo_status``) and log them as one undoable decision; returns its id.

    One transaction: either every interpretation of a bulk action changes and the decision
    is logged, or nothing happens.
    """
    ids = sorted({int(c.interpretation_id) for c in changes})
    with store.transaction() as conn:
        known = {int(r[0]) for r in conn.execute("SELECT id FROM interpretations WHERE list_contains(?, id)", [ids]).fetchall()}
        missing = [i for i in ids if i not in known]
        if missing:
            raise NotFoundError(f"no interpretation with id {missing[0]}; nothing of the {action} was applied")
        _write_statuses(conn, [(c.interpretation_id, c.redo_status) for c in changes], reviewer, f"{action}: {description}")
        return _log_decision(conn, reviewer, collection, action, description, changes)


def decide_edit(store: Store, reviewer: str, interpretation_id: int, text: str) -> tuple[int, int]:
    """A reviewer's edit (new accepted version, see ``edit_interpretation``) logged as a decision; (new id, decision id).

    Undo rejects the edited version, which hands "current" back to the version it corrected.
    """
    with store.transaction() as conn:
        new_id = _edit(conn, interpretation_id, text, reviewer, None, None)
        collection, _, window_id, *_ = _require(conn, new_id)
        decision = _log_decision(conn, reviewer, collection, "edit", f"edited #{interpretation_id} into #{new_id} (window #{window_id})",
                                 [StatusChange(new_id, "rejected", "accepted")])
    return new_id, decision


def mark_candidate(store: Store, interpretation_id: int, reviewer: str) -> None:
    """Keep a reviewer-requested regeneration out of "current" until the reviewer keeps it (a rejected review row with ``CANDIDATE_NOTE``)."""
    set_review(store, interpretation_id, "rejected", reviewer, note=CANDIDATE_NOTE)


def pending_candidate(store: Store, collection: str, window_id: int) -> int | None:
    """The newest version of a window if it is a candidate still waiting for the reviewer's choice."""
    with store.connect(read_only=False) as conn:
        row = conn.execute(
            "SELECT id, review_note FROM interpretation_status WHERE collection = ? AND target_key = ? "
            "ORDER BY version DESC LIMIT 1",
            [collection, window_target(window_id)],
        ).fetchall()
    return int(row[0][0]) if row and row[0][1] == CANDIDATE_NOTE else None


def _decision(conn: duckdb.DuckDBPyConnection, row: tuple) -> Decision:
    changes = conn.execute(
        "SELECT interpretation_id, undo_status, redo_status FROM review_decision_changes WHERE decision_id = ?", [row[0]]
    ).fetchall()
    return Decision(int(row[0]), row[1], row[2], row[3], row[4], row[5], row[6],
                    tuple(StatusChange(int(i), u, r) for i, u, r in changes))


_DECISION_COLUMNS = "id, reviewer, collection, action, description, state, created_at"


def _next(conn: duckdb.DuckDBPyConnection, reviewer: str, state: str) -> tuple | None:
    order = "id DESC" if state == "done" else "undo_seq DESC"
    rows = conn.execute(
        f"SELECT {_DECISION_COLUMNS} FROM review_decisions WHERE reviewer = ? AND state = ? ORDER BY {order} LIMIT 1",
        [reviewer, state],
    ).fetchall()
    return rows[0] if rows else None


def undoable(store: Store, reviewer: str) -> Decision | None:
    """The reviewer's newest decision still in force (what undo would unmake)."""
    with store.connect(read_only=False) as conn:
        row = _next(conn, reviewer, "done")
        return _decision(conn, row) if row else None


def redoable(store: Store, reviewer: str) -> Decision | None:
    """The reviewer's most recently undone decision (what redo would make again), unless a new decision came since."""
    with store.connect(read_only=False) as conn:
        row = _next(conn, reviewer, "undone")
        return _decision(conn, row) if row else None


def undo_decision(store: Store, reviewer: str) -> Decision:
    """Unmake the reviewer's newest decision: each interpretation gets its status from before it (a new review row)."""
    with store.transaction() as conn:
        row = _next(conn, reviewer, "done")
        if row is None:
            raise NotFoundError(f"reviewer {reviewer!r} has no decision to undo")
        decision = _decision(conn, row)
        note = CANDIDATE_NOTE if decision.action in KEEP_ACTIONS else f"undo: {decision.description}"
        _write_statuses(conn, [(c.interpretation_id, c.undo_status) for c in decision.changes], reviewer, note)
        conn.execute(
            "UPDATE review_decisions SET state = 'undone', undo_seq = nextval('review_undo_seq') WHERE id = ?", [decision.id]
        )
    return decision


def redo_decision(store: Store, reviewer: str) -> Decision:
    """Make the reviewer's most recently undone decision again."""
    with store.transaction() as conn:
        row = _next(conn, reviewer, "undone")
        if row is None:
            raise NotFoundError(f"reviewer {reviewer!r} has nothing to redo (a new decision clears the redo list)")
        decision = _decision(conn, row)
        _write_statuses(conn, [(c.interpretation_id, c.redo_status) for c in decision.changes], reviewer,
                        f"redo: {decision.description}")
        conn.execute("UPDATE review_decisions SET state = 'done', undo_seq = NULL WHERE id = ?", [decision.id])
    return decision


def decision_log(store: Store, reviewer: str, limit: int = 20) -> pd.DataFrame:
    """The reviewer's newest decisions: id, action, description, state, changes (count), created_at."""
    with store.connect(read_only=False) as conn:
        return conn.execute(
            "SELECT d.id, d.action, d.description, d.state, count(c.interpretation_id) AS changes, d.created_at "
            "FROM review_decisions d LEFT JOIN review_decision_changes c ON c.decision_id = d.id "
            "WHERE d.reviewer = ? GROUP BY ALL ORDER BY d.id DESC LIMIT ?",
            [reviewer, int(limit)],
        ).df()


def change_marks(store: Store) -> tuple[int, int, int]:
    """(newest interpretation id, newest review row id, newest quality run id + finished runs): changes when any of them does.

    Pages key their caches by it, so a heavy read (a collection's current texts, its flags)
    reruns only when the store changed, whichever session or process changed it.
    """
    with store.connect(read_only=False) as conn:
        [(interpretation, review, quality)] = conn.execute(
            "SELECT (SELECT coalesce(max(id), 0) FROM interpretations), "
            "(SELECT coalesce(max(id), 0) FROM interpretation_reviews), "
            "(SELECT coalesce(max(id), 0) * 100000 + count(finished_at) FROM quality_runs)"
        ).fetchall()
    return int(interpretation), int(review), int(quality)


def current_window_index(store: Store, collection: str) -> pd.DataFrame:
    """The current version per window of ``collection`` without its text: what a queue or a map legend needs.

    Columns: interpretation_id, window_id, dataset, label, valid, origin, review_status, version.
    About half the cost of ``current_window_interpretations`` on a 100k-window store (no
    text to move, no fields to decode).
    """
    with store.connect(read_only=False) as conn:
        return conn.execute(
            "SELECT c.id AS interpretation_id, c.window_id, w.dataset, w.label, c.valid, c.origin, c.review_status, "
            "c.version FROM current_interpretations c JOIN windows w ON w.id = c.window_id "
            "WHERE c.collection = ? AND c.target_kind = 'window' ORDER BY c.window_id",
            [collection],
        ).df()
