"""Progress reporting, cancellation, and how a run ends: the storage-free part of every long operation.

Every long operation takes a ``Progress``: it reports ``(done, total, message)`` and
answers whether it should stop. Backends, models and downloads import only this module,
so they do not depend on the store; ``lanhar_core.tracking`` mirrors a ``Progress`` into
the store's ``jobs`` table and records training runs.

One status vocabulary (``RUN_STATUSES``) serves jobs, quality runs, training runs and
benchmarks, and ``run_lifecycle`` decides it in one place: a block that returns is
``finished``; one stopped by a cancel request (``CancelledError``) or Ctrl-C is
``interrupted`` (what it did is kept, and a training run can be resumed); any other
exception makes it ``failed``, with the exception's type and message as its error.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from lanhar_core.errors import CancelledError

ProgressCallback = Callable[[int, int | None, str], None]

RUN_STATUSES: tuple[str, ...] = ("running", "finished", "failed", "interrupted")
"""Status of a job, quality run, training run or benchmark; every one but 'running' is final."""

Finish = Callable[[str, str | None], None]
"""Records a final status and error (``None`` when finished) wherever a kind of run lives."""


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


def ending(exc: BaseException | None) -> tuple[str, str | None]:
    """(status, error) of a block that ended with ``exc`` (``None``: it returned)."""
    if exc is None:
        return "finished", None
    if isinstance(exc, (CancelledError, KeyboardInterrupt)):
        return "interrupted", str(exc) or "interrupted by the user"
    return "failed", f"{type(exc).__name__}: {exc}"


@contextmanager
def run_lifecycle(finish: Finish, on_success: bool = True) -> Iterator[None]:
    """Run a block and record how it ended with ``finish(status, error)``; exceptions propagate.

    ``on_success=False`` for records the block closes itself when it succeeds (a quality
    run writes its summary with its final status).
    """
    try:
        yield
    except BaseException as exc:
        finish(*ending(exc))
        raise
    if on_success:
        finish(*ending(None))
