"""UCI Daily and Sports Activities (DSADS; Xsens MTx units, 8 subjects, 19 activities).

The distribution cuts each 5-minute (activity, subject) capture into 60 consecutive 5-s
segments ``data/aXX/pY/sZZ.txt``; they are joined back into ONE recording per
(activity, subject, placement), because windows must be allowed to span segment borders
(the border is not a gap: the step between segments equals one sample period).

Reads straight from the ``.tar.xz`` (or a ``.zip`` or unpacked folder) without extracting.
Both the full 45-column files (5 units x acc/gyro/mag) and the shared 12-column copy
(torso and right-leg acc+gyro) are understood.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from pathlib import Path

import numpy as np

from lanhar_core.data.importers.archive import iter_members
from lanhar_core.data.readers._common import check_placements, map_labels, wanted
from lanhar_core.data.registry import DatasetInfo
from lanhar_core.data.types import Recording
from lanhar_core.errors import DataFormatError

RATE_HZ = 25.0
NATIVE_LABELS: dict[int, str] = {
    1: "sitting", 2: "standing", 3: "lying on back", 4: "lying on right side", 5: "ascending stairs",
    6: "descending stairs", 7: "standing in an elevator still", 8: "moving around in an elevator",
    9: "walking in a parking lot", 10: "walking on a treadmill 4 km/h flat",
    11: "walking on a treadmill 4 km/h 15 deg inclined", 12: "running on a treadmill 8 km/h",
    13: "exercising on a stepper", 14: "exercising on a cross trainer",
    15: "cycling on an exercise bike horizontal", 16: "cycling on an exercise bike vertical", 17: "rowing",
    18: "jumping", 19: "playing basketball",
}
_CANONICAL = ("sit", "stand", "lie", "lie", "upstairs", "downstairs", "stand", "elevator_move", "walk",
              "treadmill_walk", "treadmill_walk_incline", "treadmill_run", "stepper", "cross_trainer",
              "bike_horizontal", "bike_vertical", "rowing", "jump", "basketball")
# (first acc column, first gyro column) of each unit, per file layout (by column count).
_LAYOUTS: dict[int, dict[str, tuple[int, int]]] = {
    12: {"torso": (0, 3), "right_leg": (6, 9)},
    45: {"torso": (0, 3), "right_arm": (9, 12), "left_arm": (18, 21), "right_leg": (27, 30), "left_leg": (36, 39)},
}
ALL_PLACEMENTS = tuple(_LAYOUTS[45])
_MEMBER = re.compile(r"(?:^|/)a(\d+)/p(\d+)/s(\d+)\.txt$")

INFO = DatasetInfo(
    name="dsads",
    title="UCI Daily and Sports Activities (Xsens MTx units, 8 subjects, 19 activities)",
    placement="torso",
    native_rate_hz=RATE_HZ,
    label_map={NATIVE_LABELS[i]: _CANONICAL[i - 1] for i in NATIVE_LABELS},
    attribution=(
        "Altun, Barshan, Tunçel. Comparative study on classifying human activities with miniature inertial and "
        "magnetic sensors. Pattern Recognition 43(10), 2010; Barshan, Yüksek, The Computer Journal 57(11), 2014."
    ),
    license="CC BY 4.0 (UCI)",
    conversions=(
        "acc: m/s^2 with gravity, unchanged; gyro: rad/s, unchanged; Xsens sensor axes and signs unchanged "
        "(the accelerometer reads specific force, +9.8 m/s^2 along the upward axis at rest, as Android). "
        "Magnetometer columns are dropped. The 60 segments of one (activity, subject) are concatenated in "
        "segment order into one recording; a missing segment splits it (recording key gets a '#k' suffix). "
        "'standing in an elevator still' maps to 'stand', both lying postures to 'lie'."
    ),
    url="https://archive.ics.uci.edu/dataset/256",
    download_url="https://archive.ics.uci.edu/static/public/256/daily+and+sports+activities.zip",
    placements=ALL_PLACEMENTS,
    options=(
        "placements: any of torso, right_leg (shared 12-column copy) or right_arm, left_arm, left_leg (full "
        "45-column files); default ('torso',). subjects: 1..8; activities: 1..19. With activities given, reading "
        "a tar stops after the last requested activity (the distributed archives are ordered by activity)."
    ),
)


def _parse(data: bytes, name: str) -> np.ndarray:
    values = np.array(data.replace(b",", b" ").split(), dtype=np.float64)
    n_lines = data.strip().count(b"\n") + 1
    if values.size % n_lines or values.size // n_lines not in _LAYOUTS:
        raise DataFormatError(f"dsads {name}: expected 12 or 45 comma-separated columns per line")
    return values.reshape(n_lines, -1)


def _source(path: Path) -> Path:
    """The archive itself, or the one archive inside a folder that holds no unpacked ``data/``."""
    if path.is_dir() and not any(path.glob("**/a01")):
        archives = sorted(p for p in path.iterdir() if p.name.endswith((".tar.xz", ".tar", ".tar.gz", ".zip")))
        if len(archives) == 1:
            return archives[0]
    return path


def _consecutive_runs(segment_numbers: list[int]) -> list[list[int]]:
    runs: list[list[int]] = []
    for s in segment_numbers:
        if runs and s == runs[-1][-1] + 1:
            runs[-1].append(s)
        else:
            runs.append([s])
    return runs


def read(
    path: Path,
    placements: Collection[str] = ("torso",),
    subjects: Collection[int | str] | None = None,
    activities: Collection[int | str] | None = None,
) -> Iterator[Recording]:
    """Yield one ``Recording`` per (activity, subject, placement) in canonical units."""
    chosen = check_placements(placements, ALL_PLACEMENTS, INFO.name)
    last_activity = max(int(a) for a in activities) if activities else None
    segments: dict[tuple[int, int], dict[int, np.ndarray]] = {}
    for name, data in iter_members(_source(Path(path))):
        match = _MEMBER.search(name)
        if match is None:
            continue
        activity, subject, segment = (int(g) for g in match.groups())
        if last_activity is not None and activity > last_activity:
            break
        if activity in NATIVE_LABELS and wanted(activity, activities) and wanted(subject, subjects):
            segments.setdefault((activity, subject), {})[segment] = _parse(data, name)
    if not segments:
        raise DataFormatError(f"{path}: no DSADS members data/aXX/pY/sZZ.txt matched the request")
    for (activity, subject), parts in sorted(segments.items()):
        runs = _consecutive_runs(sorted(parts))
        for run_index, run in enumerate(runs):
            joined = np.vstack([parts[s] for s in run])
            layout = _LAYOUTS[joined.shape[1]]
            for placement in chosen:
                if placement not in layout:
                    raise DataFormatError(
                        f"dsads: placement {placement!r} is not in this copy (it has {', '.join(layout)})"
                    )
                acc_col, gyro_col = layout[placement]
                native = np.full(joined.shape[0], NATIVE_LABELS[activity], dtype=object)
                suffix = f"#{run_index + 1}" if len(runs) > 1 else ""
                yield Recording(
                    dataset=INFO.name,
                    key=f"a{activity:02d}/p{subject}/{placement}{suffix}",
                    subject=str(subject),
                    signals=np.hstack([joined[:, acc_col : acc_col + 3], joined[:, gyro_col : gyro_col + 3]]),
                    rate_hz=RATE_HZ,
                    labels=map_labels(native, INFO.label_map),
                    native_labels=native,
                    session=f"a{activity:02d}",
                    device="Xsens MTx",
                    placement=placement,
                    source_file=f"data/a{activity:02d}/p{subject}/s{run[0]:02d}..s{run[-1]:02d}.txt",
                    meta={"segments": str(len(run))},
                )
