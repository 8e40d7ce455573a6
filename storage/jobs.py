"""Job state: what long operations are doing, so the CLI and the app can both show it."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lanhar_core.errors import InvalidValueError, NotFoundError
from lanhar_core.jobs import RUN_STATUSES
from storage.db import Store, newest_rows, returned_id

TERMINAL = RUN_STATUSES[1:]
"""A job in one of these has ended (``lanhar_core.jobs`` says what each means)."""


@dataclass(frozen=True)
class JobState:
    id: int
    kind: str
    status: str
    params: dict[str, Any]
    done: int
    total: int | None
    message: str | None
    error: str | None
    pid: int | None
    cancel_requested: bool
    started_at: datetime
    updated_at: datetime
    finished_at: datetime | None

    @property
    def fraction(self) -> float | None:
        return None if not self.total else min(1.0, self.done / self.total)


_COLUMNS = (
    "id, kind, status, params, done, total, message, error, pid, cancel_requested, "
    "started_at, updated_at, finished_at"
)


def _row_to_state(row: tuple) -> JobState:
    values = list(row)
    values[3] = json.loads(values[3]) if values[3] else {}
    return JobState(*values)


def create_job(store: Store, kind: str, params: dict[str, Any], total: int | None = None) -> int:
    with store.connect() as conn:
        row = conn.execute(
            "INSERT INTO jobs (kind, status, params, total, pid) VALUES (?, 'running', ?, ?, ?) RETURNING id",
            [kind, json.dumps(params, default=str), total, os.getpid()],
        ).fetchone()
    return returned_id(row)


def update_job(store: Store, job_id: int, done: int, total: int | None, message: str | None) -> bool:
    """Record progress; returns whether a cancel was requested (by this or another process)."""
    with store.connect() as conn:
        row = conn.execute(
            "UPDATE jobs SET done = ?, total = coalesce(?, total), message = ?, updated_at = current_timestamp "
            "WHERE id = ? RETURNING cancel_requested",
            [done, total, message, job_id],
        ).fetchone()
    return bool(row and row[0])


def finish_job(store: Store, job_id: int, status: str, error: str | None = None, message: str | None = None) -> None:
    if status not in TERMINAL:
        raise InvalidValueError(f"job status must be one of {TERMINAL}, got {status!r}")
    with store.connect() as conn:
        conn.execute(
            "UPDATE jobs SET status = ?, error = ?, message = coalesce(?, message), "
            "finished_at = current_timestamp, updated_at = current_timestamp WHERE id = ?",
            [status, error, message, job_id],
        )


def request_cancel(store: Store, job_id: int) -> None:
    with store.connect() as conn:
        conn.execute("UPDATE jobs SET cancel_requested = true WHERE id = ?", [job_id])


def get_job(store: Store, job_id: int) -> JobState:
    with store.connect() as conn:
        row = conn.execute(f"SELECT {_COLUMNS} FROM jobs WHERE id = ?", [job_id]).fetchone()
    if row is None:
        raise NotFoundError(f"no job with id {job_id}")
    return _row_to_state(row)


def list_jobs(store: Store, kind: str | None = None, limit: int = 50) -> list[JobState]:
    return [_row_to_state(r) for r in newest_rows(store, "jobs", _COLUMNS, kind, limit)]


def mark_stale_jobs_interrupted(store: Store) -> int:
    """Jobs left 'running' by a process that no longer exists were interrupted (crash, kill)."""
    stale = []
    for job in list_jobs(store, limit=1000):
        if job.status == "running" and job.pid and not pid_alive(job.pid):
            stale.append(job.id)
    for job_id in stale:
        finish_job(store, job_id, "interrupted", error="the process running this job ended unexpectedly")
    return len(stale)


def pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
