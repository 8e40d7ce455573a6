"""Guesses of what an uploaded table holds: which columns, which units, which clock, which rate.

A phone export's numbers usually give its conventions away: an accelerometer at rest
reads about 1 in g and about 9.8 in m/s^2; a gyroscope in deg/s reaches values no rad/s
gyroscope ever shows; timestamps step by 0.02 in seconds, 20 in milliseconds or 2e7 in
nanoseconds at 50 Hz. Each guess comes with the reason, so a user shown "guessed, change
if wrong" can judge it. These are guesses for a form's defaults, not checks: the importer
still validates whatever the user confirms (``checks.check_plausible_units``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lanhar_core.data.importers.checks import TIME_UNITS
from lanhar_core.data.types import GRAVITY

ACC_G_MAX_NORM = 3.0
"""Median |acc| below this is read as g (1 g at rest); m/s^2 puts it near 9.8."""

GYRO_DEG_MIN_P99 = 15.0
"""99th percentile of |gyro| above this (rad/s would be ~860 deg/s) is read as deg/s."""

PLAUSIBLE_RATES_HZ = (1.0, 1000.0)
TYPICAL_RATE_HZ = 50.0

_STEMS = {
    "acc": ("a", "acc", "accel", "accelerometer", "acceleration", "linearacceleration", "useracceleration"),
    "gyro": ("g", "w", "gyr", "gyro", "gyroscope", "rot", "rotationrate", "angularvelocity"),
}
_TIME_NAMES = ("time", "timestamp", "t", "ts", "secondselapsed", "times", "timems", "timestampms", "timens", "timeus")
_LABEL_NAMES = ("label", "labels", "activity", "activities", "class", "state", "annotation", "truth")


@dataclass(frozen=True)
class Guess:
    """A guessed value and why it was guessed."""

    value: str | float | None
    reason: str


@dataclass(frozen=True)
class TableGuess:
    """Defaults for the column-mapping form of one table; ``None`` columns were not found."""

    acc_columns: tuple[str, str, str] | None
    gyro_columns: tuple[str, str, str] | None
    time_column: str | None
    label_column: str | None
    acc_unit: Guess
    gyro_unit: Guess
    time_unit: Guess
    rate_hz: Guess
    notes: list[str] = field(default_factory=list)


def _bare(name: str) -> str:
    """Lower-case letters of a column name without a bracketed unit: 'Acceleration x (m/s^2)' -> 'accelerationx'."""
    return re.sub("[^a-z]", "", re.sub(r"[\(\[].*?[\)\]]", "", name).lower())


def axis_columns(columns: Sequence[str], kind: str) -> tuple[str, str, str] | None:
    """Columns named like ``kind`` + axis (ax, acc_x, accelX, gyro_z, rotationRate.y, ...) or ``None``."""
    found: dict[str, str] = {}
    for column in columns:
        letters = _bare(column)
        if letters and letters[-1] in "xyz" and letters[:-1] in _STEMS[kind]:
            found.setdefault(letters[-1], column)
    return (found["x"], found["y"], found["z"]) if len(found) == 3 else None


def named_column(columns: Sequence[str], names: Sequence[str]) -> str | None:
    """The first column whose letters (units in brackets dropped) are one of ``names``."""
    for column in columns:
        if _bare(column) in names:
            return column
    return None


def guess_acc_unit(acc: np.ndarray) -> Guess:
    """g or m/s2 from the median magnitude of the acceleration vector (gravity dominates it)."""
    norms = np.linalg.norm(np.asarray(acc, dtype=float), axis=1)
    norms = norms[np.isfinite(norms)]
    if norms.size == 0:
        return Guess("m/s2", "no finite acceleration values; assumed m/s^2")
    median = float(np.median(norms))
    if median < ACC_G_MAX_NORM:
        return Guess("g", f"median |acc| is {median:.2f}: about 1 means g (gravity is 1 g)")
    return Guess("m/s2", f"median |acc| is {median:.2f}: about {GRAVITY:.1f} means m/s^2")


def guess_gyro_unit(gyro: np.ndarray) -> Guess:
    """deg/s or rad/s from how large rotation rates get (deg/s values are 57 times the rad/s ones)."""
    norms = np.linalg.norm(np.asarray(gyro, dtype=float), axis=1)
    norms = norms[np.isfinite(norms)]
    if norms.size == 0:
        return Guess("rad/s", "no finite gyroscope values; assumed rad/s")
    p99 = float(np.percentile(norms, 99))
    if p99 > GYRO_DEG_MIN_P99:
        return Guess("deg/s", f"|gyro| reaches {p99:.1f} (99th percentile): too fast for rad/s, so deg/s")
    return Guess("rad/s", f"|gyro| reaches {p99:.2f} (99th percentile): plausible in rad/s")


def guess_time_unit(times: np.ndarray) -> tuple[Guess, Guess]:
    """(timestamp unit, sampling rate in Hz): the unit that makes the median step a plausible rate.

    Among the units giving a rate between 1 and 1000 Hz, the one closest (on a log scale)
    to 50 Hz wins; phones record at 50-500 Hz, and units are 1000x apart.
    """
    t = np.asarray(times, dtype=float)
    steps = np.diff(t[np.isfinite(t)])
    steps = steps[steps > 0]
    if steps.size == 0:
        return Guess("s", "timestamps do not increase; assumed seconds"), Guess(None, "no rate: timestamps do not increase")
    step = float(np.median(steps))
    options = {unit: 1.0 / (step * factor) for unit, factor in TIME_UNITS.items()}
    plausible = {u: r for u, r in options.items() if PLAUSIBLE_RATES_HZ[0] <= r <= PLAUSIBLE_RATES_HZ[1]}
    unit = min(plausible or options, key=lambda u: abs(np.log(options[u] / TYPICAL_RATE_HZ)))
    rate = options[unit]
    return (
        Guess(unit, f"median step {step:g}: {rate:.1f} Hz if in {unit}, the only plausible phone rate among s, ms, us, ns"
              if len(plausible) == 1 else f"median step {step:g}: {rate:.1f} Hz if in {unit}"),
        Guess(round(rate, 2), f"1 / median timestamp step ({step:g} {unit})"),
    )


def guess_table(frame: pd.DataFrame) -> TableGuess:
    """Everything the column-mapping form needs as defaults, from (the first rows of) a table."""
    columns = [str(c) for c in frame.columns]
    acc = axis_columns(columns, "acc")
    gyro = axis_columns(columns, "gyro")
    time_column = named_column(columns, _TIME_NAMES)
    label_column = named_column(columns, _LABEL_NAMES)
    notes = []
    numeric = frame.apply(pd.to_numeric, errors="coerce")
    acc_unit = guess_acc_unit(numeric[list(acc)].to_numpy()) if acc else Guess("m/s2", "no accelerometer columns recognised")
    gyro_unit = guess_gyro_unit(numeric[list(gyro)].to_numpy()) if gyro else Guess("rad/s", "no gyroscope columns recognised")
    if time_column is not None:
        time_unit, rate = guess_time_unit(numeric[time_column].to_numpy())
    else:
        time_unit, rate = Guess("s", "no timestamp column"), Guess(None, "no timestamp column: give the fixed rate")
        notes.append("no timestamp column recognised: the rows are taken as equally spaced at the rate you give")
    return TableGuess(acc, gyro, time_column, label_column, acc_unit, gyro_unit, time_unit, rate, notes)
