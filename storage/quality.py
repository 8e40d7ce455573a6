"""Quality-control records: runs, flags, re-generation iterations and candidates, fact checks, KL tables.

Everything is appended per run and never rewritten, so the app can show why an
interpretation was flagged in any earlier run, and which candidates a re-generation tried
and rejected. Interpretation versions themselves are written by ``storage.interpretations``;
this module only keeps the ids that link to them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from lanhar_core.errors import InvalidValueError, NotFoundError
from lanhar_core.jobs import RUN_STATUSES
from storage.db import Store, returned_id

RUN_KINDS = ("flag", "regenerate", "factcheck", "kl")
FLAG_REASONS = ("outlier", "contradiction", "both")
DECISIONS = ("accepted", "rejected", "unchanged", "invalid", "failed")


@dataclass(frozen=True)
class QualityRun:
    id: int
    kind: str
    collection: str | None
    dataset: str | None
    backend: str | None
    params: dict[str, Any]
    job_id: int | None
    status: str
    summary: dict[str, Any]
    error: str | None
    started_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True)
class FlagRow:
    interpretation_id: int
    window_id: int | None
    grp: str
    cluster: int
    distance: float
    cluster_mean_distance: float | None
    rank: int | None
    reason: str
    n_contradictions: int = 0


@dataclass(frozen=True)
class IterationRow:
    iteration: int
    n_items: int
    n_flagged: int
    n_regenerated: int
    n_accepted: int
    n_rejected: int
    n_unchanged: int
    n_invalid: int
    n_failed: int
    n_locked: int
    mean_distance_before: float
    mean_distance_after: float


@dataclass(frozen=True)
class CandidateRow:
    interpretation_id: int
    window_id: int | None
    text: str
    decision: str
    distance_before: float | None
    distance_after: float | None
    contradictions_before: int | None
    contradictions_after: int | None
    error: str | None = None
    new_interpretation_id: int | None = None


@dataclass(frozen=True)
class FactCheckRow:
    interpretation_id: int
    window_id: int | None
    claim: str
    feature: str
    claimed_value: float | None
    measured_value: float
    rule: str
    severity: str


@dataclass(frozen=True)
class KLRow:
    label: str
    same_kl: float
    different_kl: float
    relative_kl: float
    n_a: int
    n_b: int


_RUN_COLUMNS = "id, kind, collection, dataset, backend, params, job_id, status, summary, error, started_at, finished_at"


def _run(row: tuple) -> QualityRun:
    values = list(row)
    values[5] = json.loads(values[5]) if values[5] else {}
    values[8] = json.loads(values[8]) if values[8] else {}
    return QualityRun(*values)


def create_run(
    store: Store,
    kind: str,
    collection: str | None,
    dataset: str | None,
    params: dict[str, Any],
    backend: str | None = None,
    job_id: int | None = None,
) -> int:
    """A new run row in state ``running``; its id groups every record the run writes."""
    if kind not in RUN_KINDS:
        raise InvalidValueError(f"quality run kind must be one of {RUN_KINDS}, got {kind!r}")
    with store.connect() as conn:
        row = conn.execute(
            "INSERT INTO quality_runs (kind, collection, dataset, backend, params, job_id) "
            "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            [kind, collection, dataset, backend, json.dumps(params, default=str), job_id],
        ).fetchone()
    return returned_id(row)


def finish_run(
    store: Store, run_id: int, status: str, summary: dict[str, Any] | None = None, error: str | None = None
) -> None:
    """Close a run with its outcome and the summary the CLI and app display."""
    if status not in RUN_STATUSES[1:]:
        raise InvalidValueError(f"a run finishes as one of {RUN_STATUSES[1:]}, got {status!r}")
    with store.connect() as conn:
        conn.execute(
            "UPDATE quality_runs SET status = ?, summary = ?, error = ?, finished_at = current_timestamp WHERE id = ?",
            [status, json.dumps(summary or {}, default=str), error, int(run_id)],
        )


def get_run(store: Store, run_id: int) -> QualityRun:
    with store.connect() as conn:
        row = conn.execute(f"SELECT {_RUN_COLUMNS} FROM quality_runs WHERE id = ?", [int(run_id)]).fetchone()
    if row is None:
        raise NotFoundError(f"no quality run with id {run_id}; `lanhar quality runs` lists them")
    return _run(row)


def list_runs(
    store: Store, kind: str | None = None, collection: str | None = None, limit: int = 50
) -> list[QualityRun]:
    """Newest first, optionally one kind and/or collection."""
    sql = f"SELECT {_RUN_COLUMNS} FROM quality_runs WHERE 1 = 1"
    args: list[Any] = []
    if kind:
        sql += " AND kind = ?"
        args.append(kind)
    if collection:
        sql += " AND collection = ?"
        args.append(collection)
    sql += " ORDER BY id DESC LIMIT ?"
    args.append(int(limit))
    with store.connect() as conn:
        return [_run(r) for r in conn.execute(sql, args).fetchall()]


def _insert_rows(conn: Any, table: str, rows: list[dict[str, Any]], int_columns: Sequence[str] = ()) -> None:
    """Bulk insert through a registered frame; ``int_columns`` are nullable integers (NaN would make them floats)."""
    if not rows:
        return
    frame = pd.DataFrame.from_records(rows).astype({c: "Int64" for c in int_columns})
    conn.register("quality_rows", frame)
    try:
        columns = ", ".join(frame.columns)
        conn.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM quality_rows")
    finally:
        conn.unregister("quality_rows")


def add_flags(store: Store, run_id: int, iteration: int, flags: Sequence[FlagRow]) -> None:
    bad = {f.reason for f in flags} - set(FLAG_REASONS)
    if bad:
        raise InvalidValueError(f"flag reasons must be in {FLAG_REASONS}, got {sorted(bad)}")
    rows = [{"run_id": int(run_id), "iteration": int(iteration), **asdict(f)} for f in flags]
    with store.transaction() as conn:
        _insert_rows(conn, "quality_flags", rows, ("window_id", "rank"))


def record_iteration(
    store: Store,
    run_id: int,
    iteration: IterationRow,
    flags: Sequence[FlagRow],
    candidates: Sequence[CandidateRow],
) -> None:
    """One re-generation iteration (its counts, flags and candidates) in one transaction."""
    bad = {c.decision for c in candidates} - set(DECISIONS)
    if bad:
        raise InvalidValueError(f"candidate decisions must be in {DECISIONS}, got {sorted(bad)}")
    with store.transaction() as conn:
        _insert_rows(conn, "quality_iterations", [{"run_id": int(run_id), **asdict(iteration)}])
        _insert_rows(
            conn,
            "quality_flags",
            [{"run_id": int(run_id), "iteration": iteration.iteration, **asdict(f)} for f in flags],
            ("window_id", "rank"),
        )
        _insert_rows(
            conn,
            "quality_candidates",
            [{"run_id": int(run_id), "iteration": iteration.iteration, **asdict(c)} for c in candidates],
            ("window_id", "new_interpretation_id", "contradictions_before", "contradictions_after"),
        )


def add_fact_checks(store: Store, run_id: int, rows: Sequence[FactCheckRow]) -> None:
    with store.transaction() as conn:
        _insert_rows(conn, "quality_fact_checks", [{"run_id": int(run_id), **asdict(r)} for r in rows], ("window_id",))


def add_kl(
    store: Store,
    run_id: int,
    dataset_a: str,
    dataset_b: str,
    repr_name: str,
    estimator: str,
    rows: Sequence[KLRow],
    collection: str | None = None,
    variant: str = "current",
) -> None:
    records = [
        {
            "run_id": int(run_id),
            "variant": variant,
            "dataset_a": dataset_a,
            "dataset_b": dataset_b,
            "repr": repr_name,
            "collection": collection,
            "estimator": estimator,
            **asdict(r),
        }
        for r in rows
    ]
    with store.transaction() as conn:
        _insert_rows(conn, "quality_kl", records)


def _frame(store: Store, sql: str, args: list[Any]) -> pd.DataFrame:
    with store.connect() as conn:
        return conn.execute(sql, args).df()


def flags(
    store: Store, run_id: int | None = None, interpretation_id: int | None = None, window_id: int | None = None
) -> pd.DataFrame:
    """Flag rows with their run's kind and collection, newest run first (why something was flagged)."""
    sql = (
        "SELECT f.*, r.kind AS run_kind, r.collection, r.dataset, r.started_at FROM quality_flags f "
        "JOIN quality_runs r ON r.id = f.run_id WHERE 1 = 1"
    )
    args: list[Any] = []
    for column, value in (("f.run_id", run_id), ("f.interpretation_id", interpretation_id), ("f.window_id", window_id)):
        if value is not None:
            sql += f" AND {column} = ?"
            args.append(int(value))
    return _frame(store, sql + " ORDER BY f.run_id DESC, f.iteration, f.grp, f.rank NULLS LAST", args)


def iterations(store: Store, run_id: int) -> pd.DataFrame:
    return _frame(store, "SELECT * FROM quality_iterations WHERE run_id = ? ORDER BY iteration", [int(run_id)])


def candidates(store: Store, run_id: int | None = None, window_id: int | None = None) -> pd.DataFrame:
    """Candidates of a run or of one window across runs, oldest first."""
    sql = "SELECT * FROM quality_candidates WHERE 1 = 1"
    args: list[Any] = []
    for column, value in (("run_id", run_id), ("window_id", window_id)):
        if value is not None:
            sql += f" AND {column} = ?"
            args.append(int(value))
    return _frame(store, sql + " ORDER BY id", args)


def fact_checks(store: Store, run_id: int | None = None, interpretation_id: int | None = None) -> pd.DataFrame:
    sql = "SELECT * FROM quality_fact_checks WHERE 1 = 1"
    args: list[Any] = []
    for column, value in (("run_id", run_id), ("interpretation_id", interpretation_id)):
        if value is not None:
            sql += f" AND {column} = ?"
            args.append(int(value))
    return _frame(store, sql + " ORDER BY run_id DESC, interpretation_id", args)


def kl_results(store: Store, run_id: int | None = None) -> pd.DataFrame:
    sql = "SELECT k.*, r.started_at FROM quality_kl k JOIN quality_runs r ON r.id = k.run_id"
    args: list[Any] = []
    if run_id is not None:
        sql += " WHERE k.run_id = ?"
        args.append(int(run_id))
    return _frame(store, sql + " ORDER BY k.run_id DESC, k.variant, k.label", args)


def texts_before_run(store: Store, run_id: int) -> dict[int, str]:
    """window id -> the text a re-generation run replaced first (only windows it changed).

    With the current texts this gives the set as it was before the run, for before/after
    comparisons (relative KL) without keeping a copy of the whole collection.
    """
    with store.connect() as conn:
        rows = conn.execute(
            "SELECT c.window_id, i.text FROM ("
            " SELECT window_id, arg_min(interpretation_id, id) AS first_id FROM quality_candidates"
            " WHERE run_id = ? AND decision = 'accepted' AND window_id IS NOT NULL GROUP BY window_id"
            ") c JOIN interpretations i ON i.id = c.first_id",
            [int(run_id)],
        ).fetchall()
    return {int(w): str(t) for w, t in rows}
