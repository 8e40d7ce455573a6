"""MotionSense ``A_DeviceMotion_data`` (iPhone 6s in the front trouser pocket, 24 subjects).

One recording per (trial folder, subject). The trial folder name ``<activity>_<trial>``
gives the activity of the whole file.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from lanhar_core.data.readers._common import check_placements, find_file, map_labels, strip_gz, wanted
from lanhar_core.data.registry import DatasetInfo
from lanhar_core.data.types import GRAVITY, Recording
from lanhar_core.errors import DataFormatError

RATE_HZ = 50.0
GRAVITY_COLS = ["gravity.x", "gravity.y", "gravity.z"]
USER_COLS = ["userAcceleration.x", "userAcceleration.y", "userAcceleration.z"]
ROTATION_COLS = ["rotationRate.x", "rotationRate.y", "rotationRate.z"]

INFO = DatasetInfo(
    name="motionsense",
    title="MotionSense DeviceMotion (iPhone 6s, front trouser pocket, 24 subjects)",
    placement="pocket",
    native_rate_hz=RATE_HZ,
    label_map={"dws": "downstairs", "ups": "upstairs", "wlk": "walk", "jog": "jog", "sit": "sit", "std": "stand"},
    attribution=(
        "Malekzadeh, Clegg, Cavallaro, Haddadi. Mobile Sensor Data Anonymization. IoTDI 2019, "
        "doi:10.1145/3302505.3310068"
    ),
    license="MIT (repository mmalekzadeh/motion-sense); the Kaggle mirror is ODbL",
    conversions=(
        "acc: iOS CoreMotion gravity + userAcceleration in g, in the iOS sign convention (face-up at rest reads "
        "z = -1 g); canonical acc = -(gravity + userAcceleration) * 9.80665 m/s^2, i.e. Android sign with gravity. "
        "gyro: rotationRate in rad/s, unchanged: CoreMotion and Android both report right-handed, counter-clockwise-"
        "positive rates about the same device axes (checked on the data: the gravity vector's rotation "
        "d(g)/dt = -omega x g holds with slope 1.0, correlation 0.99, with rotationRate as is). Axes unchanged."
    ),
    url="https://github.com/mmalekzadeh/motion-sense",
    download_url="https://github.com/mmalekzadeh/motion-sense/raw/master/data/A_DeviceMotion_data.zip",
    placements=("pocket",),
    options="subjects: subject numbers 1..24 (default all); trials: trial folder names such as 'wlk_7' (default all)",
)


def _data_dir(path: Path) -> Path:
    for candidate in (path / "A_DeviceMotion_data", path):
        if candidate.is_dir() and any(c.is_dir() and "_" in c.name for c in candidate.iterdir()):
            return candidate
    raise DataFormatError(f"{path}: no A_DeviceMotion_data/<act>_<trial>/ folders found")


def _subjects_info(path: Path) -> dict[str, dict[str, str]]:
    try:
        table = pd.read_csv(find_file(path, "data_subjects_info.csv"), encoding="utf-8-sig")
    except DataFormatError:
        return {}
    table.columns = [c.strip() for c in table.columns]
    return {str(row["code"]): {k: str(v) for k, v in row.items() if k != "code"} for _, row in table.iterrows()}


def read(
    path: Path,
    subjects: Collection[int | str] | None = None,
    trials: Collection[str] | None = None,
    placements: Collection[str] = ("pocket",),
) -> Iterator[Recording]:
    """Yield one ``Recording`` per trial file in canonical units (see ``INFO.conversions``)."""
    check_placements(placements, INFO.placements, INFO.name)
    root = Path(path)
    data = _data_dir(root)
    info = _subjects_info(root) or _subjects_info(data.parent)
    for trial_dir in sorted(d for d in data.iterdir() if d.is_dir()):
        activity, _, trial = trial_dir.name.partition("_")
        if activity not in INFO.label_map or not wanted(trial_dir.name, trials):
            continue
        for file in sorted(trial_dir.glob("sub_*.csv*"), key=lambda p: int(strip_gz(p.name)[4:-4])):
            subject = strip_gz(file.name)[4:-4]
            if not wanted(subject, subjects):
                continue
            table = pd.read_csv(file)
            missing = [c for c in GRAVITY_COLS + USER_COLS + ROTATION_COLS if c not in table.columns]
            if missing:
                raise DataFormatError(f"motionsense {trial_dir.name}/{file.name}: missing columns {missing}")
            acc = -(table[GRAVITY_COLS].to_numpy() + table[USER_COLS].to_numpy()) * GRAVITY
            native = np.full(len(table), activity, dtype=object)
            yield Recording(
                dataset=INFO.name,
                key=f"{trial_dir.name}/sub_{subject}",
                subject=subject,
                signals=np.hstack([acc, table[ROTATION_COLS].to_numpy()]),
                rate_hz=RATE_HZ,
                labels=map_labels(native, INFO.label_map),
                native_labels=native,
                session=trial_dir.name,
                device="iPhone 6s",
                placement=INFO.placement,
                source_file=f"{trial_dir.name}/{file.name}",
                meta={"trial": trial, **info.get(subject, {})},
            )
