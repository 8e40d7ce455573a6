"""Bringing a public dataset in with `lanhar data import` alone, as a user would: raw int16
counts, one file per recording, a recording column, a dry run; and the messages and listings
that user needs on the way (flags named, rounding hint, vocabulary, confusion matrix)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_importers import _sensor_csv

from lanhar_core.cli import main
from lanhar_core.data.importers import checks
from lanhar_core.data.types import GRAVITY
from lanhar_core.errors import InvalidSignalError, UnitError
from lanhar_core.vocab import BUILTIN_ACTIVITIES
from storage import datasets as dataset_store
from storage import results as result_store
from storage.db import Store

from data_fixtures import snapshot

ACC_COUNTS_PER_G = 16384.0
GYRO_COUNTS_PER_DEG_S = 131.0


def _int16_recording(seconds: float, rate: float, activity: str, seed: int) -> pd.DataFrame:
    """A walking-like recording stored as a +/-2 g, +/-250 deg/s int16 IMU writes it."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    acc_g = np.column_stack([0.1 * np.sin(2 * np.pi * 1.8 * t), 0.05 * rng.normal(size=t.size), 1 + 0.2 * np.sin(2 * np.pi * 1.8 * t)])
    gyro_deg_s = np.column_stack([20 * np.sin(2 * np.pi * 0.9 * t), 5 * rng.normal(size=t.size), np.zeros(t.size)])
    counts = np.hstack([acc_g * ACC_COUNTS_PER_G, gyro_deg_s * GYRO_COUNTS_PER_DEG_S]).round().astype(np.int16)
    table = pd.DataFrame(counts, columns=["ax", "ay", "az", "gx", "gy", "gz"])
    table["activity"] = activity
    return table


def _public_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "public"
    for subject, activity, seed in (("s01", "A", 0), ("s01", "B", 1), ("s02", "A", 2)):
        (folder / subject).mkdir(parents=True, exist_ok=True)
        _int16_recording(20, 50, activity, seed).to_csv(folder / subject / f"{activity}.csv", index=False)
    return folder


def _import_args(home: Path, path: Path, *extra: str) -> list[str]:
    return ["--home", str(home), "data", "import", str(path), "--name", "pub", "--format", "csv", "--rate", "50",
            "--acc-cols", "ax,ay,az", "--gyro-cols", "gx,gy,gz", "--label-col", "activity",
            "--label-map", "A=walk,B=jog", *extra]


SCALES = ("--acc-unit", "g", "--acc-scale", str(ACC_COUNTS_PER_G), "--gyro-unit", "deg/s",
          "--gyro-scale", str(GYRO_COUNTS_PER_DEG_S))


def test_folder_of_int16_files_imports_one_recording_per_file_with_the_file_in_the_key(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_import_args(home, _public_folder(tmp_path), *SCALES)) == 0
    store = Store(home / "lanhar.duckdb")
    windows = dataset_store.load_windows(store, dataset="pub")
    with store.connect() as conn:
        recordings = sorted(r[0] for r in conn.execute("SELECT key FROM recordings WHERE dataset = 'pub'").fetchall())
    assert recordings == ["s01/A/unknown", "s01/B/unknown", "s02/A/unknown"]
    counts = dataset_store.window_counts(store).set_index("label")["n"]
    assert counts["walk"] > counts["jog"] > 0
    signals = windows.signals
    assert abs(float(np.median(np.linalg.norm(signals[:, :, :3], axis=2))) - GRAVITY) < 1.5


def test_zip_of_the_folder_imports_the_same_recordings(home: Path, tmp_path: Path) -> None:
    folder = _public_folder(tmp_path)
    packed = tmp_path / "public.zip"
    with zipfile.ZipFile(packed, "w") as archive:
        for file in sorted(folder.rglob("*.csv")):
            archive.write(file, file.relative_to(folder).as_posix())
        archive.writestr("README.md", "not a table")
    assert main(_import_args(home, packed, *SCALES)) == 0
    with Store(home / "lanhar.duckdb").connect() as conn:
        recordings = sorted(r[0] for r in conn.execute("SELECT key FROM recordings WHERE dataset = 'pub'").fetchall())
    assert recordings == ["s01/A/unknown", "s01/B/unknown", "s02/A/unknown"]


def test_raw_counts_without_a_scale_are_refused_naming_the_flag(home: Path, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_import_args(home, _public_folder(tmp_path), "--acc-unit", "g", "--gyro-unit", "deg/s")) == 2
    err = capsys.readouterr().err
    assert "raw integer counts; pass --acc-scale" in err and "acc_unit=" not in err


def test_recording_column_splits_one_file_and_windows_stay_inside_recordings(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = _int16_recording(13, 50, "A", 0), _int16_recording(13, 50, "A", 1)
    first["trial"], second["trial"] = 1, 2
    path = tmp_path / "trials.csv"
    pd.concat([first, second]).to_csv(path, index=False)
    assert main(_import_args(home, path, *SCALES, "--recording-col", "trial")) == 0
    store = Store(home / "lanhar.duckdb")
    with store.connect() as conn:
        keys = sorted(r[0] for r in conn.execute("SELECT key FROM recordings WHERE dataset = 'pub'").fetchall())
    assert keys == ["trials/unknown/1", "trials/unknown/2"]
    # 13 s at 20 Hz = 260 samples -> windows at 0, 60, 120 per trial; one straddling window would make 7.
    assert int(dataset_store.window_counts(store)["n"].sum()) == 6


def test_dry_run_reports_and_writes_nothing(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = Store(home / "lanhar.duckdb")
    before = snapshot(store)
    short = tmp_path / "public" / "s03"
    folder = _public_folder(tmp_path)
    short.mkdir()
    _int16_recording(3, 50, "A", 5).to_csv(short / "A.csv", index=False)
    assert main(_import_args(home, folder, *SCALES, "--dry-run")) == 0
    out = capsys.readouterr().out
    assert "dry run, nothing written" in out and "4 recordings" not in out and "3 recordings" in out
    assert "walk:" in out and "jog:" in out and "median |acc|" in out
    assert "s01/B/unknown" in out and "s01/B.csv" in out
    assert "would skip 1 recording(s)" in out and "s03/A/unknown" in out and "shorter than one window" in out
    assert snapshot(store) == before


def test_sensorlogger_platform_flag(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "rec.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("TotalAcceleration.csv", _sensor_csv(50, 20, (0.0, 0.0, GRAVITY)))
        archive.writestr("Gyroscope.csv", _sensor_csv(50, 20, (0.0, 0.0, 0.1)))
    base = ["--home", str(home), "data", "import", str(path), "--name", "phone", "--format", "sensorlogger", "--label", "sit"]
    assert main(base) == 2
    assert "--platform ios or --platform android" in capsys.readouterr().err
    assert main([*base, "--platform", "ios"]) == 0
    windows = dataset_store.load_windows(Store(home / "lanhar.duckdb"), dataset="phone")
    assert np.allclose(windows.signals[:, :, 2], -GRAVITY, atol=1e-3)


def test_unmapped_labels_name_the_flags(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = [a if a != "A=walk,B=jog" else "A=walk" for a in _import_args(home, _public_folder(tmp_path), *SCALES)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "--label-map" in err and "--new-labels" in err and "allow_new_labels" not in err


def test_rounded_timestamps_get_a_rounding_hint() -> None:
    t = np.round(np.arange(200) / 100.0, 1)
    with pytest.raises(InvalidSignalError, match="rounded"):
        checks.check_monotonic(t, "t.csv")


def test_calm_gyro_in_deg_s_declared_as_rad_s_is_caught_by_its_peaks() -> None:
    rng = np.random.default_rng(0)
    gyro = rng.normal(0, 8.0, size=(5000, 3))
    gyro[::250, 0] = 200.0
    assert np.percentile(np.abs(gyro), 99) < checks.MAX_PLAUSIBLE_GYRO_RAD_S
    acc = np.tile([0.0, 0.0, GRAVITY], (5000, 1))
    with pytest.raises(UnitError, match=r"peak \|gyro\| is 200 rad/s.*--gyro-unit deg/s"):
        checks.check_plausible_units(acc, gyro, "m/s2", "rad/s", "calm.csv")
    checks.check_plausible_units(acc, gyro * np.pi / 180, "m/s2", "deg/s", "calm.csv")


def test_labels_list_before_any_model_lists_the_vocabulary(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--home", str(home), "labels", "list"]) == 0
    out = capsys.readouterr().out
    assert "no trained model yet" in out
    assert all(a.name in out for a in BUILTIN_ACTIVITIES)


def test_bench_results_print_the_confusion_matrix(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = Store(home / "lanhar.duckdb")
    benchmark = result_store.create_benchmark(store, "cross", {}, "test")
    for seed, confusion in enumerate(([[5, 1], [2, 4]], [[6, 0], [1, 5]])):
        metrics = {"accuracy": 0.75, "macro_f1": 0.7, "weighted_f1": 0.7, "labels": ["sit", "walk"],
                   "confusion": confusion, "n": 12, "category_accuracy": 0.8}
        result_store.add_result(store, benchmark, result_store.ResultIn("cross", "a", "b", "lanhar", "transductive",
                                                                        seed, metrics, {}, 1.0), "test")
    result_store.finish_benchmark(store, benchmark, "finished", 2.0)
    assert main(["--home", str(home), "bench", "results"]) == 0
    out = capsys.readouterr().out
    assert "confusion a -> b · lanhar/transductive (rows true, columns predicted; 2 seed(s))" in out
    rows = [line.split() for line in out.splitlines() if line.startswith(("sit ", "walk "))]
    assert rows[-2:] == [["sit", "11", "1"], ["walk", "3", "9"]]


def test_recognize_reads_raw_counts_with_the_scale_flags(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from test_security import _saved_recognizer

    model = _saved_recognizer(tmp_path / "model")
    path = tmp_path / "counts.csv"
    _int16_recording(30, 50, "A", 0).to_csv(path, index=False)
    base = ["--home", str(home), "recognize", str(path), "--model", str(model), "--format", "json", "--rate", "50",
            "--acc-cols", "ax,ay,az", "--gyro-cols", "gx,gy,gz", "--acc-unit", "g", "--gyro-unit", "deg/s"]
    assert main(base) == 2
    assert "--acc-scale" in capsys.readouterr().err
    assert main([*base, "--acc-scale", str(ACC_COUNTS_PER_G), "--gyro-scale", str(GYRO_COUNTS_PER_DEG_S)]) == 0
    segments = json.loads(capsys.readouterr().out)
    assert segments and segments[0]["recording"] == "counts/unknown"


def test_ingest_dry_run_of_a_reader_writes_nothing(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from test_security import _npy_object_file

    series = np.tile(np.array([[0.0, 0.0, 1.0, 0.1, 0.2, 0.3]]), (600, 1))
    _npy_object_file(tmp_path / "watch_dataset.npy", {"X": [series], "y": np.array([0]), "y_labels": np.array(["PEN"]),
                                                       "subject": np.array([1]), "side": np.array([1])})
    store = Store(home / "lanhar.duckdb")
    before = snapshot(store)
    assert main(["--home", str(home), "data", "ingest", "seglearn_watch", str(tmp_path), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "seglearn_watch (dry run, nothing written): 1 recordings" in out and "shoulder_pendulum:" in out
    assert snapshot(store) == before
