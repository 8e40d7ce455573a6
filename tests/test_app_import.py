"""Importing a user's dataset from the Datasets page, as ``lanhar data import`` does from the CLI:
raw integer counts with scales, a recording column, a zip of tables (one recording per file)
and the dry-run preview that writes nothing.

The page runs on its own against an empty data directory (no sample ingestion), so each
test takes seconds.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from lanhar_core.config import load_settings
from lanhar_core.data.ingest import RECORDING_PREVIEW_COLUMNS
from storage import datasets as data_store
from storage import jobs as job_store
from storage.db import Store

PAGE = Path(__file__).resolve().parents[1] / "pages" / "datasets.py"
RATE_HZ = 50
ACC_COUNTS_PER_G = 16384.0
GYRO_COUNTS_PER_DEG_S = 131.0
PREVIEW = "FormSubmitter:import_form-Preview (dry run)"
IMPORT = "FormSubmitter:import_form-Import"


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    previous = os.environ.get("LANHAR_HOME")
    os.environ["LANHAR_HOME"] = str(tmp_path / "home")
    try:
        yield tmp_path / "home"
    finally:
        if previous is None:
            os.environ.pop("LANHAR_HOME", None)
        else:
            os.environ["LANHAR_HOME"] = previous


def _store(home: Path) -> Store:
    return Store(load_settings(home).db_path)


def _raw_table(seconds: float, label: str, seed: int, recording: str | None = None) -> pd.DataFrame:
    """int16-style counts: 1 g on z plus noise, 0.5 deg/s of rotation noise."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE_HZ)
    acc = np.column_stack([rng.normal(0, 0.05, n), rng.normal(0, 0.05, n), 1 + rng.normal(0, 0.05, n)])
    gyro = rng.normal(0, 0.5, (n, 3))
    table = pd.DataFrame(np.rint(np.hstack([acc * ACC_COUNTS_PER_G, gyro * GYRO_COUNTS_PER_DEG_S])).astype(int),
                         columns=["ax", "ay", "az", "gx", "gy", "gz"])
    table["activity"] = label
    if recording is not None:
        table["rec"] = recording
    return table


def _csv(table: pd.DataFrame) -> bytes:
    return table.to_csv(index=False).encode()


def _page(name: str, data: bytes, mime: str) -> AppTest:
    at = AppTest.from_file(str(PAGE), default_timeout=120).run()
    at.file_uploader(key="import_upload").set_value((name, data, mime)).run()
    assert not at.exception, [e.message for e in at.exception]
    for axis in "xyz":
        at.selectbox(key=f"import_acc_{axis}").set_value(f"a{axis}")
        at.selectbox(key=f"import_gyro_{axis}").set_value(f"g{axis}")
    at.selectbox(key="import_time_col").set_value("(fixed rate)")
    at.number_input(key="import_rate").set_value(float(RATE_HZ))
    at.selectbox(key="import_label_col").set_value("activity")
    at.selectbox(key="import_acc_unit").set_value("g")
    at.selectbox(key="import_gyro_unit").set_value("deg/s")
    at.number_input(key="import_acc_scale").set_value(ACC_COUNTS_PER_G)
    at.number_input(key="import_gyro_scale").set_value(GYRO_COUNTS_PER_DEG_S)
    at.text_input(key="import_name").set_value("mine")
    return at


def _submit(at: AppTest, button: str) -> AppTest:
    at.button(key=button).click().run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _frame(at: AppTest, columns: list[str]) -> pd.DataFrame:
    """The preview table with these columns (the page's other tables have other columns)."""
    return next(d.value for d in at.dataframe if list(d.value.columns) == columns)


def _recordings(at: AppTest) -> pd.DataFrame:
    return _frame(at, list(RECORDING_PREVIEW_COLUMNS))


def _metric(at: AppTest, label: str) -> float:
    return float(next(m.value for m in at.metric if m.label.startswith(label)))


def test_dry_run_previews_raw_counts_and_writes_nothing(home: Path) -> None:
    at = _page("raw.csv", _csv(_raw_table(30, "walking", 0)), "text/csv")
    store = _store(home)
    jobs_before = job_store.list_jobs(store)
    at.number_input(key="import_acc_scale").set_value(1.0)
    _submit(at, PREVIEW)
    assert at.error and "unit" in at.error[0].value, "raw counts read as g must be refused as implausible"
    at.number_input(key="import_acc_scale").set_value(ACC_COUNTS_PER_G)
    _submit(at, PREVIEW)
    assert not at.error
    assert _metric(at, "median |acc|") == pytest.approx(9.81, abs=0.05)
    assert _metric(at, "|gyro| 99th") < 0.1
    recordings = _recordings(at)
    assert recordings["key"].tolist() == ["raw/unknown"] and recordings["windows"].tolist() == ["9"]
    labels = _frame(at, ["activity", "windows"])
    assert labels.to_dict("records") == [{"activity": "walking", "windows": 9}]
    assert data_store.list_datasets(store).empty
    assert [j.id for j in job_store.list_jobs(store)] == [j.id for j in jobs_before]


def test_import_with_scales_stores_canonical_magnitudes(home: Path) -> None:
    at = _page("raw.csv", _csv(_raw_table(30, "walking", 1)), "text/csv")
    at.text_input(key="import_label_map").set_value("walking=walk")
    _submit(at, IMPORT)
    assert at.success and "ingested 1 recordings" in at.success[0].value
    store = _store(home)
    recordings = data_store.list_recordings(store, "mine")
    signals = data_store.get_recording_signals(store, int(recordings["id"].iloc[0])).signals
    assert np.median(np.linalg.norm(signals[:, :3], axis=1)) == pytest.approx(9.81, abs=0.05)
    assert np.abs(signals[:, 3:]).max() < np.deg2rad(0.5) * 6
    counts = data_store.window_counts(store)
    assert counts.loc[counts["dataset"] == "mine", "label"].tolist() == ["walk"]
    assert job_store.list_jobs(store, "import")[0].status == "finished"


def test_recording_column_splits_the_table(home: Path) -> None:
    table = pd.concat([_raw_table(20, "sitting", i, recording=f"r{i}") for i in range(3)])
    at = _page("sessions.csv", _csv(table), "text/csv")
    at.selectbox(key="import_recording_col").set_value("rec")
    _submit(at, PREVIEW)
    assert _recordings(at)["key"].tolist() == [f"sessions/unknown/r{i}" for i in range(3)]
    _submit(at, IMPORT)
    assert sorted(data_store.list_recordings(_store(home), "mine")["key"]) == [f"sessions/unknown/r{i}" for i in range(3)]


def test_zip_of_tables_is_one_recording_per_file(home: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("walk/a.csv", _csv(_raw_table(20, "walking", 3)))
        archive.writestr("sit/b.csv", _csv(_raw_table(20, "sitting", 4)))
        archive.writestr("README.md", "not a table")
    at = _page("folder.zip", buffer.getvalue(), "application/zip")
    _submit(at, PREVIEW)
    recordings = _recordings(at)
    assert sorted(zip(recordings["key"], recordings["file"])) == [("sit/b/unknown", "sit/b.csv"), ("walk/a/unknown", "walk/a.csv")]
    _submit(at, IMPORT)
    stored = data_store.list_recordings(_store(home), "mine")
    assert sorted(stored["key"]) == ["sit/b/unknown", "walk/a/unknown"]
