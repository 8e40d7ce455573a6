"""USC-HAD (MotionNode IMU at the front right hip, 14 subjects, 12 activities x 5 trials).

Every ``SubjectN/a<m>t<n>.mat`` is one recording of a single activity. The file name is
the ground truth for activity and trial: a few files carry wrong or misspelled internal
fields (``Subject14/a3t2`` says activity 2, ``Subject3/a8t5`` and ``Subject5/a8t3`` have
wrong trial numbers, ``Subject13/a11t4`` spells ``activity_numbr``), so those fields are
never read.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from pathlib import Path

import numpy as np
import scipy.io

from lanhar_core.data.readers._common import check_placements, map_labels, wanted
from lanhar_core.data.registry import DatasetInfo
from lanhar_core.data.types import GRAVITY, Recording
from lanhar_core.errors import DataFormatError

RATE_HZ = 100.0
NATIVE_LABELS: dict[int, str] = {
    1: "Walking Forward",
    2: "Walking Left",
    3: "Walking Right",
    4: "Walking Upstairs",
    5: "Walking Downstairs",
    6: "Running Forward",
    7: "Jumping Up",
    8: "Sitting",
    9: "Standing",
    10: "Sleeping",
    11: "Elevator Up",
    12: "Elevator Down",
}
_CANONICAL = ("walk", "walk_left", "walk_right", "upstairs", "downstairs", "jog", "jump", "sit", "stand", "lie",
              "elevator_up", "elevator_down")
_FILE = re.compile(r"a(\d+)t(\d+)\.mat$")
_META_FIELDS = ("age", "height", "weight", "sensor_orientation", "date", "comments")

INFO = DatasetInfo(
    name="uschad",
    title="USC-HAD (MotionNode at the front right hip, 14 subjects)",
    placement="hip",
    native_rate_hz=RATE_HZ,
    label_map={NATIVE_LABELS[i]: _CANONICAL[i - 1] for i in NATIVE_LABELS},
    attribution=(
        "Mi Zhang and Alexander A. Sawchuk. USC-HAD: A Daily Activity Dataset for Ubiquitous Activity Recognition "
        "Using Wearable Sensors. ACM UbiComp 2012 Workshop SAGAware."
    ),
    license="research use; cite the paper (no licence text is distributed with the files)",
    conversions=(
        "acc: g (with gravity) * 9.80665 -> m/s^2. gyro: deg/s * pi/180 -> rad/s. Axes as mounted "
        "(x along gravity, y walking direction, z perpendicular); signs unchanged: at rest standing acc_x reads "
        "about +1 g along the upward axis (specific force, as Android), and d(acc)/dt = -omega x acc holds with "
        "positive slope, so the gyroscope is right-handed in the same axes. Activity and trial come from the "
        "file name, never from the (partly wrong) internal fields. Sleeping maps to 'lie', Running Forward to 'jog'."
    ),
    url="https://sipi.usc.edu/had/",
    download_url="https://sipi.usc.edu/had/USC-HAD.zip",
    placements=("hip",),
    options="subjects: subject numbers 1..14 (default all); activities: activity numbers 1..12 (default all)",
)


def _text_field(mat: dict, name: str) -> str:
    value = mat.get(name)
    if value is None or np.size(value) == 0:
        return ""
    return str(np.asarray(value).ravel()[0]).strip()


def _subject_dirs(path: Path) -> list[tuple[int, Path]]:
    for root in (path, path / "USC-HAD"):
        found = [(int(d.name[7:]), d) for d in root.glob("Subject*") if d.is_dir() and d.name[7:].isdigit()]
        if found:
            return sorted(found)
    raise DataFormatError(f"{path}: no SubjectN/ folders (expected the USC-HAD root)")


def read(
    path: Path,
    subjects: Collection[int | str] | None = None,
    activities: Collection[int | str] | None = None,
    placements: Collection[str] = ("hip",),
) -> Iterator[Recording]:
    """Yield one ``Recording`` per trial file in canonical units (see ``INFO.conversions``)."""
    check_placements(placements, INFO.placements, INFO.name)
    for subject, folder in _subject_dirs(Path(path)):
        if not wanted(subject, subjects):
            continue
        files = sorted((int(m.group(1)), int(m.group(2)), p) for p in folder.iterdir() if (m := _FILE.match(p.name)))
        for activity, trial, file in files:
            if activity not in NATIVE_LABELS or not wanted(activity, activities):
                continue
            mat = scipy.io.loadmat(file)
            readings = np.asarray(mat.get("sensor_readings"), dtype=np.float64)
            if readings.ndim != 2 or readings.shape[1] != 6:
                raise DataFormatError(f"uschad {folder.name}/{file.name}: sensor_readings must be (n, 6), got {readings.shape}")
            native = np.full(readings.shape[0], NATIVE_LABELS[activity], dtype=object)
            yield Recording(
                dataset=INFO.name,
                key=f"{folder.name}/a{activity}t{trial}",
                subject=str(subject),
                signals=np.hstack([readings[:, :3] * GRAVITY, np.deg2rad(readings[:, 3:])]),
                rate_hz=RATE_HZ,
                labels=map_labels(native, INFO.label_map),
                native_labels=native,
                session=f"t{trial}",
                device="MotionNode",
                placement=INFO.placement,
                source_file=f"{folder.name}/{file.name}",
                meta={k: v for k in _META_FIELDS if (v := _text_field(mat, k))},
            )
