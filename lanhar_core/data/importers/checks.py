"""Validation shared by readers and importers.

Every check raises the most specific error from ``lanhar_core.errors`` with a message
that says what is wrong, where, and what to do, because these messages are what a user
sees when an upload is rejected.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from lanhar_core.config import DataSettings
from lanhar_core.data.types import GRAVITY
from lanhar_core.errors import DataFormatError, FileTooLargeError, InvalidSignalError, UnitError

ACC_UNITS: dict[str, float] = {"m/s2": 1.0, "g": GRAVITY}
"""Factor from each accepted accelerometer unit to m/s^2."""

GYRO_UNITS: dict[str, float] = {"rad/s": 1.0, "deg/s": float(np.pi / 180.0)}
"""Factor from each accepted gyroscope unit to rad/s."""

TIME_UNITS: dict[str, float] = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
"""Factor from each accepted timestamp unit to seconds."""

SIGNS: dict[str, float] = {"android": 1.0, "ios": -1.0}
"""Factor applied to acceleration: iOS reports the negative of Android's specific force."""

MAX_PLAUSIBLE_GYRO_RAD_S = 35.0
"""Above ~2000 deg/s no consumer IMU measures; larger values mean deg/s declared as rad/s."""

RAW_COUNTS_G = 100.0
"""A median |acc| over 100 g is not a unit mix-up but raw integer counts (``--acc-scale``)."""

MAX_GYRO_PEAK_RAD_S = 70.0
"""4000 deg/s, the widest range of any body-worn IMU: no true rad/s sample can exceed it, so one
larger peak proves deg/s even in a calm recording whose 99th percentile looks plausible."""


def default_max_bytes() -> int:
    """The upload size limit from the data settings' default (``max_upload_mb``)."""
    return int(DataSettings().max_upload_mb * 1024 * 1024)


def check_file_size(path: Path, max_bytes: int | None) -> None:
    """Refuse a file bigger than ``max_bytes`` before reading it into memory."""
    limit = default_max_bytes() if max_bytes is None else max_bytes
    size = path.stat().st_size
    if size > limit:
        raise FileTooLargeError(
            f"{path.name} is {size / 1e6:.1f} MB, over the {limit / 1e6:.1f} MB limit; "
            "split the file or raise data.max_upload_mb (LANHAR_DATA_MAX_UPLOAD_MB)"
        )


def parse_unit(kind: str, unit: str, table: dict[str, float]) -> tuple[str, float]:
    """``(normalised unit, factor)`` for ``unit`` (``m/s^2`` and ``m/s²`` read as ``m/s2``),
    or a ``UnitError`` listing the accepted ones."""
    key = str(unit).strip().lower().replace("^", "").replace("²", "2")
    if key not in table:
        raise UnitError(f"unknown {kind} {unit!r}; accepted: {', '.join(table)}")
    return key, table[key]


def require_columns(available: Iterable[str], needed: Sequence[str], where: str) -> None:
    """Name every missing column (and what the file has) in one error."""
    have = list(available)
    missing = [c for c in needed if c not in have]
    if missing:
        raise DataFormatError(
            f"{where}: missing column(s) {', '.join(map(repr, missing))}; the file has: {', '.join(map(repr, have))}"
        )


def check_not_empty(n_rows: int, where: str) -> None:
    if n_rows == 0:
        raise InvalidSignalError(f"{where}: the file has 0 data rows")


def check_finite(values: np.ndarray, columns: Sequence[str], where: str) -> None:
    """Reject NaN/inf, saying how many per column and the first bad row (0-based data row)."""
    bad = ~np.isfinite(values)
    if not bad.any():
        return
    per_column = ", ".join(f"{c}: {int(n)}" for c, n in zip(columns, bad.sum(axis=0)) if n)
    first_row = int(np.argmax(bad.any(axis=1)))
    raise InvalidSignalError(
        f"{where}: {int(bad.sum())} NaN/inf value(s) ({per_column}); first at data row {first_row}. "
        "Remove or fill those rows before importing."
    )


def check_monotonic(t_s: np.ndarray, where: str) -> None:
    """Timestamps must strictly increase; report how many steps do not and the first one."""
    steps = np.diff(t_s)
    bad = np.flatnonzero(steps <= 0)
    if bad.size:
        i = int(bad[0])
        raise InvalidSignalError(
            f"{where}: timestamps are not strictly increasing at {bad.size} place(s); first at data row {i + 1} "
            f"({float(t_s[i])!r} -> {float(t_s[i + 1])!r}). If the timestamps were rounded (e.g. to whole seconds or "
            "milliseconds at a higher sampling rate), export them with more decimals or use --rate instead of "
            "--time-col; otherwise sort the file by time and drop duplicate rows."
        )


def check_plausible_units(acc_mps2: np.ndarray, gyro_rad_s: np.ndarray, acc_unit: str, gyro_unit: str, where: str) -> None:
    """Catch the common unit mistakes from the converted values themselves.

    The median |acc| of any recording that includes gravity lies near 9.81 m/s^2 (people
    spend most time near rest); a median near 1 means the file was in g, a median near
    96 means g was declared for m/s^2 data, a median well below 1 g means gravity is missing.
    """
    magnitude = float(np.median(np.linalg.norm(acc_mps2, axis=1)))
    if magnitude < 0.3 * GRAVITY:
        if acc_unit == "m/s2" and 0.5 < magnitude < 2.0:
            raise UnitError(
                f"{where}: median |acc| is {magnitude:.2f} with --acc-unit m/s2; at rest that is 1 g, "
                "so the data looks like it is in g: declare --acc-unit g"
            )
        raise UnitError(
            f"{where}: median |acc| is {magnitude:.2f} m/s^2, far below gravity (9.81); the accelerometer "
            "columns look gravity-free (linear/user acceleration). Import acceleration that includes gravity."
        )
    if magnitude > RAW_COUNTS_G * GRAVITY:
        raise UnitError(
            f"{where}: median |acc| is {magnitude:.0f} m/s^2, about {magnitude / GRAVITY:.0f} g: the values look like "
            "raw integer counts; pass --acc-scale with the counts per --acc-unit (e.g. --acc-unit g --acc-scale 16384 "
            "for a +/-2 g 16-bit sensor, see its datasheet)"
        )
    if magnitude > 4.0 * GRAVITY:
        hint = " declare --acc-unit m/s2" if acc_unit == "g" else " check the acc columns and --acc-unit"
        raise UnitError(f"{where}: median |acc| is {magnitude:.1f} m/s^2, about {magnitude / GRAVITY:.0f} g;{hint}")
    if gyro_rad_s.size:
        hint = "declare --gyro-unit deg/s" if gyro_unit == "rad/s" else "check the gyro columns and --gyro-unit"
        high = float(np.percentile(np.abs(gyro_rad_s), 99))
        if high > MAX_PLAUSIBLE_GYRO_RAD_S:
            raise UnitError(f"{where}: 99th percentile |gyro| is {high:.0f} rad/s, implausible for a body-worn IMU; {hint}")
        peak = float(np.max(np.abs(gyro_rad_s)))
        if peak > MAX_GYRO_PEAK_RAD_S:
            raise UnitError(
                f"{where}: peak |gyro| is {peak:.0f} rad/s, beyond the {MAX_GYRO_PEAK_RAD_S:g} rad/s (4000 deg/s) any "
                f"body-worn IMU can measure; {hint}"
            )
