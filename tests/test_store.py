"""Reading the dataset store back, and what a second process sees while one writes or crashes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from lanhar_core.config import Settings
from lanhar_core.data.ingest import ingest_source
from lanhar_core.errors import NotFoundError, StoreError, StoreLockedError
from storage import datasets as dataset_store
from storage.db import Store

from data_fixtures import make_recording, make_source, snapshot

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def filled(store: Store, settings: Settings, tmp_path: Path) -> Store:
    recordings = [
        make_recording("a", label="W", subject="1"),
        make_recording("b", label="S", subject="2"),
        make_recording("c", label=None, subject="3"),
    ]
    ingest_source(store, settings, make_source(tmp_path, recordings))
    return store


def test_load_windows_filters_and_shapes(filled: Store) -> None:
    everything = dataset_store.load_windows(filled)
    assert len(everything) == 27 and everything.signals.shape == (27, 120, 6)
    assert everything.signals.dtype == np.float32 and everything.rate_hz == 20.0
    assert list(everything.ids) == sorted(everything.ids)
    walk = dataset_store.load_windows(filled, labels=["walk"])
    assert set(walk.labels) == {"walk"} and set(walk.native_labels) == {"W"} and len(walk) == 9
    unlabeled = dataset_store.load_windows(filled, labels=[None])
    assert len(unlabeled) == 9 and set(unlabeled.labels) == {None}
    assert len(dataset_store.load_windows(filled, labels=["walk", None])) == 18
    assert set(dataset_store.load_windows(filled, subjects=["2"]).subjects) == {"2"}
    assert len(dataset_store.load_windows(filled, dataset="synth", placement="waist", limit=5)) == 5
    assert len(dataset_store.load_windows(filled, dataset="nope")) == 0
    assert dataset_store.load_windows(filled, placement="wrist").signals.shape == (0, 0, 6)


def test_load_windows_by_ids_keeps_the_requested_order(filled: Store) -> None:
    ids = dataset_store.load_windows(filled).ids
    wanted = [int(ids[5]), int(ids[0]), 10**9, int(ids[3])]
    loaded = dataset_store.load_windows(filled, ids=wanted)
    assert list(loaded.ids) == [ids[5], ids[0], ids[3]]
    np.testing.assert_array_equal(loaded.signals[1], dataset_store.get_window(filled, int(ids[0])).signals)


def test_get_window_and_recording_signals(filled: Store) -> None:
    first = dataset_store.load_windows(filled, labels=["sit"])
    window = dataset_store.get_window(filled, int(first.ids[1]))
    assert window.label == "sit" and window.recording_key == "b" and window.start_sample == 60
    assert window.signals.shape == (120, 6)
    recording = dataset_store.get_recording_signals(filled, window.recording_id)
    assert recording.signals.shape == (600, 6) and recording.rate_hz == 20.0
    np.testing.assert_array_equal(recording.signals[60:180], window.signals)
    assert recording.runs[["start_sample", "end_sample", "label"]].to_dict("records") == [
        {"start_sample": 0, "end_sample": 600, "label": "sit"}
    ]
    assert recording.windows["start_sample"].tolist() == list(range(0, 481, 60))
    with pytest.raises(NotFoundError):
        dataset_store.get_window(filled, 10**9)
    with pytest.raises(NotFoundError):
        dataset_store.get_recording_signals(filled, 10**9)


def test_list_datasets_and_recordings(filled: Store) -> None:
    row = dataset_store.list_datasets(filled).iloc[0]
    assert (row["name"], row["recordings"], row["subjects"], row["windows"]) == ("synth", 3, 3, 27)
    assert row["license"] == "CC0" and row["window_samples"] == 120
    recordings = dataset_store.list_recordings(filled, "synth")
    assert recordings["key"].tolist() == ["a", "b", "c"] and recordings["windows"].tolist() == [9, 9, 9]


def test_delete_dataset(filled: Store) -> None:
    dataset_store.delete_dataset(filled, "synth")
    assert dataset_store.list_datasets(filled).empty
    with filled.connect() as conn:
        for table in ("recordings", "recording_signals", "recording_runs", "windows", "label_map"):
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0] == 0
    with pytest.raises(NotFoundError, match="no dataset 'synth'"):
        dataset_store.delete_dataset(filled, "synth")


def test_mixed_window_lengths_are_refused(filled: Store, settings: Settings, tmp_path: Path) -> None:
    from lanhar_core.config import with_overrides

    longer = with_overrides(settings, "data", window_samples=160)
    ingest_source(filled, longer, make_source(tmp_path, name="longer"))
    with pytest.raises(StoreError, match="mix lengths"):
        dataset_store.load_windows(filled)
    assert dataset_store.load_windows(filled, dataset="longer").signals.shape[1] == 160


def test_activities_are_seeded(store: Store) -> None:
    dataset_store.ensure_activities(store)
    dataset_store.ensure_activities(store)
    with store.connect() as conn:
        rows = dict(conn.execute("SELECT name, category FROM activities").fetchall())
    assert rows["walk"] == "locomotion" and rows["upstairs"] == "stairs" and rows["sit"] == "static"


# ---------------------------------------------------------------- two processes

_HOLDER = textwrap.dedent(
    """
    import sys, time
    sys.path[:0] = [{root!r}, {tests!r}]
    from pathlib import Path
    from storage.db import Store
    from storage import datasets
    from data_fixtures import make_recording
    from lanhar_core.data.windowing import make_windows, runs
    from lanhar_core.data.resample import resample_recording

    store = Store({db!r})
    rec = resample_recording(make_recording("x"), 20.0)
    item = datasets.PreparedRecording(rec, 50.0, 1500, make_windows(rec, 120, 60), runs(rec))
    record = datasets.DatasetRecord("second", "synthetic", "t", "waist", 50.0, 20.0, 120, 60, "h", "", "", "", "", {{}})
    with store.transaction() as conn:
        datasets.write_dataset(conn, record, [item])
        print("holding", flush=True)
        time.sleep({hold})
    print("committed", flush=True)
    """
)


def _start_holder(db: Path, hold: float) -> subprocess.Popen:
    code = _HOLDER.format(root=str(ROOT), tests=str(ROOT / "tests"), db=str(db), hold=hold)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line.strip() == "holding", proc.stderr.read()
    return proc


def test_second_process_gets_a_clear_lock_error_and_the_file_stays_intact(filled: Store) -> None:
    before = snapshot(filled)
    impatient = Store(filled.path, lock_timeout_s=0.5)
    holder = _start_holder(filled.path, hold=4.0)
    try:
        with pytest.raises(StoreLockedError, match="in use by another process.*retry"):
            with impatient.transaction() as conn:
                conn.execute("DELETE FROM windows")
        with pytest.raises(StoreLockedError):
            Store(filled.path, lock_timeout_s=0.5)
    finally:
        out, err = holder.communicate(timeout=60)
    assert holder.returncode == 0 and "committed" in out, err
    after = snapshot(filled)
    assert after["windows"][: len(before["windows"])] == before["windows"]
    assert dataset_store.list_datasets(filled)["name"].tolist() == ["second", "synth"]


def test_a_process_killed_mid_transaction_leaves_the_store_as_before(filled: Store) -> None:
    before = snapshot(filled)
    holder = _start_holder(filled.path, hold=60.0)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=30)
    time.sleep(0.1)
    reopened = Store(filled.path, lock_timeout_s=5.0)
    assert snapshot(reopened) == before


def test_many_threads_opening_and_closing_connections_do_not_conflict(store: Store) -> None:
    """The app's sessions and background jobs share one Store; DuckDB must not see open/close races."""
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(150):
                with store.connect() as conn:
                    conn.execute("SELECT count(*) FROM jobs").fetchone()
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_a_pinned_store_opens_the_file_once_and_releases_it(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    from storage import jobs as job_store

    with store.pinned():
        monkeypatch.setattr(store, "_open", lambda read_only: pytest.fail("the file was opened again while pinned"))
        first = job_store.create_job(store, "pin-test", {})
        with store.pinned():
            job_store.finish_job(store, first, "finished")
            with store.connect(read_only=True) as conn:
                assert conn.execute("SELECT 1").fetchone() == (1,)
        assert job_store.get_job(store, first).status == "finished"
    monkeypatch.undo()
    probe = f"import duckdb; duckdb.connect({str(store.path)!r}).close()"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert job_store.get_job(store, first).status == "finished"


def test_migration_008_renames_cancelled_runs_and_jobs_to_interrupted(tmp_path: Path) -> None:
    import duckdb

    from storage import jobs as job_store
    from storage import quality as quality_store
    from storage.db import _migrations

    path = tmp_path / "old.duckdb"
    conn = duckdb.connect(str(path))
    conn.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, "
                 "applied_at TIMESTAMP DEFAULT current_timestamp)")
    for version, name, sql in _migrations():
        if version < 8:
            conn.execute(sql)
            conn.execute("INSERT INTO schema_version (version, name) VALUES (?, ?)", [version, name])
    conn.execute("INSERT INTO quality_runs (kind, status) VALUES ('flag', 'cancelled'), ('kl', 'finished')")
    conn.execute("INSERT INTO jobs (kind, status) VALUES ('train_text', 'cancelled')")
    conn.close()
    store = Store(path)
    assert store.schema_version() >= 8
    assert [quality_store.get_run(store, i).status for i in (1, 2)] == ["interrupted", "finished"]
    assert job_store.list_jobs(store)[0].status == "interrupted"
    assert quality_store.create_run(store, "flag", None, None, {}) == 3
