"""`lanhar jobs` reads the job rows any process wrote; progress is logged when there is no terminal."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from lanhar_core.cli import common, main
from lanhar_core.errors import CancelledError
from lanhar_core.tracking import StoreProgress, tracked_job
from storage import jobs as job_store
from storage.db import Store


def jobs(home: Path, *args: str) -> int:
    return main(["--home", str(home), "jobs", *args])


def test_list_shows_status_progress_and_errors(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = Store(home / "lanhar.duckdb")
    with tracked_job(store, "interpret_windows", {"dataset": "x"}) as progress:
        progress.update(40, 40, "done")
    with pytest.raises(CancelledError), tracked_job(store, "train_text", {}) as progress:
        progress.update(3, 10)
        raise CancelledError("cancelled after 3 of 10 steps")
    assert jobs(home, "list") == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[2:]]
    assert rows[0][1:4] == ["train_text", "interrupted", "3/10"] and "cancelled" in rows[0][5:]
    assert rows[1][1:4] == ["interpret_windows", "finished", "40/40"]
    assert jobs(home, "list", "--kind", "bench_cross") == 0
    assert "no jobs recorded of kind 'bench_cross'" in capsys.readouterr().out


def test_a_job_left_running_by_a_dead_process_is_listed_as_interrupted(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = Store(home / "lanhar.duckdb")
    job_id = job_store.create_job(store, "bench_cross", {})
    with store.connect() as conn:
        conn.execute("UPDATE jobs SET pid = ? WHERE id = ?", [2**22 + 12345, job_id])
    assert jobs(home, "list") == 0
    assert "interrupted" in capsys.readouterr().out
    assert jobs(home, "watch", str(job_id)) == 1
    assert "interrupted" in capsys.readouterr().out


def test_cancel_from_the_cli_reaches_the_worker_of_the_job(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The worker's progress stands for another process (the app or a second terminal): the
    cancel travels through the job row, the only channel between them."""
    store = Store(home / "lanhar.duckdb")
    job_id = job_store.create_job(store, "interpret_windows", {})
    worker = StoreProgress(store, job_id, min_interval_s=0.0)
    worker.update(5, 100, "window 5")
    worker.check_cancelled()
    assert jobs(home, "cancel", str(job_id)) == 0
    assert "cancel requested" in capsys.readouterr().out
    worker.update(6, 100, "window 6")
    with pytest.raises(CancelledError, match="cancelled after 6 of 100 steps"):
        worker.check_cancelled()
    job_store.finish_job(store, job_id, "interrupted", error="cancelled after 6 of 100 steps")
    assert jobs(home, "watch", str(job_id)) == 1
    assert "interrupted: cancelled after 6 of 100 steps" in capsys.readouterr().out
    assert jobs(home, "cancel", str(job_id)) == 2
    assert "already ended (interrupted)" in capsys.readouterr().err
    assert jobs(home, "watch", "999") == 2
    assert "no job with id 999" in capsys.readouterr().err


def test_watch_follows_a_job_until_it_finishes(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = Store(home / "lanhar.duckdb")
    job_id = job_store.create_job(store, "train_text", {})
    job_store.update_job(store, job_id, 3, 10, "epoch 1")
    finisher = threading.Timer(1.5, lambda: job_store.finish_job(store, job_id, "finished", message="done"))
    finisher.start()
    try:
        assert jobs(home, "watch", str(job_id)) == 0
    finally:
        finisher.cancel()
    assert f"job {job_id} (train_text) finished" in capsys.readouterr().out


def test_progress_without_a_terminal_writes_throttled_lines(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(common, "LOG_INTERVAL_S", 3600.0)
    with common.progress_bar("stage 1") as callback:
        for step in range(1, 101):
            callback(step, 100, f"epoch {step}")
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("[stage 1] 1/100 (1%)") and "epoch 1" in lines[0]
    assert lines[1].startswith("[stage 1] 100/100 (100%)")
