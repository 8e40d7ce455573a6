"""`lanhar jobs`: the long operations recorded in the store, whoever started them.

A job started in the app (or in another terminal) keeps its state in the store's ``jobs``
table; these commands read that row, so the CLI can follow, list and cancel any of them,
as the app's job panel does.
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime, timedelta

from lanhar_core.cli.common import print_table, progress_bar, store_from
from lanhar_core.errors import RunStateError
from storage import jobs as job_store

POLL_INTERVAL_S = 1.0


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("jobs", help="list, follow and cancel long operations (from the CLI or the app)")
    jsub = parser.add_subparsers(dest="jobs_command", required=True)

    listing = jsub.add_parser("list", help="newest jobs first, with status and progress")
    listing.add_argument("--kind", help="only jobs of this kind (e.g. interpret_windows, train_text, bench_cross)")
    listing.add_argument("--limit", type=int, default=20)
    listing.set_defaults(func=_list)

    watch = jsub.add_parser("watch", help="follow one job's progress until it ends")
    watch.add_argument("job", type=int)
    watch.set_defaults(func=_watch)

    cancel = jsub.add_parser("cancel", help="ask a running job to stop at its next checkpoint (work done is kept)")
    cancel.add_argument("job", type=int)
    cancel.set_defaults(func=_cancel)


def _list(args: argparse.Namespace) -> int:
    store = store_from(args)
    job_store.mark_stale_jobs_interrupted(store)
    jobs = job_store.list_jobs(store, args.kind, args.limit)
    if not jobs:
        print("no jobs recorded" + (f" of kind {args.kind!r}" if args.kind else ""))
        return 0
    now = datetime.now()
    rows = [
        (
            j.id,
            j.kind,
            j.status + (" (cancel requested)" if j.cancel_requested and j.status == "running" else ""),
            f"{j.done}/{j.total}" if j.total else str(j.done),
            _elapsed((j.finished_at or now) - j.started_at),
            (j.error if j.status in ("failed", "cancelled", "interrupted") else j.message) or "",
        )
        for j in jobs
    ]
    print_table(["id", "kind", "status", "progress", "elapsed", "message"], rows)
    return 0


def _watch(args: argparse.Namespace) -> int:
    """Exit status 0 when the job finished, 1 when it failed, was cancelled or interrupted."""
    store = store_from(args)
    job = job_store.get_job(store, args.job)
    with progress_bar(f"{job.kind} #{job.id}") as callback:
        while True:
            job_store.mark_stale_jobs_interrupted(store)
            job = job_store.get_job(store, args.job)
            callback(job.done, job.total, job.message or "")
            if job.status in job_store.TERMINAL:
                break
            time.sleep(POLL_INTERVAL_S)
    print(f"job {job.id} ({job.kind}) {job.status}" + (f": {job.error}" if job.error else ""))
    return 0 if job.status == "finished" else 1


def _cancel(args: argparse.Namespace) -> int:
    store = store_from(args)
    job = job_store.get_job(store, args.job)
    if job.status in job_store.TERMINAL:
        raise RunStateError(f"job {job.id} ({job.kind}) already ended ({job.status}); there is nothing to cancel")
    job_store.request_cancel(store, job.id)
    print(f"cancel requested for job {job.id} ({job.kind}); it stops at its next checkpoint and keeps what it wrote")
    return 0


def _elapsed(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"
