"""Shared pieces of the phone-app importers (Sensor Logger, phyphox)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from lanhar_core.config import DataSettings
from lanhar_core.data.importers import checks
from lanhar_core.data.importers.archive import ExpansionLimits, list_names, read_member
from lanhar_core.data.importers.tables import parse_csv
from lanhar_core.data.importers.timeline import join_streams
from lanhar_core.data.types import Recording
from lanhar_core.errors import DataFormatError


def export_members(path: Path, max_bytes: int | None) -> list[str]:
    """Member names of an exported folder or zip, after the size check of a zip upload."""
    path = Path(path)
    if not path.exists():
        raise DataFormatError(f"{path} does not exist")
    if path.is_file():
        checks.check_file_size(path, max_bytes)
    return list_names(path)


def numeric(table: pd.DataFrame, columns: list[str], where: str) -> np.ndarray:
    """The given columns as float64, with missing columns, 0 rows and NaN/inf reported."""
    checks.require_columns(table.columns.astype(str), columns, where)
    checks.check_not_empty(len(table), where)
    values = table[columns].apply(pd.to_numeric, errors="coerce").to_numpy(np.float64)
    checks.check_finite(values, columns, where)
    return values


def sorted_stream(t_s: np.ndarray, values: np.ndarray, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Time-ordered samples; apps occasionally repeat a timestamp, which is dropped, but
    samples that go back in time are an error (the file was edited or merged)."""
    keep = np.concatenate([[True], np.diff(t_s) != 0])
    t_s, values = t_s[keep], values[keep]
    checks.check_monotonic(t_s, where)
    return t_s, values


def recordings_from_streams(
    t_acc: np.ndarray,
    acc: np.ndarray,
    t_gyro: np.ndarray,
    gyro: np.ndarray,
    meta: Mapping[str, str],
    where: str,
    dataset: str,
    subject: str,
    placement: str,
    label: str | None,
    max_gap_s: float | None,
) -> list[Recording]:
    """Validated, gravity-checked recordings from an acc and a gyro stream (both canonical)."""
    checks.check_plausible_units(acc, gyro, "m/s2", "rad/s", where)
    gap = DataSettings().max_gap_s if max_gap_s is None else max_gap_s
    pieces = join_streams(t_acc, acc, t_gyro, gyro, gap, where)
    if not pieces:
        raise DataFormatError(f"{where}: accelerometer and gyroscope never record at the same time")
    stem = Path(where).stem
    return [
        Recording(
            dataset=dataset,
            key=f"{stem}/{index:03d}" if len(pieces) > 1 else stem,
            subject=subject,
            signals=piece.values,
            rate_hz=piece.rate_hz,
            labels=np.full(piece.values.shape[0], label, dtype=object),
            native_labels=np.full(piece.values.shape[0], label, dtype=object),
            session=stem,
            placement=placement,
            source_file=where,
            meta={**meta, "start_s": f"{piece.start_s:.3f}"},
        )
        for index, piece in enumerate(pieces)
    ]


def member_by_basename(names: list[str], wanted: str) -> str | None:
    """The member whose file name (any folder, optional .gz) equals ``wanted`` case-insensitively."""
    for name in names:
        base = name.rsplit("/", 1)[-1]
        if base.lower().removesuffix(".gz") == wanted.lower():
            return name
    return None


def read_table(path: Path, name: str, limits: ExpansionLimits | None = None) -> pd.DataFrame:
    """One member of an export parsed as CSV, decompressed under ``limits``."""
    return parse_csv(read_member(path, name, limits), name)
