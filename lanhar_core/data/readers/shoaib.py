"""Shoaib et al. 2014 "Fusion of smartphone motion sensors" dataset (10 participants, 5 phones).

Format (from the dataset's published description and its circulating copies, since the
files are not available here): one ``Participant_N.csv`` per participant; two header
rows: the first names the body position at the start of each block (``Left_pocket``,
``Right_pocket``, ``Wrist``, ``Upper_arm``, ``Belt``), the second the fields
``time_stamp,Ax,Ay,Az,Lx,Ly,Lz,Gx,Gy,Gz,Mx,My,Mz`` of each block; blocks are 14 columns
apart (one empty separator column) and the last column holds the activity name. A, L, G,
M = accelerometer (with gravity), linear acceleration, gyroscope, magnetometer of a
Samsung Galaxy S II at 50 Hz.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from lanhar_core.data.importers.checks import check_finite
from lanhar_core.data.readers._common import check_placements, map_labels, strip_gz, wanted
from lanhar_core.data.registry import DatasetInfo
from lanhar_core.data.types import Recording
from lanhar_core.errors import DataFormatError

RATE_HZ = 50.0
POSITIONS = {"left_pocket": "left_pocket", "right_pocket": "right_pocket", "wrist": "wrist",
             "upper_arm": "upper_arm", "belt": "belt"}
FIELDS = ["Ax", "Ay", "Az", "Gx", "Gy", "Gz"]
_FILE = re.compile(r"Participant_(\d+)\.csv(\.gz)?$", re.IGNORECASE)

INFO = DatasetInfo(
    name="shoaib",
    title="Shoaib et al. 2014 sensor fusion dataset (10 participants, phones at 5 body positions)",
    placement="right_pocket",
    native_rate_hz=RATE_HZ,
    label_map={"walking": "walk", "standing": "stand", "jogging": "jog", "sitting": "sit", "biking": "bike",
               "upstairs": "upstairs", "upsatirs": "upstairs", "downstairs": "downstairs"},
    attribution=(
        "Shoaib, Bosch, Incel, Scholten, Havinga. Fusion of Smartphone Motion Sensors for Physical Activity "
        "Recognition. Sensors 14(6):10146-10176, 2014."
    ),
    license="research use; cite the paper (University of Twente Pervasive Systems group)",
    conversions=(
        "acc: Ax,Ay,Az in m/s^2 with gravity (Android, Samsung Galaxy S II), unchanged; gyro: Gx,Gy,Gz in rad/s "
        "(Android), unchanged; linear acceleration and magnetometer dropped. time_stamp is ignored (it is stored "
        "in float notation with too few digits); the documented 50 Hz is used. Activity names are lower-cased; "
        "the misspelling 'upsatirs' found in circulating copies maps to 'upstairs'. Format implemented from the "
        "paper and the dataset's layout as used by public loaders, not tested on the original files."
    ),
    url="https://www.utwente.nl/en/eemcs/ps/research/dataset/",
    placements=tuple(POSITIONS),
    options="placements: subset of left_pocket, right_pocket, wrist, upper_arm, belt (default all); subjects: 1..10",
)


def _blocks(header_positions: list[str], header_fields: list[str], where: str) -> dict[str, int]:
    """Column index of ``time_stamp`` for each position block."""
    starts = [i for i, f in enumerate(header_fields) if f.strip().lower() == "time_stamp"]
    blocks = {}
    for i in starts:
        name = header_positions[i].strip().lower().replace(" ", "_")
        if name in POSITIONS:
            blocks[name] = i
    if not blocks:
        raise DataFormatError(f"shoaib {where}: no position blocks (Left_pocket ... Belt + time_stamp) in the two header rows")
    for name, start in blocks.items():
        got = [header_fields[start + 1 + k].strip() for k in range(12)]
        if got[:3] != FIELDS[:3] or got[6:9] != FIELDS[3:]:
            raise DataFormatError(f"shoaib {where}: block {name} has fields {got}, expected Ax,Ay,Az,Lx,Ly,Lz,Gx,Gy,Gz,...")
    return blocks


def read(
    path: Path,
    placements: Collection[str] | None = None,
    subjects: Collection[int | str] | None = None,
) -> Iterator[Recording]:
    """Yield one ``Recording`` per (participant, position) in canonical units."""
    chosen = check_placements(placements or INFO.placements, INFO.placements, INFO.name)
    root = Path(path)
    files = sorted((int(m.group(1)), p) for p in root.rglob("*") if (m := _FILE.search(p.name)))
    if not files:
        raise DataFormatError(f"{root}: no Participant_N.csv files")
    for participant, file in files:
        if not wanted(participant, subjects):
            continue
        raw = pd.read_csv(file, header=None, dtype=str, keep_default_na=False)
        if raw.shape[0] < 3:
            raise DataFormatError(f"shoaib {file.name}: needs two header rows and data rows")
        blocks = _blocks(raw.iloc[0].tolist(), raw.iloc[1].tolist(), file.name)
        data = raw.iloc[2:]
        native = data.iloc[:, -1].str.strip().str.lower().to_numpy(dtype=object)
        unknown = sorted(set(native.tolist()) - set(INFO.label_map))
        if unknown:
            raise DataFormatError(f"shoaib {file.name}: unknown activity name(s) {unknown}")
        for name in chosen:
            if name not in blocks:
                raise DataFormatError(f"shoaib {file.name}: no {name} block")
            start = blocks[name]
            columns = [start + 1, start + 2, start + 3, start + 7, start + 8, start + 9]
            signals = data.iloc[:, columns].apply(pd.to_numeric, errors="coerce").to_numpy(np.float64)
            check_finite(signals, [f"{name}.{f}" for f in FIELDS], f"shoaib {file.name}")
            yield Recording(
                dataset=INFO.name,
                key=f"participant{participant}/{name}",
                subject=str(participant),
                signals=signals,
                rate_hz=RATE_HZ,
                labels=map_labels(native, INFO.label_map),
                native_labels=native,
                device="Samsung Galaxy S II",
                placement=name,
                source_file=strip_gz(file.name),
            )
