"""PAMAP2 Physical Activity Monitoring (9 subjects, 3 Colibri IMUs: hand, chest, ankle).

``subjectNNN.dat`` (``Protocol/`` and ``Optional/``): space-separated, 54 columns:
timestamp (s), activityID, heart rate, then per IMU (hand, chest, ankle) 17 columns:
temperature, acc +-16 g (x,y,z; m/s^2), acc +-6 g, gyro (rad/s), magnetometer,
4 orientation values (documented as invalid). 100 Hz.

ActivityID 0 marks transient periods that the dataset's readme says to discard, and
wireless packet loss leaves NaN rows. Dropping samples would silently glue distant data
together, so the data is split into gap-free pieces instead: activity-0 stretches and
timestamp gaps end a piece; NaN runs up to ``max_nan_gap_s`` are filled by linear
interpolation (they are short dropouts inside one activity), longer NaN runs split.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from lanhar_core.config import DataSettings
from lanhar_core.data.importers.timeline import split_at_gaps
from lanhar_core.data.readers._common import check_placements, map_labels, wanted
from lanhar_core.data.registry import DatasetInfo
from lanhar_core.data.types import Recording
from lanhar_core.errors import DataFormatError

RATE_HZ = 100.0
N_COLUMNS = 54
IMU_START = {"hand": 3, "chest": 20, "ankle": 37}
ACC16, GYRO = 1, 7  # offsets inside an IMU block
NATIVE_LABELS: dict[int, str] = {
    1: "lying", 2: "sitting", 3: "standing", 4: "walking", 5: "running", 6: "cycling", 7: "Nordic walking",
    9: "watching TV", 10: "computer work", 11: "car driving", 12: "ascending stairs", 13: "descending stairs",
    16: "vacuum cleaning", 17: "ironing", 18: "folding laundry", 19: "house cleaning", 20: "playing soccer",
    24: "rope jumping",
}
_CANONICAL = {1: "lie", 2: "sit", 3: "stand", 4: "walk", 5: "jog", 6: "bike", 7: "nordic_walk", 9: "watch_tv",
              10: "computer_work", 11: "drive_car", 12: "upstairs", 13: "downstairs", 16: "vacuum", 17: "iron",
              18: "fold_laundry", 19: "house_cleaning", 20: "soccer", 24: "rope_jump"}
DEFAULT_MAX_NAN_GAP_S = 0.5
_FILE = re.compile(r"subject(\d+)\.dat$")

INFO = DatasetInfo(
    name="pamap2",
    title="PAMAP2 Physical Activity Monitoring (9 subjects, IMUs on hand, chest, ankle)",
    placement="hand",
    native_rate_hz=RATE_HZ,
    label_map={NATIVE_LABELS[i]: _CANONICAL[i] for i in NATIVE_LABELS},
    attribution=(
        "Reiss, Stricker. Introducing a New Benchmarked Dataset for Activity Monitoring. ISWC 2012; "
        "Creating and Benchmarking a New Dataset for Physical Activity Monitoring. PETRA 2012."
    ),
    license="CC BY 4.0 (UCI dataset 231)",
    conversions=(
        "acc: the +-16 g accelerometer (the readme recommends it; the +-6 g one saturates), m/s^2 with gravity, "
        "unchanged; gyro: rad/s, unchanged; Colibri sensor axes and signs unchanged (accelerometer reads specific "
        "force, +9.8 m/s^2 upward at rest, as Android). Temperature, heart rate, +-6 g acc, magnetometer and "
        "orientation are dropped. activityID 0 (transient) samples are removed and split recordings; NaN runs "
        "(packet loss) up to max_nan_gap_s are linearly interpolated, longer ones split recordings, as do "
        "timestamp gaps over max_gap_s."
    ),
    url="https://archive.ics.uci.edu/dataset/231",
    download_url="https://archive.ics.uci.edu/static/public/231/pamap2+physical+activity+monitoring.zip",
    placements=tuple(IMU_START),
    options=(
        "placements: subset of hand, chest, ankle (default ('hand',)); subjects: e.g. 101; sessions: 'protocol', "
        "'optional'; max_nan_gap_s (default 0.5); max_gap_s (default data.max_gap_s)"
    ),
)


def _session(file: Path) -> str:
    parent = file.parent.name.lower()
    return parent if parent in ("protocol", "optional") else "protocol"


def _fill_short_nans(values: np.ndarray, max_run: int) -> np.ndarray:
    """Linearly fill NaN runs of at most ``max_run`` samples that have data on both sides."""
    out = values.copy()
    for j in range(out.shape[1]):
        column = out[:, j]
        bad = np.isnan(column)
        if not bad.any() or bad.all():
            continue
        edges = np.diff(np.concatenate([[0], bad.astype(np.int8), [0]]))
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        good = np.flatnonzero(~bad)
        for a, b in zip(starts, ends):
            if b - a <= max_run and a > 0 and b < column.size:
                column[a:b] = np.interp(np.arange(a, b), good, column[good])
    return out


def _pieces(t: np.ndarray, activity: np.ndarray, signals: np.ndarray, max_gap_s: float) -> list[slice]:
    """Ranges with a non-zero activity, finite signals and no timestamp gap."""
    usable = (activity != 0) & np.isfinite(signals).all(axis=1)
    edges = np.diff(np.concatenate([[0], usable.astype(np.int8), [0]]))
    result: list[slice] = []
    for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
        result.extend(slice(a + s.start, a + s.stop) for s in split_at_gaps(t[a:b], max_gap_s))
    return result


def read(
    path: Path,
    placements: Collection[str] = ("hand",),
    subjects: Collection[int | str] | None = None,
    sessions: Collection[str] | None = None,
    max_nan_gap_s: float = DEFAULT_MAX_NAN_GAP_S,
    max_gap_s: float | None = None,
) -> Iterator[Recording]:
    """Yield one ``Recording`` per gap-free piece of each (subject file, placement)."""
    chosen = check_placements(placements, INFO.placements, INFO.name)
    gap = DataSettings().max_gap_s if max_gap_s is None else max_gap_s
    root = Path(path)
    files = sorted((int(m.group(1)), p) for p in root.rglob("subject*.dat*") if (m := _FILE.search(p.name.removesuffix(".gz"))))
    if not files:
        raise DataFormatError(f"{root}: no subjectNNN.dat files (expected PAMAP2_Dataset/Protocol and Optional)")
    for subject, file in files:
        session = _session(file)
        if not wanted(subject, subjects) or not wanted(session, sessions):
            continue
        table = pd.read_csv(file, sep=r"\s+", header=None).to_numpy(np.float64)
        if table.ndim != 2 or table.shape[1] != N_COLUMNS:
            raise DataFormatError(f"pamap2 {file.name}: expected {N_COLUMNS} space-separated columns, got {table.shape[1]}")
        t, activity = table[:, 0], np.nan_to_num(table[:, 1]).astype(int)
        unknown = sorted(set(np.unique(activity).tolist()) - set(NATIVE_LABELS) - {0})
        if unknown:
            raise DataFormatError(f"pamap2 {file.name}: unknown activityID(s) {unknown}")
        for placement in chosen:
            start = IMU_START[placement]
            raw = table[:, [start + ACC16, start + ACC16 + 1, start + ACC16 + 2, start + GYRO, start + GYRO + 1, start + GYRO + 2]]
            signals = _fill_short_nans(raw, int(round(max_nan_gap_s * RATE_HZ)))
            for index, part in enumerate(_pieces(t, activity, signals, gap)):
                native = np.array([NATIVE_LABELS[a] for a in activity[part]], dtype=object)
                yield Recording(
                    dataset=INFO.name,
                    key=f"{session}/subject{subject}/{placement}/{index:03d}",
                    subject=str(subject),
                    signals=signals[part],
                    rate_hz=RATE_HZ,
                    labels=map_labels(native, INFO.label_map),
                    native_labels=native,
                    session=session,
                    device="Colibri IMU",
                    placement=placement,
                    source_file=f"{file.parent.name}/{file.name}",
                    meta={"start_s": f"{t[part.start]:.2f}"},
                )
