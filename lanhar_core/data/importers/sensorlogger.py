"""Sensor Logger (Tsz Hei Choi) CSV export: a folder or the zip the app shares.

Per the app's unit and coordinate references (github.com/tszheichoi/awesome-sensor-logger,
UNITS.md and COORDINATES.md): every file has ``time`` (ns since epoch),
``seconds_elapsed`` and ``x,y,z`` (written in the order ``z,y,x``); accelerations are in
m/s^2, ``Gyroscope.csv`` in rad/s. ``Accelerometer.csv`` is acceleration WITHOUT gravity
on both platforms; ``TotalAcceleration.csv`` (Android only) includes gravity;
``Gravity.csv`` is the gravity vector. iOS reports acceleration and gravity with the
opposite sign of Android on all three axes (rotation rates agree). ``Metadata.csv`` has
the ``platform``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lanhar_core.data.importers import checks
from lanhar_core.data.importers.archive import ExpansionLimits
from lanhar_core.data.importers.phone import (
    export_members,
    member_by_basename,
    numeric,
    read_table,
    recordings_from_streams,
    sorted_stream,
)
from lanhar_core.data.importers.timeline import interpolate
from lanhar_core.data.types import Recording
from lanhar_core.errors import DataFormatError

XYZ = ["x", "y", "z"]
CONVERSIONS = (
    "Sensor Logger: acc = TotalAcceleration (Android) or Accelerometer + Gravity (gravity interpolated onto the "
    "accelerometer's times), m/s^2; on iOS negated to the Android sign. gyro: Gyroscope rad/s unchanged. Both put "
    "on a uniform grid at the accelerometer's median rate by linear interpolation."
)


def _platform(path: Path, names: list[str], override: str | None, limits: ExpansionLimits | None) -> str:
    if override is not None:
        return checks.parse_unit("platform", override, checks.SIGNS)[0]
    member = member_by_basename(names, "Metadata.csv")
    if member is not None:
        table = read_table(path, member, limits)
        if "platform" in table.columns and len(table):
            return checks.parse_unit("platform", str(table["platform"].iloc[0]), checks.SIGNS)[0]
    raise DataFormatError(
        f"{path.name}: cannot tell iOS from Android (no Metadata.csv with a platform column); pass --platform ios or "
        "--platform android (in the app: the Platform option; android if 'Standardise Units & Frames' was on)"
    )


def _stream(path: Path, member: str, limits: ExpansionLimits | None) -> tuple[np.ndarray, np.ndarray]:
    table = read_table(path, member, limits)
    values = numeric(table, ["time", *XYZ], member)
    return sorted_stream(values[:, 0] * 1e-9, values[:, 1:], member)


def import_sensorlogger(
    path: Path,
    dataset: str,
    subject: str = "unknown",
    placement: str = "",
    label: str | None = None,
    platform: str | None = None,
    max_bytes: int | None = None,
    max_gap_s: float | None = None,
    limits: ExpansionLimits | None = None,
) -> list[Recording]:
    """Recordings from one Sensor Logger export, acc with gravity in the Android sign.

    ``label`` (a canonical activity) applies to the whole export, since the app records
    no activity labels itself.
    """
    path = Path(path)
    names = export_members(path, max_bytes)
    gyro_member = member_by_basename(names, "Gyroscope.csv")
    total = member_by_basename(names, "TotalAcceleration.csv")
    user_acc, gravity = member_by_basename(names, "Accelerometer.csv"), member_by_basename(names, "Gravity.csv")
    if gyro_member is None:
        raise DataFormatError(f"{path.name}: Gyroscope.csv is missing from the export; enable the gyroscope and record again")
    if total is None and (user_acc is None or gravity is None):
        raise DataFormatError(
            f"{path.name}: no acceleration including gravity: need TotalAcceleration.csv, or both Accelerometer.csv "
            f"(which excludes gravity) and Gravity.csv; found: {', '.join(n.rsplit('/', 1)[-1] for n in names)}"
        )
    sign = checks.SIGNS[_platform(path, names, platform, limits)]
    if total is not None:
        t_acc, acc = _stream(path, total, limits)
    else:
        t_acc, acc = _stream(path, user_acc, limits)
        t_gravity, g = _stream(path, gravity, limits)
        acc = acc + interpolate(t_gravity, g, t_acc)
    t_gyro, gyro = _stream(path, gyro_member, limits)
    origin = min(t_acc[0], t_gyro[0])
    return recordings_from_streams(
        t_acc - origin, acc * sign, t_gyro - origin, gyro, {"app": "Sensor Logger", "conversions": CONVERSIONS, "start_unix_s": f"{origin:.3f}"},
        path.name, dataset, subject, placement, label, max_gap_s,
    )
