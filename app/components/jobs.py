"""Long operations in a background thread, with their job row polled by the page.

The worker runs a library function inside ``tracked_job``, so its progress, final status
and error live in the store's ``jobs`` table: the page (or the CLI, or another browser
tab) only reads that row, and a cancel goes through ``request_cancel`` like the CLI's.
The worker never touches Streamlit.

A cancel click must never be lost: the button works through a callback (run before the
page redraws, so the acknowledgement shows at once), it records the request in the job
row (seen by the worker within one step, also from another process) and, for a job this
process runs, sets the worker's cancel event directly.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import streamlit as st

from lanhar_core.jobs import Progress
from lanhar_core.tracking import tracked_job
from storage import jobs as job_store
from storage.db import Store

Work = Callable[[Progress], Any]

_START_TIMEOUT_S = 10.0


@st.cache_resource(show_spinner=False)
def _cancel_events() -> dict[int, threading.Event]:
    """Cancel events of the jobs this process runs, by job id (shared by every session)."""
    return {}


def request_cancel(store: Store, job_id: int) -> None:
    """Ask a job to stop: in its row (any process) and through its event (a job of this process)."""
    job_store.request_cancel(store, job_id)
    event = _cancel_events().get(job_id)
    if event is not None:
        event.set()


def start_job(store: Store, kind: str, params: dict[str, Any], work: Work) -> int:
    """Run ``work(progress)`` in a daemon thread as a tracked job; returns the job id once recorded."""
    started = threading.Event()
    holder: dict[str, Any] = {}
    cancel = threading.Event()
    events = _cancel_events()

    def run() -> None:
        try:
            with tracked_job(store, kind, params, cancel_event=cancel) as progress:
                events[progress.job_id] = cancel
                holder["job_id"] = progress.job_id
                started.set()
                work(progress)
        except Exception as exc:  # tracked_job has recorded it in the job row
            holder.setdefault("error", exc)
        finally:
            events.pop(holder.get("job_id", -1), None)
            started.set()

    threading.Thread(target=run, name=f"lanhar-{kind}", daemon=True).start()
    started.wait(_START_TIMEOUT_S)
    if "job_id" not in holder:
        raise holder.get("error") or RuntimeError(f"the {kind} job did not start within {_START_TIMEOUT_S:.0f} s")
    return int(holder["job_id"])


def show_job(store: Store, job_id: int) -> None:
    """Live status of one job: progress bar, message, cancel button; polls once a second while it runs."""

    @st.fragment(run_every=1.0)
    def poll() -> None:
        job = job_store.get_job(store, job_id)
        _render_job(store, job)
        if job.status in job_store.TERMINAL:
            st.rerun()

    job = job_store.get_job(store, job_id)
    if job.status in job_store.TERMINAL:
        _render_job(store, job)
    else:
        poll()


def _render_job(store: Store, job: job_store.JobState) -> None:
    label = f"{job.kind} #{job.id}: {job.message or job.status}"
    if job.status == "running":
        st.progress(job.fraction or 0.0, text=f"{label} ({job.done}/{job.total or '?'})")
        if job.cancel_requested:
            st.warning(f"Cancel requested: {job.kind} #{job.id} stops at its next step", icon=":material/cancel:")
        else:
            st.button("Cancel", key=f"cancel_job_{job.id}", icon=":material/cancel:", on_click=request_cancel,
                      args=(store, job.id))
    elif job.status == "finished":
        st.success(f"{job.kind} #{job.id} finished: {job.message or ''}")
    elif job.status == "interrupted":
        st.warning(f"{job.kind} #{job.id} was interrupted ({job.error or ''})")
    else:
        st.error(f"{job.kind} #{job.id} {job.status}: {job.error or ''}")
