"""Training runs: what was trained, on what, by which code, how it went, and where the results are.

A run row is created when training starts and updated at every epoch, so a run that is
killed still shows how far it got; ``mark_stale_runs_interrupted`` repairs the status of
runs whose process died. Resuming a run flips it back to ``running`` and keeps its id,
epochs and accumulated wall time. Stage 2 points at its stage-1 run through ``parent_run_id``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from lanhar_core.errors import InvalidValueError, NotFoundError, RunStateError
from lanhar_core.jobs import RUN_STATUSES
from storage.db import Store, newest_rows, returned_id
from storage.jobs import pid_alive

STATUSES = RUN_STATUSES


@dataclass(frozen=True)
class RunRecord:
    id: int
    kind: str
    status: str
    config: dict[str, Any]
    seed: int
    data_selection: dict[str, Any]
    code_version: str
    parent_run_id: int | None
    pid: int | None
    epochs_done: int
    steps_done: int
    wall_s: float
    error: str | None
    summary: dict[str, Any]
    started_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True)
class EpochRecord:
    run_id: int
    epoch: int
    step: int
    losses: dict[str, float]
    val_metrics: dict[str, Any]
    wall_s: float


_COLUMNS = (
    "id, kind, status, config, seed, data_selection, code_version, parent_run_id, pid, epochs_done, "
    "steps_done, wall_s, error, summary, started_at, finished_at"
)


def _record(row: tuple) -> RunRecord:
    values = list(row)
    for i in (3, 5, 13):
        values[i] = json.loads(values[i]) if values[i] else {}
    return RunRecord(*values)


def _json(value: Any) -> str:
    return json.dumps(value, default=str, sort_keys=True)


def create_run(
    store: Store,
    kind: str,
    config: dict[str, Any],
    seed: int,
    data_selection: dict[str, Any],
    code_version: str,
    parent_run_id: int | None = None,
) -> int:
    """Insert a ``running`` run owned by this process; returns its id."""
    if parent_run_id is not None:
        get_run(store, parent_run_id)
    with store.connect() as conn:
        row = conn.execute(
            "INSERT INTO training_runs (kind, status, config, seed, data_selection, code_version, parent_run_id, pid) "
            "VALUES (?, 'running', ?, ?, ?, ?, ?, ?) RETURNING id",
            [kind, _json(config), seed, _json(data_selection), code_version, parent_run_id, os.getpid()],
        ).fetchone()
    return returned_id(row)


def get_run(store: Store, run_id: int) -> RunRecord:
    with store.connect() as conn:
        row = conn.execute(f"SELECT {_COLUMNS} FROM training_runs WHERE id = ?", [run_id]).fetchone()
    if row is None:
        raise NotFoundError(f"no training run with id {run_id}; `lanhar train list` shows the runs")
    return _record(row)


def list_runs(store: Store, kind: str | None = None, limit: int = 50) -> list[RunRecord]:
    """Newest first."""
    return [_record(r) for r in newest_rows(store, "training_runs", _COLUMNS, kind, limit)]


def latest_run(store: Store, kind: str, status: str = "finished") -> RunRecord | None:
    """The newest run of ``kind`` in ``status`` (stage 2 uses it to find its stage-1 parent)."""
    with store.connect() as conn:
        row = conn.execute(
            f"SELECT {_COLUMNS} FROM training_runs WHERE kind = ? AND status = ? ORDER BY id DESC LIMIT 1",
            [kind, status],
        ).fetchone()
    return _record(row) if row else None


def record_epoch(
    store: Store,
    run_id: int,
    epoch: int,
    step: int,
    losses: dict[str, float],
    val_metrics: dict[str, Any],
    wall_s: float,
) -> None:
    """Store one epoch's metrics and advance the run's counters; ``wall_s`` is the run's total so far.

    Re-recording an epoch (a resumed run redoing an epoch that was cut short) replaces it.
    """
    with store.transaction() as conn:
        conn.execute("DELETE FROM training_epochs WHERE run_id = ? AND epoch = ?", [run_id, epoch])
        conn.execute(
            "INSERT INTO training_epochs (run_id, epoch, step, losses, val_metrics, wall_s) VALUES (?, ?, ?, ?, ?, ?)",
            [run_id, epoch, step, _json(losses), _json(val_metrics), wall_s],
        )
        conn.execute(
            "UPDATE training_runs SET epochs_done = ?, steps_done = ?, wall_s = ? WHERE id = ?",
            [epoch, step, wall_s, run_id],
        )


def epoch_records(store: Store, run_id: int) -> list[EpochRecord]:
    with store.connect() as conn:
        rows = conn.execute(
            "SELECT run_id, epoch, step, losses, val_metrics, wall_s FROM training_epochs WHERE run_id = ? ORDER BY epoch",
            [run_id],
        ).fetchall()
    return [EpochRecord(r[0], r[1], r[2], json.loads(r[3]), json.loads(r[4]), r[5]) for r in rows]


def reopen_run(store: Store, run_id: int) -> RunRecord:
    """Mark a stopped run as running again in this process (for resuming); a finished run stays closed."""
    run = get_run(store, run_id)
    if run.status == "finished":
        raise RunStateError(f"run {run_id} already finished; start a new run instead of resuming it")
    if run.status == "running" and run.pid and run.pid != os.getpid() and pid_alive(run.pid):
        raise RunStateError(f"run {run_id} is still running in process {run.pid}; stop it before resuming")
    with store.connect() as conn:
        conn.execute(
            "UPDATE training_runs SET status = 'running', pid = ?, error = NULL, finished_at = NULL WHERE id = ?",
            [os.getpid(), run_id],
        )
    return get_run(store, run_id)


def finish_run(
    store: Store,
    run_id: int,
    status: str,
    wall_s: float,
    error: str | None = None,
    summary: dict[str, Any] | None = None,
) -> None:
    """Close a run with its final status (finished, failed or interrupted) and total wall time."""
    if status not in STATUSES or status == "running":
        raise InvalidValueError(f"a run finishes as one of {STATUSES[1:]}, not {status!r}")
    with store.connect() as conn:
        conn.execute(
            "UPDATE training_runs SET status = ?, wall_s = ?, error = ?, summary = coalesce(?, summary), "
            "finished_at = current_timestamp WHERE id = ?",
            [status, wall_s, error, _json(summary) if summary is not None else None, run_id],
        )


def add_artifact(store: Store, run_id: int, name: str, path: Path) -> None:
    """Record (or replace) a named file or directory the run produced."""
    path = Path(path)
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.is_dir() else path.stat().st_size
    with store.transaction() as conn:
        conn.execute("DELETE FROM training_artifacts WHERE run_id = ? AND name = ?", [run_id, name])
        conn.execute(
            "INSERT INTO training_artifacts (run_id, name, path, size_bytes) VALUES (?, ?, ?, ?)",
            [run_id, name, str(path), size],
        )


def artifacts(store: Store, run_id: int) -> dict[str, Path]:
    """Artifact name -> path for one run."""
    with store.connect() as conn:
        rows = conn.execute("SELECT name, path FROM training_artifacts WHERE run_id = ? ORDER BY name", [run_id]).fetchall()
    return {name: Path(path) for name, path in rows}


def mark_stale_runs_interrupted(store: Store) -> int:
    """Runs left ``running`` by a process that no longer exists were interrupted (crash, kill)."""
    with store.connect() as conn:
        rows = conn.execute("SELECT id, pid FROM training_runs WHERE status = 'running'").fetchall()
    stale = [run_id for run_id, pid in rows if pid and not pid_alive(pid)]
    for run_id in stale:
        with store.connect() as conn:
            conn.execute(
                "UPDATE training_runs SET status = 'interrupted', error = ?, finished_at = current_timestamp WHERE id = ?",
                ["the process running this training ended unexpectedly", run_id],
            )
    return len(stale)
