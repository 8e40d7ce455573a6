"""Archive importers under hostile or damaged input: zip bombs, nested .gz bombs, bad CRCs,
foreign text encodings; and the single-file and European-CSV cases that used to fail."""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_importers import _phyphox_csv, _sensor_csv, _spec, _table, _zip

from lanhar_core.config import with_overrides
from lanhar_core.data.importers.archive import ExpansionLimits, iter_members
from lanhar_core.data.importers.generic import import_table
from lanhar_core.data.importers.phyphox import import_phyphox
from lanhar_core.data.importers.sensorlogger import import_sensorlogger
from lanhar_core.data.ingest import import_source, ingest_source
from lanhar_core.data.types import GRAVITY
from lanhar_core.errors import DataFormatError, FileTooLargeError

BOMB_LINE = "0.000,0.000,0.000,9.810\n"


def _bomb_text(megabytes: float) -> str:
    """A valid-looking phyphox CSV of ``megabytes`` that deflates about 1000 times."""
    header = "Time (s),Acceleration x (m/s^2),Acceleration y (m/s^2),Acceleration z (m/s^2)\n"
    return header + BOMB_LINE * int(megabytes * 1024 * 1024 / len(BOMB_LINE))


def _deflated_zip(path: Path, files: dict[str, str | bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return path


def test_phyphox_zip_bomb_is_refused_naming_the_member_and_the_ratio(tmp_path: Path) -> None:
    path = _deflated_zip(tmp_path / "bomb.zip", {"Raw Data.csv": _bomb_text(3)})
    assert path.stat().st_size < 30_000
    with pytest.raises(FileTooLargeError, match=r"bomb\.zip/Raw Data\.csv expands more than 100 times .*max_compression_ratio"):
        import_phyphox(path, dataset="lab")


def test_member_over_the_expanded_size_limit_is_refused_before_it_is_all_read(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    noisy = pd.DataFrame(rng.normal(size=(40_000, 4))).to_csv(index=False)
    path = _deflated_zip(tmp_path / "big.zip", {"Raw Data.csv": noisy})
    limits = ExpansionLimits(max_member_bytes=256 * 1024, max_ratio=1000.0)
    with pytest.raises(FileTooLargeError, match=r"big\.zip/Raw Data\.csv expands to more than 0\.25 MB.*max_expanded_mb"):
        import_phyphox(path, dataset="lab", limits=limits)


def test_sensorlogger_zip_with_a_gz_bomb_inside_is_refused(tmp_path: Path) -> None:
    lines = ["time,seconds_elapsed,z,y,x"] + ["1700000000000000000,0.0,9.81,0,0"] * 120_000
    bomb = gzip.compress(("\n".join(lines) + "\n").encode(), compresslevel=9)
    files: dict[str, str | bytes] = {"TotalAcceleration.csv.gz": bomb, "Gyroscope.csv": _sensor_csv(50, 4, (0, 0, 0))}
    path = _deflated_zip(tmp_path / "rec.zip", files)
    with pytest.raises(FileTooLargeError, match=r"TotalAcceleration\.csv\.gz expands more than 100 times"):
        import_sensorlogger(path, dataset="phone", platform="android")


def test_generic_csv_gz_bomb_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "table.csv.gz"
    path.write_bytes(gzip.compress(_bomb_text(2).encode(), compresslevel=9))
    with pytest.raises(FileTooLargeError, match=r"table\.csv\.gz expands more than 100 times"):
        import_table(path, _spec())


def test_limits_come_from_the_settings(tmp_path: Path, settings, store) -> None:
    path = _deflated_zip(tmp_path / "exp.zip", {
        "Accelerometer.csv": _phyphox_csv("acc", 100, 60, (0.1, 0.2, GRAVITY)),
        "Gyroscope.csv": _phyphox_csv("gyro", 100, 60, (0.0, 0.05, 0.0)),
    })
    tight = with_overrides(settings, "data", max_expanded_mb=0.1)
    with pytest.raises(FileTooLargeError, match="more than 0.1 MB"):
        ingest_source(store, tight, import_source(tight, "lab", path, "phyphox", label="stand"))
    report = ingest_source(store, settings, import_source(settings, "lab", path, "phyphox", label="stand"))
    assert report.windows > 0


def test_zip_with_a_bad_crc_names_the_member(tmp_path: Path) -> None:
    path = _zip(tmp_path / "exp.zip", {"Accelerometer.csv": _phyphox_csv("acc", 50, 4, (0, 0, GRAVITY)),
                                       "Gyroscope.csv": _phyphox_csv("gyro", 50, 4, (0, 0, 0))})
    raw = bytearray(path.read_bytes())
    offset = raw.index(b"Time (s)") + 30
    raw[offset] = ord("7") if raw[offset] != ord("7") else ord("8")
    path.write_bytes(bytes(raw))
    with pytest.raises(DataFormatError, match=r"exp\.zip/Accelerometer\.csv: the archive member is damaged"):
        import_phyphox(path, dataset="lab")


def test_truncated_zip_is_a_data_format_error(tmp_path: Path) -> None:
    path = _deflated_zip(tmp_path / "exp.zip", {"Raw Data.csv": _phyphox_csv("acc", 50, 40, (0, 0, GRAVITY))})
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(DataFormatError):
        list(iter_members(path))


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le"])
def test_utf16_csv_inside_a_zip_is_decoded(tmp_path: Path, encoding: str) -> None:
    files = {"Accelerometer.csv": _phyphox_csv("acc", 50, 4, (0.1, 0.2, GRAVITY)).encode(encoding),
             "Gyroscope.csv": _phyphox_csv("gyro", 50, 4, (0.0, 0.05, 0.0)).encode(encoding)}
    rec = import_phyphox(_deflated_zip(tmp_path / "exp.zip", files), dataset="lab")[0]
    assert np.allclose(rec.signals[:, 2], GRAVITY) and np.allclose(rec.signals[:, 4], 0.05)


def test_non_utf8_csv_says_how_to_save_it(tmp_path: Path) -> None:
    text = _phyphox_csv("acc", 50, 4, (0.1, 0.2, GRAVITY)).replace("Time (s)", "Time (s) \xe9\xe8")
    path = _deflated_zip(tmp_path / "exp.zip", {"Accelerometer.csv": text.encode("latin-1")})
    with pytest.raises(DataFormatError, match=r"Accelerometer\.csv: not UTF-8 or UTF-16 text .*CSV UTF-8"):
        import_phyphox(path, dataset="lab")


def test_phyphox_single_csv_file_is_accepted(tmp_path: Path) -> None:
    acc = pd.read_csv(io.StringIO(_phyphox_csv("acc", 50, 4, (0.1, 0.2, GRAVITY))))
    gyro = pd.read_csv(io.StringIO(_phyphox_csv("gyro", 50, 4, (0.0, 0.05, 0.0))))
    path = tmp_path / "Raw Data.csv"
    pd.concat([acc, gyro.drop(columns="Time (s)")], axis=1).to_csv(path, index=False)
    rec = import_phyphox(path, dataset="lab")[0]
    assert np.allclose(rec.signals[:, 2], GRAVITY) and np.allclose(rec.signals[:, 4], 0.05)
    assert rec.source_file == "Raw Data.csv"


def test_generic_import_reads_european_csv(tmp_path: Path) -> None:
    path = tmp_path / "eu.csv"
    _table().to_csv(path, index=False, sep=";", decimal=",")
    rec = import_table(path, _spec())[0]
    assert np.allclose(rec.signals[:, 2], GRAVITY) and np.allclose(rec.signals[:, 3], 0.3)


def test_upload_column_names_of_utf16_and_european_tables() -> None:
    from app.components.uploads import table_columns

    assert table_columns("a.csv", "t;ax;ay\n0,1;9,8;0,0\n".encode("utf-16")) == ["t", "ax", "ay"]
    assert table_columns("a.csv", b"\xef\xbb\xbft,ax\n0,1\n") == ["t", "ax"]


def test_tar_of_many_small_highly_compressible_members_is_refused(tmp_path: Path) -> None:
    import tarfile

    path = tmp_path / "bomb.tar.gz"
    member = (BOMB_LINE * 20_000).encode()
    with tarfile.open(path, "w:gz") as archive:
        for index in range(40):
            info = tarfile.TarInfo(f"data/a01/p1/s{index:02d}.txt")
            info.size = len(member)
            archive.addfile(info, io.BytesIO(member))
    assert path.stat().st_size < 100_000
    with pytest.raises(FileTooLargeError, match=r"bomb\.tar\.gz/data/a01/p1/s\d\d\.txt \(with the members before it\)"):
        list(iter_members(path))
