"""Guessing columns, units, timestamp unit and rate of an uploaded table from its numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lanhar_core.data.importers.guess import axis_columns, guess_acc_unit, guess_gyro_unit, guess_table, guess_time_unit
from lanhar_core.data.types import GRAVITY


def _walk(n: int = 500, rate: float = 50.0) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(n) / rate
    acc = np.column_stack([np.sin(2 * np.pi * 2 * t), 0.3 * np.cos(2 * np.pi * 2 * t), np.full(n, GRAVITY)])
    gyro = np.column_stack([1.5 * np.sin(2 * np.pi * t), 0.5 * np.cos(2 * np.pi * t), 0.2 * np.sin(t)])
    return acc, gyro


def test_acc_unit_from_gravity_magnitude() -> None:
    acc, _ = _walk()
    assert guess_acc_unit(acc).value == "m/s2"
    guessed = guess_acc_unit(acc / GRAVITY)
    assert guessed.value == "g" and "median |acc| is 1.0" in guessed.reason


def test_gyro_unit_from_how_fast_it_turns() -> None:
    _, gyro = _walk()
    assert guess_gyro_unit(gyro).value == "rad/s"
    assert guess_gyro_unit(np.degrees(gyro)).value == "deg/s"


@pytest.mark.parametrize(("factor", "unit"), [(1.0, "s"), (1e3, "ms"), (1e6, "us"), (1e9, "ns")])
def test_time_unit_and_rate_from_the_median_step(factor: float, unit: str) -> None:
    t = (1_700_000_000 + np.arange(300) / 100.0) * factor
    time_unit, rate = guess_time_unit(t)
    assert time_unit.value == unit and rate.value == pytest.approx(100.0, rel=1e-3)


def test_column_names_of_common_exports() -> None:
    assert axis_columns(["time", "accelX", "accelY", "accelZ"], "acc") == ("accelX", "accelY", "accelZ")
    phyphox = ["Time (s)", "Acceleration x (m/s^2)", "Acceleration y (m/s^2)", "Acceleration z (m/s^2)"]
    assert axis_columns(phyphox, "acc") == tuple(phyphox[1:])
    assert axis_columns(["rotationRate.x", "rotationRate.y", "rotationRate.z"], "gyro") == (
        "rotationRate.x", "rotationRate.y", "rotationRate.z")
    assert axis_columns(["ax", "ay"], "acc") is None


def test_whole_table_guess() -> None:
    acc, gyro = _walk()
    frame = pd.DataFrame({"timestamp_ms": 1000 + np.arange(500) * 20.0, "ax": acc[:, 0] / GRAVITY,
                          "ay": acc[:, 1] / GRAVITY, "az": acc[:, 2] / GRAVITY, "gx": np.degrees(gyro[:, 0]),
                          "gy": np.degrees(gyro[:, 1]), "gz": np.degrees(gyro[:, 2]), "activity": "walk"})
    guess = guess_table(frame)
    assert guess.acc_columns == ("ax", "ay", "az") and guess.gyro_columns == ("gx", "gy", "gz")
    assert (guess.time_column, guess.label_column) == ("timestamp_ms", "activity")
    assert (guess.acc_unit.value, guess.gyro_unit.value, guess.time_unit.value) == ("g", "deg/s", "ms")
    assert guess.rate_hz.value == pytest.approx(50.0)
    untimed = guess_table(frame.drop(columns="timestamp_ms"))
    assert untimed.time_column is None and untimed.rate_hz.value is None and untimed.notes
