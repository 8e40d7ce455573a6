"""Generic table import and the phone-app importers: conversions and every validation error."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lanhar_core.data.importers.generic import ImportSpec, import_table
from lanhar_core.data.importers.phyphox import import_phyphox
from lanhar_core.data.importers.sensorlogger import import_sensorlogger
from lanhar_core.data.types import GRAVITY
from lanhar_core.errors import DataFormatError, FileTooLargeError, InvalidSignalError, UnitError

ACC = ("ax", "ay", "az")
GYRO = ("gx", "gy", "gz")


def _table(n: int = 200, acc_scale: float = 1.0, gyro_scale: float = 1.0, rate: float = 50.0) -> pd.DataFrame:
    t = np.arange(n) / rate
    return pd.DataFrame({
        "t": t,
        "ax": 0.1 * np.sin(2 * np.pi * t) * acc_scale, "ay": 0.2 * acc_scale, "az": GRAVITY * acc_scale,
        "gx": 0.3 * gyro_scale, "gy": -0.1 * gyro_scale, "gz": 0.0,
        "activity": ["Walking"] * (n // 2) + ["Sitting"] * (n - n // 2),
        "who": ["p1"] * (n // 2) + ["p2"] * (n - n // 2),
    })


def _spec(**kw: object) -> ImportSpec:
    base = {"dataset": "mine", "acc_columns": ACC, "gyro_columns": GYRO, "rate_hz": 50.0}
    return ImportSpec(**{**base, **kw})  # type: ignore[arg-type]


def _csv(tmp_path: Path, table: pd.DataFrame, name: str = "data.csv") -> Path:
    path = tmp_path / name
    table.to_csv(path, index=False)
    return path


def test_fixed_rate_csv_with_labels_subjects_and_metadata(tmp_path: Path) -> None:
    spec = _spec(label_column="activity", label_map={"Walking": "walk", "Sitting": "sit"}, subject_column="who",
                 placement="wrist", session="s1", device="watch")
    recs = import_table(_csv(tmp_path, _table()), spec)
    assert [r.subject for r in recs] == ["p1", "p2"]
    assert all(r.dataset == "mine" and r.placement == "wrist" and r.rate_hz == 50.0 for r in recs)
    assert set(recs[0].labels.tolist()) == {"walk"} and set(recs[1].native_labels.tolist()) == {"Sitting"}
    assert spec.dataset_info().name == "mine"


def test_g_deg_s_and_ios_are_converted(tmp_path: Path) -> None:
    table = _table(acc_scale=-1 / GRAVITY, gyro_scale=180 / np.pi)  # iOS sign, g, deg/s
    rec = import_table(_csv(tmp_path, table), _spec(acc_unit="g", gyro_unit="deg/s", sign="ios"))[0]
    assert np.allclose(rec.signals[:, 2], GRAVITY, atol=1e-4)
    assert np.allclose(rec.signals[:, 3:5], [0.3, -0.1], atol=1e-5)


def test_parquet_with_irregular_ms_timestamps_is_put_on_a_uniform_grid(tmp_path: Path) -> None:
    table = _table(n=500, rate=100.0)
    rng = np.random.default_rng(1)
    table["t"] = (table["t"] + rng.uniform(-0.002, 0.002, len(table))) * 1000.0
    table = table.drop(index=range(200, 203)).reset_index(drop=True)  # a few dropped samples
    path = tmp_path / "data.parquet"
    table.to_parquet(path)
    recs = import_table(path, _spec(rate_hz=None, time_column="t", time_unit="ms"))
    assert len(recs) == 1 and abs(recs[0].rate_hz - 100.0) < 2.0
    assert np.allclose(recs[0].signals[:, 2], GRAVITY, atol=1e-4)


def test_long_timestamp_gap_splits_recordings(tmp_path: Path) -> None:
    table = _table(n=400)
    table.loc[200:, "t"] += 30.0
    recs = import_table(_csv(tmp_path, table), _spec(rate_hz=None, time_column="t"))
    assert len(recs) == 2 and recs[0].key != recs[1].key


def test_unmapped_labels_are_listed_or_kept_when_allowed(tmp_path: Path) -> None:
    path = _csv(tmp_path, _table())
    with pytest.raises(DataFormatError, match="Sitting"):
        import_table(path, _spec(label_column="activity", label_map={"Walking": "walk"}))
    rec = import_table(path, _spec(label_column="activity", label_map={"Walking": "walk"}, allow_new_labels=True))[0]
    assert set(rec.labels.tolist()) == {"walk", "Sitting"}


def test_missing_columns_are_named(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="'gz'.*has"):
        import_table(_csv(tmp_path, _table().drop(columns=["gz"])), _spec())


@pytest.mark.parametrize("field,value", [("acc_unit", "furlong/s2"), ("gyro_unit", "rpm"), ("sign", "windows")])
def test_unknown_units_are_rejected(tmp_path: Path, field: str, value: str) -> None:
    with pytest.raises(UnitError, match="accepted"):
        import_table(_csv(tmp_path, _table()), _spec(**{field: value}))


def test_unknown_time_unit_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(UnitError, match="time unit"):
        import_table(_csv(tmp_path, _table()), _spec(rate_hz=None, time_column="t", time_unit="fortnight"))


def test_nan_values_are_counted_and_located(tmp_path: Path) -> None:
    table = _table()
    table.loc[[5, 9], "ay"] = np.nan
    table.loc[7, "gx"] = np.inf
    with pytest.raises(InvalidSignalError, match=r"3 NaN/inf.*ay: 2.*gx: 1.*row 5"):
        import_table(_csv(tmp_path, table), _spec())


def test_non_monotonic_timestamps_are_rejected(tmp_path: Path) -> None:
    table = _table()
    table.loc[50, "t"] = table.loc[10, "t"]
    with pytest.raises(InvalidSignalError, match="not strictly increasing.*row 50"):
        import_table(_csv(tmp_path, table), _spec(rate_hz=None, time_column="t"))


def test_zero_rows_and_empty_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidSignalError, match="0 data rows"):
        import_table(_csv(tmp_path, _table().iloc[:0]), _spec())
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InvalidSignalError, match="empty"):
        import_table(empty, _spec())


def test_file_over_the_size_limit(tmp_path: Path) -> None:
    with pytest.raises(FileTooLargeError, match="max_upload_mb"):
        import_table(_csv(tmp_path, _table()), _spec(), max_bytes=100)


def test_acc_in_g_declared_as_m_s2_suggests_g(tmp_path: Path) -> None:
    with pytest.raises(UnitError, match="declare --acc-unit g"):
        import_table(_csv(tmp_path, _table(acc_scale=1 / GRAVITY)), _spec())


def test_gyro_in_deg_s_declared_as_rad_s_suggests_deg_s(tmp_path: Path) -> None:
    with pytest.raises(UnitError, match="deg/s"):
        import_table(_csv(tmp_path, _table(gyro_scale=10 * 180 / np.pi)), _spec())  # 3 rad/s walking swing


def test_gravity_free_acc_is_rejected(tmp_path: Path) -> None:
    table = _table()
    table["az"] = 0.05
    with pytest.raises(UnitError, match="gravity"):
        import_table(_csv(tmp_path, table), _spec())


def test_rate_and_time_column_are_exclusive(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="exactly one"):
        import_table(_csv(tmp_path, _table()), _spec(time_column="t"))


# ---- phone apps -------------------------------------------------------------------------

def _sensor_csv(rate: float, seconds: float, xyz: tuple[float, float, float], t0_ns: int = 1_700_000_000_000_000_000) -> str:
    n = int(rate * seconds)
    t = t0_ns + (np.arange(n) * 1e9 / rate).astype(np.int64)
    lines = ["time,seconds_elapsed,z,y,x"]
    lines += [f"{ti},{(ti - t0_ns) / 1e9},{xyz[2]},{xyz[1]},{xyz[0]}" for ti in t]
    return "\n".join(lines) + "\n"


def _zip(path: Path, files: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return path


def test_sensorlogger_ios_zip_combines_accelerometer_and_gravity(tmp_path: Path) -> None:
    files = {
        "Accelerometer.csv": _sensor_csv(100, 5, (0.0, 0.0, 0.05)),
        "Gravity.csv": _sensor_csv(100, 5, (0.0, 0.0, -GRAVITY)),  # iOS: face-up gravity on -z
        "Gyroscope.csv": _sensor_csv(100, 5, (0.01, 0.02, 0.03)),
        "Metadata.csv": "version,device name,recording time,platform\n3,iPhone,2024-01-01,ios\n",
    }
    recs = import_sensorlogger(_zip(tmp_path / "rec.zip", files), dataset="phone", label="sit", placement="pocket")
    assert len(recs) == 1
    rec = recs[0]
    assert abs(rec.rate_hz - 100.0) < 0.5 and rec.placement == "pocket" and set(rec.labels.tolist()) == {"sit"}
    assert np.allclose(rec.signals[:, :3], [0.0, 0.0, GRAVITY - 0.05], atol=1e-4)
    assert np.allclose(rec.signals[:, 3:], [0.01, 0.02, 0.03])


def test_sensorlogger_android_folder_uses_total_acceleration(tmp_path: Path) -> None:
    folder = tmp_path / "rec"
    folder.mkdir()
    (folder / "TotalAcceleration.csv").write_text(_sensor_csv(50, 4, (0.0, GRAVITY, 0.0)))
    (folder / "Accelerometer.csv").write_text(_sensor_csv(50, 4, (0.0, 0.0, 0.0)))
    (folder / "Gyroscope.csv").write_text(_sensor_csv(50, 4, (0.0, 0.0, 0.1)))
    rec = import_sensorlogger(folder, dataset="phone", platform="android")[0]
    assert np.allclose(rec.signals[:, 1], GRAVITY)


def test_sensorlogger_without_gravity_inclusive_acc_is_an_error(tmp_path: Path) -> None:
    files = {"Accelerometer.csv": _sensor_csv(50, 4, (0.0, 0.0, 0.1)), "Gyroscope.csv": _sensor_csv(50, 4, (0, 0, 0))}
    with pytest.raises(DataFormatError, match="TotalAcceleration.csv.*Gravity.csv"):
        import_sensorlogger(_zip(tmp_path / "rec.zip", files), dataset="phone", platform="android")


def test_sensorlogger_needs_a_platform(tmp_path: Path) -> None:
    files = {"TotalAcceleration.csv": _sensor_csv(50, 4, (0, 0, GRAVITY)), "Gyroscope.csv": _sensor_csv(50, 4, (0, 0, 0))}
    with pytest.raises(DataFormatError, match="--platform ios or --platform android"):
        import_sensorlogger(_zip(tmp_path / "rec.zip", files), dataset="phone")


def _phyphox_csv(kind: str, rate: float, seconds: float, xyz: tuple[float, float, float], sep: str = ",", decimal: str = ".") -> str:
    names = {"acc": "Acceleration {} (m/s^2)", "lin": "Linear Acceleration {} (m/s^2)", "gyro": "Gyroscope {} (rad/s)"}[kind]
    header = ["Time (s)", *(names.format(a) for a in "xyz")]
    t = np.arange(int(rate * seconds)) / rate
    buffer = io.StringIO()
    pd.DataFrame(np.column_stack([t, np.tile(xyz, (t.size, 1))]), columns=header).to_csv(buffer, index=False, sep=sep, decimal=decimal)
    return buffer.getvalue()


def test_phyphox_zip_with_separate_sensor_files(tmp_path: Path) -> None:
    files = {
        "Accelerometer.csv": _phyphox_csv("acc", 100, 5, (0.1, 0.2, GRAVITY)),
        "Gyroscope.csv": _phyphox_csv("gyro", 98, 5, (0.0, 0.05, 0.0)),
        "meta/device.csv": "property,value\nmodel,Pixel\n",
    }
    rec = import_phyphox(_zip(tmp_path / "exp.zip", files), dataset="lab", label="stand")[0]
    assert abs(rec.rate_hz - 100.0) < 0.5 and np.allclose(rec.signals[:, 2], GRAVITY)
    assert np.allclose(rec.signals[:, 4], 0.05)


def test_phyphox_semicolon_decimal_comma_folder(tmp_path: Path) -> None:
    (tmp_path / "Raw Data.csv").write_text(_phyphox_csv("acc", 50, 4, (0.0, GRAVITY, 0.0), sep=";", decimal=","))
    (tmp_path / "Gyro.csv").write_text(_phyphox_csv("gyro", 50, 4, (0.1, 0.0, 0.0), sep=";", decimal=","))
    rec = import_phyphox(tmp_path, dataset="lab")[0]
    assert np.allclose(rec.signals[:, 1], GRAVITY) and np.allclose(rec.signals[:, 3], 0.1)


def test_phyphox_linear_acceleration_only_is_explained(tmp_path: Path) -> None:
    (tmp_path / "Raw Data.csv").write_text(_phyphox_csv("lin", 50, 4, (0.0, 0.1, 0.0)))
    with pytest.raises(DataFormatError, match="Acceleration with g"):
        import_phyphox(tmp_path, dataset="lab")


def test_phyphox_without_gyroscope_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "Raw Data.csv").write_text(_phyphox_csv("acc", 50, 4, (0.0, GRAVITY, 0.0)))
    with pytest.raises(DataFormatError, match="Gyroscope"):
        import_phyphox(tmp_path, dataset="lab")


def test_phone_zip_over_the_size_limit(tmp_path: Path) -> None:
    path = _zip(tmp_path / "exp.zip", {"Accelerometer.csv": _phyphox_csv("acc", 50, 4, (0, 0, GRAVITY))})
    with pytest.raises(FileTooLargeError):
        import_phyphox(path, dataset="lab", max_bytes=10)
