"""Progress reporting and cancellation for long operations.

Every long operation takes a ``Progress``: it reports ``(done, total, message)`` and
answers whether it should stop. ``tracked_job`` backs one with a row in the store's
``jobs`` table, so the CLI (progress bar) and the app (polling) read the same state, and a
cancel requested from either side reaches the worker. Writes to the store are throttled so
that fine-grained progress does not turn into thousands of transactions.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from lanhar_core.errors import CancelledError
from storage import jobs as job_store
from storage.db import Store

ProgressCallback = Callable[[int, int | None, str], None]


class Progress:
    """Progress sink plus cancel flag. The default instance does nothing and never cancels."""

    def __init__(
        self,
        callback: ProgressCallback | None = None,
        cancel_event: threading.Event | None = None,
    ) -> None:
        self._callback = callback
        self.cancel_event = cancel_event or threading.Event()
        self.done = 0
        self.total: int | None = None
        self.message = ""

    def update(self, done: int, total: int | None = None, message: str = "") -> None:
        self.done = done
        if total is not None:
            self.total = total
        if message:
            self.message = message
        if self._callback:
            self._callback(done, self.total, self.message)

    def advance(self, n: int = 1, message: str = "") -> None:
        self.update(self.done + n, None, message)

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def check_cancelled(self) -> None:
        """Raise ``CancelledError`` if a cancel was requested; call it between units of work."""
        if self.cancelled:
            raise CancelledError(f"cancelled after {self.done} of {self.total or '?'} steps")


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
    try:
        yield progress
    except CancelledError as exc:
        job_store.finish_job(store, job_id, "cancelled", error=str(exc))
        raise
    except KeyboardInterrupt:
        job_store.finish_job(store, job_id, "interrupted", error="interrupted by the user")
        raise
    except BaseException as exc:
        job_store.finish_job(store, job_id, "failed", error=f"{type(exc).__name__}: {exc}")
        raise
    else:
        job_store.update_job(store, job_id, progress.done, progress.total, progress.message)
        job_store.finish_job(store, job_id, "finished")
