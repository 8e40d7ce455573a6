"""Long operations recorded in the store: jobs mirrored from a ``Progress``, and training runs.

The storage-free half (``Progress``, the status vocabulary, ``run_lifecycle``) is
``lanhar_core.jobs``; this module binds it to the store's tables. ``tracked_job`` backs a
``Progress`` with a row in ``jobs``, so the CLI (progress bar) and the app (polling) read
the same state, and a cancel requested from either side reaches the worker; writes are
throttled so that fine-grained progress does not turn into thousands of transactions.
``RunTracker`` wraps a training loop in a row of ``training_runs``: created (or reopened,
to resume) on entry, updated per epoch, closed on exit, with wall time accumulated
across resumptions.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from lanhar_core.errors import RunStateError
from lanhar_core.jobs import Progress, ProgressCallback, ending, run_lifecycle
from lanhar_core.models.checkpoint import code_version
from storage import jobs as job_store
from storage import runs as run_store
from storage.db import Store


class StoreProgress(Progress):
    """A ``Progress`` mirrored into the ``jobs`` table (throttled to ``min_interval_s``)."""

    def __init__(
        self,
        store: Store,
        job_id: int,
        callback: ProgressCallback | None = None,
        cancel_event: threading.Event | None = None,
        min_interval_s: float = 0.5,
    ) -> None:
        super().__init__(callback, cancel_event)
        self.store = store
        self.job_id = job_id
        self.min_interval_s = min_interval_s
        self._last_write = 0.0
        self._last_poll = 0.0

    def update(self, done: int, total: int | None = None, message: str = "") -> None:
        super().update(done, total, message)
        now = time.monotonic()
        finished = self.total is not None and done >= self.total
        if finished or now - self._last_write >= self.min_interval_s:
            self._last_write = now
            if job_store.update_job(self.store, self.job_id, self.done, self.total, self.message):
                self.cancel_event.set()

    def check_cancelled(self) -> None:
        """Also reads the job row (at most every ``min_interval_s``): a cancel from the app or another process
        reaches a loop that checks between steps without reporting progress."""
        now = time.monotonic()
        if not self.cancelled and now - max(self._last_poll, self._last_write) >= self.min_interval_s:
            self._last_poll = now
            if job_store.get_job(self.store, self.job_id).cancel_requested:
                self.cancel_event.set()
        super().check_cancelled()


@contextmanager
def tracked_job(
    store: Store,
    kind: str,
    params: dict[str, Any],
    callback: ProgressCallback | None = None,
    cancel_event: threading.Event | None = None,
) -> Iterator[StoreProgress]:
    """Run a block as a job recorded in the store; its final status reflects how the block ended."""
    job_id = job_store.create_job(store, kind, params)
    progress = StoreProgress(store, job_id, callback, cancel_event)

    def finish(status: str, error: str | None) -> None:
        if status == "finished":
            job_store.update_job(store, job_id, progress.done, progress.total, progress.message)
        job_store.finish_job(store, job_id, status, error=error)

    with run_lifecycle(finish):
        yield progress


@dataclass
class RunResult:
    """What a training function returns: the run's id and state, its artifacts and last metrics."""

    run_id: int
    status: str
    epochs: int
    steps: int
    wall_s: float
    artifacts: dict[str, Path] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    history: list[run_store.EpochRecord] = field(default_factory=list)


class RunTracker:
    """Context manager that records one training run (new or resumed) in the store.

    It ends as ``jobs.ending`` says (``interrupted`` runs can be resumed from their last
    checkpoint); a finished run keeps ``summary``. Exceptions propagate.
    """

    def __init__(
        self,
        store: Store,
        kind: str,
        config: dict[str, Any],
        seed: int,
        data_selection: dict[str, Any],
        parent_run_id: int | None = None,
        resume_run_id: int | None = None,
    ) -> None:
        self.store = store
        if resume_run_id is not None:
            if run_store.get_run(store, resume_run_id).kind != kind:
                raise RunStateError(f"run {resume_run_id} is not a {kind!r} run; resume it with its own command")
            record = run_store.reopen_run(store, resume_run_id)
            self.run_id = record.id
            self.previous_wall_s = record.wall_s
        else:
            self.run_id = run_store.create_run(store, kind, config, seed, data_selection, code_version(), parent_run_id)
            self.previous_wall_s = 0.0
        self.summary: dict[str, Any] = {}
        self._started = time.monotonic()

    def wall_s(self) -> float:
        """Total wall time of the run, including earlier attempts it resumed."""
        return self.previous_wall_s + time.monotonic() - self._started

    def record_epoch(self, epoch: int, step: int, losses: dict[str, float], val_metrics: dict[str, Any]) -> None:
        run_store.record_epoch(self.store, self.run_id, epoch, step, losses, val_metrics, self.wall_s())

    def add_artifact(self, name: str, path: Path) -> None:
        run_store.add_artifact(self.store, self.run_id, name, path)

    def result(self) -> RunResult:
        record = run_store.get_run(self.store, self.run_id)
        history = run_store.epoch_records(self.store, self.run_id)
        return RunResult(
            run_id=record.id,
            status=record.status,
            epochs=record.epochs_done,
            steps=record.steps_done,
            wall_s=record.wall_s,
            artifacts=run_store.artifacts(self.store, self.run_id),
            metrics=history[-1].val_metrics if history else {},
            history=history,
        )

    def __enter__(self) -> RunTracker:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        status, error = ending(exc)
        summary = self.summary if status == "finished" else None
        run_store.finish_run(self.store, self.run_id, status, self.wall_s(), error=error, summary=summary)
