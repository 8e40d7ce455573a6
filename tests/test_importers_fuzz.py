"""Seeded fuzzing of every importer: generated malformed tables and archives, each of which
must be refused with a ``LanharError`` that has a message, leaving the store unchanged.

Every mutation is chosen so that the input is certainly invalid (a missing column, a
non-numeric or NaN cell, too few rows, reversed time, an implausible unit, a damaged or
bomb archive, a missing sensor file), so "accepted" is a failure too.
"""

from __future__ import annotations

import gzip
import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_importers import _phyphox_csv, _sensor_csv

from lanhar_core.config import Settings
from lanhar_core.data.ingest import import_source, ingest_source
from lanhar_core.data.types import GRAVITY
from lanhar_core.errors import LanharError
from storage.db import Store

from data_fixtures import make_source, snapshot

CASES = 40
SEED = 1234
TABLE_OPTIONS = {"acc_columns": ("ax", "ay", "az"), "gyro_columns": ("gx", "gy", "gz"), "time_column": "t"}


def _table(rng: np.random.Generator, seconds: float = 20.0, rate: float = 50.0) -> pd.DataFrame:
    t = np.arange(int(seconds * rate)) / rate
    return pd.DataFrame({
        "t": t, "ax": 0.3 * rng.normal(size=t.size), "ay": 0.3 * rng.normal(size=t.size),
        "az": GRAVITY + np.sin(2 * np.pi * 1.8 * t), "gx": 0.4 * np.sin(2 * np.pi * 0.9 * t),
        "gy": 0.1 * rng.normal(size=t.size), "gz": 0.0,
    })


def _break_table(table: pd.DataFrame, rng: np.random.Generator) -> tuple[pd.DataFrame, str]:
    """One certainly-invalid change to a good table, and its name."""
    kind = rng.choice(["drop column", "text cell", "nan cell", "too short", "time backwards", "acc x1000"])
    table = table.copy()
    row = int(rng.integers(1, len(table) - 1))
    column = str(rng.choice(["ax", "ay", "az", "gx", "gy", "gz"]))
    if kind == "drop column":
        table = table.drop(columns=column)
    elif kind == "text cell":
        table[column] = table[column].astype(object)
        table.loc[row, column] = "n/a#"
    elif kind == "nan cell":
        table.loc[row, column] = np.nan
    elif kind == "too short":
        table = table.head(int(rng.integers(2, 40)))
    elif kind == "time backwards":
        table.loc[row, "t"] = table.loc[row - 1, "t"] - 1.0
    else:
        table[["ax", "ay", "az"]] *= 1000.0
    return table, str(kind)


def _break_bytes(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    kind = rng.choice(["empty", "binary garbage", "header only"])
    if kind == "empty":
        return b"" if rng.random() < 0.5 else b"\n \n", "empty"
    if kind == "binary garbage":
        return bytes(rng.integers(128, 256, size=int(rng.integers(10, 4000)), dtype=np.uint8)), "binary garbage"
    return data.split(b"\n", 1)[0] + b"\n", "header only"


def _csv_case(tmp_path: Path, rng: np.random.Generator) -> tuple[Path, str, dict, str]:
    table = _table(rng)
    path = tmp_path / "data.csv"
    if rng.random() < 0.7:
        broken, kind = _break_table(table, rng)
        broken.to_csv(path, index=False, sep=str(rng.choice([",", ";", "\t"])))
    else:
        data, kind = _break_bytes(table.to_csv(index=False).encode(), rng)
        path.write_bytes(data)
    return path, "csv", TABLE_OPTIONS, f"csv: {kind}"


def _parquet_case(tmp_path: Path, rng: np.random.Generator) -> tuple[Path, str, dict, str]:
    path = tmp_path / "data.parquet"
    if rng.random() < 0.7:
        broken, kind = _break_table(_table(rng), rng)
        if kind == "text cell":
            broken = broken.astype(str)
        broken.to_parquet(path)
    else:
        buffer = io.BytesIO()
        _table(rng).to_parquet(buffer)
        raw = buffer.getvalue()
        path.write_bytes(raw[: int(rng.integers(8, len(raw) // 2))])
        kind = "truncated parquet"
    return path, "parquet", TABLE_OPTIONS, f"parquet: {kind}"


def _zip(path: Path, members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _damage_archive(path: Path, rng: np.random.Generator) -> str:
    raw = bytearray(path.read_bytes())
    if rng.random() < 0.5:
        path.write_bytes(bytes(raw[: int(rng.integers(30, len(raw) - 30))]))
        return "truncated zip"
    start = raw.index(b"\n") + 5 if b"\n" in raw else 60
    for offset in rng.integers(start, start + 40, size=3):
        raw[int(offset)] ^= 0x55
    path.write_bytes(bytes(raw))
    return "corrupted member"


_BOMB = b"0,0,0,0\n" * (300 * 1024)


def _phone_members(fmt: str, rng: np.random.Generator) -> dict[str, bytes]:
    if fmt == "phyphox":
        return {"Accelerometer.csv": _phyphox_csv("acc", 50, 20, (0.1, 0.2, GRAVITY)).encode(),
                "Gyroscope.csv": _phyphox_csv("gyro", 50, 20, (0.0, 0.05, 0.0)).encode()}
    return {"TotalAcceleration.csv": _sensor_csv(50, 20, (0.0, 0.0, GRAVITY)).encode(),
            "Gyroscope.csv": _sensor_csv(50, 20, (0.0, 0.0, 0.1)).encode(),
            "Metadata.csv": b"version,device name,recording time,platform\n3,Pixel,2024-01-01,android\n"}


def _phone_case(fmt: str) -> Callable[[Path, np.random.Generator], tuple[Path, str, dict, str]]:
    def build(tmp_path: Path, rng: np.random.Generator) -> tuple[Path, str, dict, str]:
        members = _phone_members(fmt, rng)
        sensor = "Gyroscope.csv"
        kind = str(rng.choice(["damaged zip", "bomb", "gz bomb", "missing sensor", "broken member", "bad gz"]))
        path = tmp_path / "export.zip"
        if kind == "bomb":
            members[sensor] = _BOMB
        elif kind == "gz bomb":
            members[sensor + ".gz"] = gzip.compress(_BOMB)
            del members[sensor]
        elif kind == "missing sensor":
            del members[sensor]
        elif kind == "bad gz":
            members[sensor + ".gz"] = gzip.compress(members.pop(sensor))[:-20]
        elif kind == "broken member":
            if rng.random() < 0.5:
                table = pd.read_csv(io.BytesIO(members[sensor]))
                broken, detail = _break_table_columns(table, rng)
                members[sensor] = broken.to_csv(index=False).encode()
            else:
                members[sensor], detail = _break_bytes(members[sensor], rng)
            kind = f"broken member: {detail}"
        _zip(path, members)
        if kind == "damaged zip":
            kind = _damage_archive(path, rng)
        return path, fmt, {"label": "walk"}, f"{fmt}: {kind}"

    return build


def _break_table_columns(table: pd.DataFrame, rng: np.random.Generator) -> tuple[pd.DataFrame, str]:
    """Like ``_break_table`` for an app's own column names."""
    value_columns = [c for c in table.columns if c not in ("time", "seconds_elapsed") and not c.startswith("Time")]
    column = str(rng.choice(value_columns))
    kind = str(rng.choice(["drop column", "nan cell", "too short"]))
    table = table.copy()
    if kind == "drop column":
        table = table.drop(columns=column)
    elif kind == "nan cell":
        table.loc[int(rng.integers(1, len(table) - 1)), column] = np.nan
    else:
        table = table.head(int(rng.integers(2, 30)))
    return table, kind


BUILDERS = [_csv_case, _parquet_case, _phone_case("phyphox"), _phone_case("sensorlogger")]


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Path, str, dict, str]]:
    rng = np.random.default_rng(SEED)
    built = []
    for index in range(CASES):
        folder = tmp_path_factory.mktemp(f"case{index:02d}")
        built.append(BUILDERS[index % len(BUILDERS)](folder, rng))
    return built


def test_every_malformed_input_is_refused_with_a_message_and_the_store_is_unchanged(
    cases: list[tuple[Path, str, dict, str]], settings: Settings, store: Store, tmp_path: Path
) -> None:
    ingest_source(store, settings, make_source(tmp_path))
    before = snapshot(store)
    accepted: list[str] = []
    refused: list[str] = []
    for path, fmt, options, description in cases:
        try:
            ingest_source(store, settings, import_source(settings, "fuzz", path, fmt, **options))
        except LanharError as exc:
            refused.append(description)
            assert len(str(exc)) > 20, f"{description}: message too short: {exc!r}"
        else:
            accepted.append(description)
    assert accepted == []
    assert len(refused) == CASES
    assert snapshot(store) == before
    kinds = {d.split(":")[0] for d in refused}
    assert kinds == {"csv", "parquet", "phyphox", "sensorlogger"}
