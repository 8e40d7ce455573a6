"""phyphox CSV export (RWTH Aachen): a folder or the zip the app shares.

Column names as phyphox writes them: ``Time (s)``, ``Acceleration x (m/s^2)`` ... (the
"Acceleration with g" experiment or the accelerometer of a multi-sensor experiment),
``Gyroscope x (rad/s)`` ... (in some versions ``Angular velocity x (rad/s)``). A single
experiment writes ``Raw Data.csv``; multi-sensor exports write one CSV per sensor
(``Accelerometer.csv``, ``Gyroscope.csv``). Files are classified by their columns, not
their names. Exports may use comma, tab or semicolon separators and a decimal comma.
phyphox reports acceleration in the Android convention on both platforms (+9.81 m/s^2 on
z face-up); this is an assumption from its documentation of the "Acceleration with g"
experiment, and ``sign='ios'`` flips it if a recording shows otherwise.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from lanhar_core.data.importers import checks
from lanhar_core.data.importers.archive import ExpansionLimits
from lanhar_core.data.importers.phone import export_members, numeric, read_table, recordings_from_streams, sorted_stream
from lanhar_core.data.types import Recording
from lanhar_core.errors import DataFormatError

_TIME = re.compile(r"^time \(s\)$", re.IGNORECASE)
_ACC = re.compile(r"^(linear )?acceleration ([xyz]) \(m/s\^?2\)$", re.IGNORECASE)
_GYRO = re.compile(r"^(gyroscope|angular velocity) ([xyz]) \(rad/s\)$", re.IGNORECASE)
CONVERSIONS = (
    "phyphox: acc from 'Acceleration x/y/z (m/s^2)' (with g), Android sign assumed; gyro 'Gyroscope x/y/z (rad/s)' "
    "unchanged; both on a uniform grid at the accelerometer's median rate by linear interpolation."
)


def _columns(table: pd.DataFrame, pattern: re.Pattern[str]) -> tuple[list[str], bool]:
    found = {}
    linear = False
    for column in map(str, table.columns):
        match = pattern.match(column.strip())
        if match:
            found[match.group(2).lower()] = column
            linear = linear or bool(match.group(1))
    return ([found[a] for a in "xyz"] if len(found) == 3 else []), linear


def _time_column(table: pd.DataFrame, where: str) -> str:
    for column in map(str, table.columns):
        if _TIME.match(column.strip()):
            return column
    raise DataFormatError(f"{where}: no 'Time (s)' column; the file has {list(map(str, table.columns))}")


def import_phyphox(
    path: Path,
    dataset: str,
    subject: str = "unknown",
    placement: str = "",
    label: str | None = None,
    sign: str = "android",
    max_bytes: int | None = None,
    max_gap_s: float | None = None,
    limits: ExpansionLimits | None = None,
) -> list[Recording]:
    """Recordings from one phyphox export that contains accelerometer (with g) and gyroscope."""
    path = Path(path)
    sign_factor = checks.parse_unit("sign convention", sign, checks.SIGNS)[1]
    acc_stream = gyro_stream = None
    saw_linear = False
    for member in export_members(path, max_bytes):
        if not member.lower().endswith(".csv") or "/meta/" in f"/{member.lower()}":
            continue
        table = read_table(path, member, limits)
        acc_cols, linear = _columns(table, _ACC)
        gyro_cols, _ = _columns(table, _GYRO)
        if linear:
            saw_linear = True
            continue
        for cols, kind in ((acc_cols, "acc"), (gyro_cols, "gyro")):
            if cols:
                time = _time_column(table, member)
                values = numeric(table, [time, *cols], member)
                stream = sorted_stream(values[:, 0], values[:, 1:], member)
                if kind == "acc":
                    acc_stream = stream
                else:
                    gyro_stream = stream
    if acc_stream is None:
        hint = " (only linear acceleration, i.e. without g, was found: use the 'Acceleration with g' experiment)" if saw_linear else ""
        raise DataFormatError(f"{path.name}: no 'Acceleration x/y/z (m/s^2)' columns in any CSV{hint}")
    if gyro_stream is None:
        raise DataFormatError(f"{path.name}: no 'Gyroscope x/y/z (rad/s)' columns in any CSV; record the gyroscope too")
    (t_acc, acc), (t_gyro, gyro) = acc_stream, gyro_stream
    return recordings_from_streams(
        t_acc, acc * sign_factor, t_gyro, np.asarray(gyro), {"app": "phyphox", "conversions": CONVERSIONS},
        path.name, dataset, subject, placement, label, max_gap_s,
    )
