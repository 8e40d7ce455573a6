"""UCI HAPT (Smartphone-Based Recognition of Human Activities and Postural Transitions) raw data.

One recording per experiment (``acc_expXX_userYY`` + ``gyro_expXX_userYY``), labelled per
segment from ``labels.txt``. Accepts the dataset root (with ``RawData/``) or ``RawData``
itself, with plain or gzipped text files.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from pathlib import Path

import numpy as np

from lanhar_core.data.readers._common import find_file, map_labels, wanted
from lanhar_core.data.registry import DatasetInfo
from lanhar_core.data.types import GRAVITY, Recording
from lanhar_core.errors import DataFormatError

NATIVE_LABELS: dict[int, str] = {
    1: "WALKING",
    2: "WALKING_UPSTAIRS",
    3: "WALKING_DOWNSTAIRS",
    4: "SITTING",
    5: "STANDING",
    6: "LAYING",
    7: "STAND_TO_SIT",
    8: "SIT_TO_STAND",
    9: "SIT_TO_LIE",
    10: "LIE_TO_SIT",
    11: "STAND_TO_LIE",
    12: "LIE_TO_STAND",
}
RATE_HZ = 50.0
TRANSITIONS = tuple(NATIVE_LABELS[i] for i in range(7, 13))

INFO = DatasetInfo(
    name="hapt",
    title="UCI HAPT v2.1 raw signals (smartphone on the waist, 30 subjects)",
    placement="waist",
    native_rate_hz=RATE_HZ,
    label_map={
        "WALKING": "walk",
        "WALKING_UPSTAIRS": "upstairs",
        "WALKING_DOWNSTAIRS": "downstairs",
        "SITTING": "sit",
        "STANDING": "stand",
        "LAYING": "lie",
        **{name: "transition" for name in TRANSITIONS},
    },
    attribution=(
        "Reyes-Ortiz, Oneto, Samà, Parra, Anguita. Transition-Aware Human Activity Recognition Using "
        "Smartphones. Neurocomputing 171 (2016) 754-767; Anguita et al., ESANN 2013."
    ),
    license="CC BY 4.0 (UCI); the original README asks to cite the papers and prohibits commercial use",
    conversions=(
        "acc: total acceleration in g (Samsung Galaxy S II, Android convention) * 9.80665 -> m/s^2, gravity kept. "
        "gyro: rad/s, unchanged. Axes and signs unchanged (Android). labels.txt start/end are 1-based inclusive "
        "sample indices: samples [start-1, end) get the label; samples outside every segment are unlabeled (None). "
        "The six postural transitions map to canonical 'transition' (native name kept), or stay unlabeled with "
        "read(..., transitions='unlabeled')."
    ),
    url="https://archive.ics.uci.edu/dataset/341",
    download_url="https://archive.ics.uci.edu/static/public/341/smartphone+based+recognition+of+human+activities+and+postural+transitions.zip",
    placements=("waist",),
    options="subjects: user ids to read (default all); transitions: 'transition' (default) or 'unlabeled'",
)

_EXP = re.compile(r"acc_exp(\d+)_user(\d+)\.txt(\.gz)?$")


def _raw_dir(path: Path) -> Path:
    for candidate in (path / "RawData", path):
        if (candidate / "labels.txt").exists() or (candidate / "labels.txt.gz").exists():
            return candidate
    raise DataFormatError(f"{path}: no labels.txt found (expected the HAPT root with RawData/ or RawData itself)")


def _load_segments(raw: Path) -> np.ndarray:
    segments = np.loadtxt(find_file(raw, "labels.txt"), dtype=np.int64, ndmin=2)
    if segments.shape[1] != 5:
        raise DataFormatError(f"{raw}/labels.txt: expected 5 columns (exp user activity start end), got {segments.shape[1]}")
    return segments


def read(
    path: Path,
    subjects: Collection[int | str] | None = None,
    transitions: str = "transition",
) -> Iterator[Recording]:
    """Yield one ``Recording`` per experiment in canonical units (see ``INFO.conversions``)."""
    if transitions not in ("transition", "unlabeled"):
        raise DataFormatError(f"hapt: transitions must be 'transition' or 'unlabeled', got {transitions!r}")
    label_map = dict(INFO.label_map)
    if transitions == "unlabeled":
        label_map.update({name: None for name in TRANSITIONS})
    raw = _raw_dir(Path(path))
    segments = _load_segments(raw)
    experiments = sorted(
        (int(m.group(1)), int(m.group(2))) for p in raw.iterdir() if (m := _EXP.match(p.name))
    )
    if not experiments:
        raise DataFormatError(f"{raw}: no acc_expXX_userYY.txt files")
    for exp, user in experiments:
        if not wanted(user, subjects):
            continue
        stem = f"exp{exp:02d}_user{user:02d}"
        acc = np.loadtxt(find_file(raw, f"acc_{stem}.txt"), ndmin=2)
        gyro = np.loadtxt(find_file(raw, f"gyro_{stem}.txt"), ndmin=2)
        if acc.shape != gyro.shape or acc.shape[1] != 3:
            raise DataFormatError(f"hapt {stem}: acc {acc.shape} and gyro {gyro.shape} must both be (n, 3) and equal")
        native = np.full(acc.shape[0], None, dtype=object)
        for _, _, activity, start, end in segments[(segments[:, 0] == exp) & (segments[:, 1] == user)]:
            if start < 1 or end > acc.shape[0]:
                raise DataFormatError(f"hapt {stem}: segment {start}..{end} outside the {acc.shape[0]} samples")
            native[start - 1 : end] = NATIVE_LABELS[int(activity)]
        yield Recording(
            dataset=INFO.name,
            key=stem,
            subject=str(user),
            signals=np.hstack([acc * GRAVITY, gyro]),
            rate_hz=RATE_HZ,
            labels=map_labels(native, label_map),
            native_labels=native,
            session=f"exp{exp:02d}",
            device="Samsung Galaxy S II",
            placement=INFO.placement,
            source_file=f"acc_{stem}.txt",
        )
