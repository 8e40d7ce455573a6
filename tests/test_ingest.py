"""Ingestion: idempotent, atomic, and every kind of bad input refused with the store unchanged."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lanhar_core.config import Settings, with_overrides
from lanhar_core.data.ingest import IngestReport, import_source, ingest_dataset, ingest_source
from lanhar_core.data.types import GRAVITY
from lanhar_core.errors import (
    CancelledError,
    DataFormatError,
    DatasetInUseError,
    FileTooLargeError,
    InvalidSignalError,
    RecordingTooShortError,
    UnitError,
)
from lanhar_core.jobs import Progress
from storage import datasets as dataset_store
from storage.db import Store

from conftest import shared_dataset
from data_fixtures import make_recording, make_source, snapshot


def test_ingest_writes_windows_per_label_and_report(store: Store, settings: Settings, tmp_path: Path) -> None:
    report = ingest_source(store, settings, make_source(tmp_path))
    assert isinstance(report, IngestReport) and not report.unchanged
    # 30 s at 20 Hz = 600 samples -> (600 - 120) / 60 + 1 = 9 windows per recording.
    assert report.recordings == 2 and report.windows == 18
    assert report.windows_per_label == {"walk": 9, "sit": 9}
    counts = dataset_store.window_counts(store)
    assert counts.to_dict("records") == [
        {"dataset": "synth", "label": "sit", "n": 9},
        {"dataset": "synth", "label": "walk", "n": 9},
    ]
    with store.connect() as conn:
        assert conn.execute("SELECT native_label, activity FROM label_map ORDER BY 1").fetchall() == [("S", "sit"), ("W", "walk")]
        assert conn.execute("SELECT count(*) FROM activities WHERE builtin").fetchall()[0][0] > 20
    assert "synth: ingested 2 recordings -> 18 windows" in report.summary()


def test_same_input_twice_changes_nothing(store: Store, settings: Settings, tmp_path: Path) -> None:
    ingest_source(store, settings, make_source(tmp_path))
    before = snapshot(store)
    again = ingest_source(store, settings, make_source(tmp_path))
    assert again.unchanged and "nothing changed" in again.summary()
    assert snapshot(store) == before


def test_changed_files_or_settings_replace_the_dataset(store: Store, settings: Settings, tmp_path: Path) -> None:
    ingest_source(store, settings, make_source(tmp_path))
    report = ingest_source(store, settings, make_source(tmp_path, [make_recording("a", seconds=60)], content="v2"))
    assert report.replaced and report.windows == 19
    assert dataset_store.list_recordings(store)["key"].tolist() == ["a"]
    wider = with_overrides(settings, "data", stride_samples=120)
    report = ingest_source(store, wider, make_source(tmp_path, [make_recording("a", seconds=60)], content="v2"))
    assert report.replaced and report.windows == 10


def test_failure_in_the_middle_of_the_write_leaves_the_store_as_before(
    store: Store, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest_source(store, settings, make_source(tmp_path, name="other"))
    ingest_source(store, settings, make_source(tmp_path))
    before = snapshot(store)
    real_insert = dataset_store._insert_batch
    calls = {"n": 0}

    def failing_insert(conn, dataset, items, ids):  # noqa: ANN001, ANN202 - same signature as the patched function
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk full (injected)")
        return real_insert(conn, dataset, items, ids)

    monkeypatch.setattr(dataset_store, "_insert_batch", failing_insert)
    monkeypatch.setattr(dataset_store, "FLUSH_WINDOWS", 5)  # one recording (13 windows) per batch
    recordings = [make_recording(k, seconds=40) for k in "abcd"]
    with pytest.raises(RuntimeError, match="injected"):
        ingest_source(store, settings, make_source(tmp_path, recordings, content="v2"))
    assert calls["n"] == 3
    assert snapshot(store) == before


def test_failure_while_reading_leaves_the_store_as_before(store: Store, settings: Settings, tmp_path: Path) -> None:
    ingest_source(store, settings, make_source(tmp_path))
    before = snapshot(store)
    with pytest.raises(DataFormatError, match="broken file"):
        ingest_source(store, settings, make_source(tmp_path, content="v2", fail_at=1))
    assert snapshot(store) == before


def test_cancel_stops_before_any_write(store: Store, settings: Settings, tmp_path: Path) -> None:
    before = snapshot(store)
    event = threading.Event()
    event.set()
    with pytest.raises(CancelledError):
        ingest_source(store, settings, make_source(tmp_path), Progress(cancel_event=event))
    assert snapshot(store) == before


def test_progress_is_reported(store: Store, settings: Settings, tmp_path: Path) -> None:
    seen: list[tuple[int, int | None, str]] = []
    ingest_source(store, settings, make_source(tmp_path), Progress(lambda d, t, m: seen.append((d, t, m))))
    assert any("writing" in m for _, _, m in seen)
    assert seen[-1][0] == seen[-1][1] == 2


def test_short_recordings_are_skipped_with_a_reason(store: Store, settings: Settings, tmp_path: Path) -> None:
    recordings = [make_recording("long"), make_recording("short", seconds=4)]
    report = ingest_source(store, settings, make_source(tmp_path, recordings))
    assert report.recordings == 1
    assert [s.item for s in report.skipped] == ["synth/short (short.csv)"]
    assert "shorter than one window" in report.skipped[0].reason
    assert "skipped 1 recording" in report.summary()


def test_only_short_recordings_is_an_error_and_writes_nothing(store: Store, settings: Settings, tmp_path: Path) -> None:
    before = snapshot(store)
    with pytest.raises(RecordingTooShortError, match="no recording yields a single window"):
        ingest_source(store, settings, make_source(tmp_path, [make_recording("short", seconds=4)]))
    assert snapshot(store) == before


def test_no_recordings_is_an_error(store: Store, settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="found no recordings"):
        ingest_source(store, settings, make_source(tmp_path, []))


def test_nan_in_a_recording_is_refused(store: Store, settings: Settings, tmp_path: Path) -> None:
    bad = make_recording("bad")
    bad.signals[100, 4] = np.nan
    ingest_source(store, settings, make_source(tmp_path))
    before = snapshot(store)
    with pytest.raises(InvalidSignalError, match=r"synth/bad .*gyro_y: 1.*sample 100"):
        ingest_source(store, settings, make_source(tmp_path, [make_recording("a"), bad], content="v2"))
    assert snapshot(store) == before


def test_file_over_the_size_limit_is_refused_before_reading(store: Store, settings: Settings, tmp_path: Path) -> None:
    tiny = with_overrides(settings, "data", max_upload_mb=0.001)
    source = make_source(tmp_path, content="x" * 5000, fail_at=0)
    with pytest.raises(FileTooLargeError, match="over the 0.001 MB limit"):
        ingest_source(store, tiny, source)
    assert dataset_store.dataset_hash(store, "synth") is None


def test_replacing_windows_that_interpretations_use_is_refused(store: Store, settings: Settings, tmp_path: Path) -> None:
    ingest_source(store, settings, make_source(tmp_path))
    with store.connect() as conn:
        window_id = conn.execute("SELECT min(id) FROM windows").fetchall()[0][0]
        conn.execute(
            "INSERT INTO interpretations (collection, target_kind, target_key, window_id, version, backend, model, "
            "text, valid, origin) VALUES ('rules:v1', 'window', ?, ?, 1, 'rules', 'v1', 'text', true, 'generated')",
            [f"window:{window_id}", window_id],
        )
    before = snapshot(store)
    with pytest.raises(DatasetInUseError, match="1 interpretation"):
        ingest_source(store, settings, make_source(tmp_path, content="v2"))
    with pytest.raises(DatasetInUseError):
        dataset_store.delete_dataset(store, "synth")
    assert snapshot(store) == before


# ---------------------------------------------------------------- file-based bad input via the importer


def _csv(tmp_path: Path, frame: pd.DataFrame, name: str = "walk.csv") -> Path:
    folder = tmp_path / "upload"
    folder.mkdir(exist_ok=True)
    path = folder / name
    frame.to_csv(path, index=False)
    return path


def _table(n: int = 1500, rate: float = 50.0) -> pd.DataFrame:
    t = np.arange(n) / rate
    return pd.DataFrame(
        {
            "t": t,
            "ax": 0.1 * np.sin(2 * np.pi * 2 * t), "ay": 0.0, "az": 1.0 + 0.2 * np.sin(2 * np.pi * 2 * t),
            "gx": 0.1 * np.sin(2 * np.pi * t), "gy": 0.0, "gz": 0.0,
            "activity": ["walking"] * n,
        }
    )


CSV_OPTIONS = dict(
    acc_columns=("ax", "ay", "az"), gyro_columns=("gx", "gy", "gz"), acc_unit="g", gyro_unit="rad/s",
    time_column="t", label_column="activity", label_map={"walking": "walk"}, subject="me", placement="pocket",
)


def _import(store: Store, settings: Settings, path: Path, **changes: object) -> IngestReport:
    return ingest_source(store, settings, import_source(settings, "mine", path, "csv", **{**CSV_OPTIONS, **changes}))


def test_a_valid_csv_imports(store: Store, settings: Settings, tmp_path: Path) -> None:
    report = _import(store, settings, _csv(tmp_path, _table()))
    assert report.windows_per_label == {"walk": 9}
    loaded = dataset_store.load_windows(store, dataset="mine")
    assert np.median(np.linalg.norm(loaded.signals[..., :3], axis=-1)) == pytest.approx(GRAVITY, rel=0.05)
    assert set(loaded.placements) == {"pocket"}


@pytest.mark.parametrize(
    "mutate, changes, error, message",
    [
        (lambda f: f.drop(columns=["gz"]), {}, DataFormatError, "missing column"),
        (lambda f: f, {"acc_unit": "furlongs"}, UnitError, "unknown accelerometer unit"),
        (lambda f: f.assign(ax=np.where(np.arange(len(f)) == 7, np.nan, f["ax"])), {}, InvalidSignalError, "NaN"),
        (lambda f: f.assign(t=f["t"].to_numpy()[::-1]), {}, InvalidSignalError, "not strictly increasing"),
        (lambda f: f.iloc[:0], {}, InvalidSignalError, "0"),
        (lambda f: f.iloc[:150], {}, RecordingTooShortError, "shorter than one window"),
    ],
    ids=["missing-column", "unknown-unit", "nan", "non-monotonic", "zero-rows", "too-short"],
)
def test_bad_files_give_a_specific_error_and_leave_the_store_unchanged(
    store: Store, settings: Settings, tmp_path: Path, mutate, changes, error, message  # noqa: ANN001
) -> None:
    _import(store, settings, _csv(tmp_path, _table(), "good.csv"))
    before = snapshot(store)
    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    bad = bad_dir / "bad.csv"
    mutate(_table()).to_csv(bad, index=False)
    with pytest.raises(error, match=message):
        _import(store, settings, bad, **changes)
    assert snapshot(store) == before


def test_csv_over_the_size_limit(store: Store, settings: Settings, tmp_path: Path) -> None:
    path = _csv(tmp_path, _table(20000))
    small = with_overrides(settings, "data", max_upload_mb=0.1)
    with pytest.raises(FileTooLargeError, match="max_upload_mb"):
        _import(store, small, path)
    assert dataset_store.list_datasets(store).empty


def test_unknown_import_option_is_a_clear_error(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="unexpected keyword"):
        import_source(settings, "mine", _csv(tmp_path, _table()), "csv", colour="red")
    with pytest.raises(DataFormatError, match="unknown import format"):
        import_source(settings, "mine", _csv(tmp_path, _table()), "xlsx")


@pytest.mark.realdata
def test_real_hapt_subject_ingests_label_pure_windows_in_canonical_units(store: Store, settings: Settings) -> None:
    report = ingest_dataset(store, settings, "hapt", shared_dataset("hapt"), subjects=["1"])
    assert report.recordings == 2 and set(report.windows_per_label) >= {"walk", "upstairs", "downstairs", "sit", "stand", "lie"}
    rest = dataset_store.load_windows(store, labels=["sit", "stand", "lie"])
    assert np.median(np.linalg.norm(rest.signals[..., :3], axis=-1)) == pytest.approx(GRAVITY, rel=0.05)
    assert np.median(np.abs(rest.signals[..., 3:])) < 0.05
    for rid in set(rest.recording_ids.tolist()):
        recording = dataset_store.get_recording_signals(store, rid)
        labels = np.full(len(recording.signals), None, dtype=object)
        for run in recording.runs.itertuples():
            labels[run.start_sample : run.end_sample] = run.label
        for window in recording.windows.itertuples():
            assert set(labels[window.start_sample : window.start_sample + window.length]) == {window.label}


def test_recording_metadata_reaches_the_viewer(store: Store, settings: Settings, tmp_path: Path) -> None:
    body_only = make_recording("a")
    body_only.meta["gravity"] = "removed"
    ingest_source(store, settings, make_source(tmp_path, [body_only, make_recording("b", label="S")]))
    by_key = {}
    for rid in set(dataset_store.load_windows(store).recording_ids.tolist()):
        recording = dataset_store.get_recording_signals(store, rid)
        by_key[recording.key] = recording
    assert by_key["a"].meta == {"gravity": "removed"} and by_key["a"].gravity_removed
    assert not by_key["b"].gravity_removed
