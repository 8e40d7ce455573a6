"""Benchmark invocations and their results (migration 005).

Every number a benchmark prints is a row here first, with the configuration and code
version that produced it, so tables can be re-printed (``lanhar bench results``) and
compared across code versions without re-running anything. A benchmark row is created
when the run starts and closed with its status, so an interrupted run keeps the results
it finished.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from lanhar_core.errors import InvalidValueError, NotFoundError
from lanhar_core.jobs import RUN_STATUSES
from storage.db import Store, returned_id

STATUSES = RUN_STATUSES


@dataclass(frozen=True)
class ResultIn:
    """One method's scores on one (source, target) pair for one seed."""

    protocol: str
    source: str
    target: str
    method: str
    variant: str
    seed: int
    metrics: dict[str, Any]
    config: dict[str, Any]
    wall_s: float


@dataclass(frozen=True)
class Benchmark:
    id: str
    protocol: str
    params: dict[str, Any]
    code_version: str
    status: str
    wall_s: float
    error: str | None
    created_at: datetime
    finished_at: datetime | None


def _json(value: Any) -> str:
    return json.dumps(value, default=str, sort_keys=True)


def create_benchmark(store: Store, protocol: str, params: dict[str, Any], code_version: str) -> str:
    """Open a ``running`` benchmark; its id is the protocol, a UTC timestamp and a random suffix."""
    benchmark_id = f"{protocol}-{datetime.utcnow():%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
    with store.connect() as conn:
        conn.execute(
            "INSERT INTO benchmarks (id, protocol, params, code_version, status) VALUES (?, ?, ?, ?, 'running')",
            [benchmark_id, protocol, _json(params), code_version],
        )
    return benchmark_id


def finish_benchmark(store: Store, benchmark_id: str, status: str, wall_s: float, error: str | None = None) -> None:
    if status not in STATUSES or status == "running":
        raise InvalidValueError(f"a benchmark finishes as one of {STATUSES[1:]}, not {status!r}")
    with store.connect() as conn:
        conn.execute(
            "UPDATE benchmarks SET status = ?, wall_s = ?, error = ?, finished_at = current_timestamp WHERE id = ?",
            [status, wall_s, error, benchmark_id],
        )


def add_result(store: Store, benchmark_id: str, result: ResultIn, code_version: str) -> int:
    """Store one result row; returns its id."""
    with store.connect() as conn:
        row = conn.execute(
            "INSERT INTO eval_results (benchmark_id, protocol, source, target, method, variant, seed, metrics, "
            "config, wall_s, code_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            [
                benchmark_id, result.protocol, result.source, result.target, result.method, result.variant,
                int(result.seed), _json(result.metrics), _json(result.config), float(result.wall_s), code_version,
            ],
        ).fetchone()
    return returned_id(row)


def get_benchmark(store: Store, benchmark_id: str) -> Benchmark:
    with store.connect() as conn:
        row = conn.execute(
            "SELECT id, protocol, params, code_version, status, wall_s, error, created_at, finished_at "
            "FROM benchmarks WHERE id = ?",
            [benchmark_id],
        ).fetchone()
    if row is None:
        raise NotFoundError(f"no benchmark {benchmark_id!r}; `lanhar bench results --list` shows them")
    values = list(row)
    values[2] = json.loads(values[2])
    return Benchmark(*values)


def list_benchmarks(store: Store, protocol: str | None = None, limit: int = 50) -> pd.DataFrame:
    """Benchmarks newest first, with how many results each stored."""
    sql = (
        "SELECT b.id, b.protocol, b.status, b.wall_s, b.created_at, count(r.id) AS results FROM benchmarks b "
        "LEFT JOIN eval_results r ON r.benchmark_id = b.id"
    )
    args: list[Any] = []
    if protocol:
        sql += " WHERE b.protocol = ?"
        args.append(protocol)
    sql += " GROUP BY ALL ORDER BY b.created_at DESC, b.id DESC LIMIT ?"
    args.append(int(limit))
    with store.connect() as conn:
        return conn.execute(sql, args).df()


def latest_benchmark(store: Store, protocol: str | None = None) -> str | None:
    """Id of the newest benchmark (optionally of one protocol) that stored at least one result."""
    frame = list_benchmarks(store, protocol)
    frame = frame[frame["results"] > 0]
    return None if frame.empty else str(frame.iloc[0]["id"])


def results(store: Store, benchmark_id: str) -> pd.DataFrame:
    """Result rows of one benchmark, metrics and config decoded to dicts."""
    with store.connect() as conn:
        frame = conn.execute(
            "SELECT id, benchmark_id, protocol, source, target, method, variant, seed, metrics, config, wall_s, "
            "code_version, created_at FROM eval_results WHERE benchmark_id = ? ORDER BY id",
            [benchmark_id],
        ).df()
    frame["metrics"] = [json.loads(v) for v in frame["metrics"]]
    frame["config"] = [json.loads(v) for v in frame["config"]]
    return frame
