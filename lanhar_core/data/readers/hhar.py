"""HHAR, Heterogeneity Activity Recognition (Stisen et al. 2015), original CSV format.

``Phones_accelerometer.csv``/``Phones_gyroscope.csv`` (and the ``Watch_*`` pair) with
columns ``Index,Arrival_Time,Creation_Time,x,y,z,User,Model,Device,gt``. Accelerometer and
gyroscope arrive as separate, irregular streams per device, so per (user, device) the
reader puts both on one uniform grid at the accelerometer's median rate (linear
interpolation, see ``importers.timeline``) over the time spans where both streams are
present without gaps; each such span is one recording.

Tolerated variations seen in circulating copies: no header line, tab instead of comma,
``Creation_Time`` rewritten in float notation by a spreadsheet, duplicated timestamps.
"""

from __future__ import annotations

import gzip
from collections.abc import Collection, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from lanhar_core.config import DataSettings
from lanhar_core.data.importers.checks import check_finite
from lanhar_core.data.importers.timeline import join_streams, nearest_labels
from lanhar_core.data.readers._common import check_placements, map_labels, wanted
from lanhar_core.data.registry import DatasetInfo
from lanhar_core.data.types import Recording
from lanhar_core.errors import DataFormatError

COLUMNS = ["Index", "Arrival_Time", "Creation_Time", "x", "y", "z", "User", "Model", "Device", "gt"]
SOURCES = {"phones": ("Phones", "waist"), "watches": ("Watch", "wrist")}

INFO = DatasetInfo(
    name="hhar",
    title="HHAR Heterogeneity Activity Recognition (9 users, 8 phones in a waist pouch, 4 watches)",
    placement="waist",
    native_rate_hz=None,
    label_map={"bike": "bike", "sit": "sit", "stand": "stand", "walk": "walk", "stairsup": "upstairs",
               "stairsdown": "downstairs", "null": None},
    attribution=(
        "Stisen, Blunck, Bhattacharya, Prentow, Kjærgaard, Dey, Sonne, Jensen. Smart Devices are Different: "
        "Assessing and Mitigating Mobile Sensing Heterogeneities for Activity Recognition. SenSys 2015."
    ),
    license="CC BY 4.0 (UCI dataset 344)",
    conversions=(
        "acc: m/s^2 with gravity, Android convention, unchanged; gyro: rad/s, unchanged; axes unchanged. "
        "Creation_Time (ns) is the time base: rows are sorted by it and duplicated timestamps dropped (first "
        "kept). Per (User, Device) both streams go onto a uniform grid at the accelerometer's median rate by "
        "linear interpolation, only where both are present; gaps longer than max_gap_s split recordings. Labels "
        "(gt) are carried by nearest sample; 'null' stays unlabeled. Native rates differ per device (50-200 Hz), "
        "hence native_rate_hz=None."
    ),
    url="https://archive.ics.uci.edu/dataset/344",
    download_url="https://archive.ics.uci.edu/static/public/344/heterogeneity+activity+recognition.zip",
    placements=("waist", "wrist"),
    options=(
        "placements: 'waist' (phones) and/or 'wrist' (watches), default both where the files exist; users: "
        "'a'..'i'; devices: e.g. 'nexus4_1'; max_gap_s: longest gap bridged by interpolation "
        "(default data.max_gap_s)."
    ),
)


def _find(folder: Path, stem: str) -> Path | None:
    for name in (f"{stem}.csv", f"{stem}.csv.gz"):
        if (folder / name).exists():
            return folder / name
    return None


def _load(file: Path) -> pd.DataFrame:
    """One HHAR CSV, with or without header, comma or tab separated, sorted and de-duplicated."""
    opener = gzip.open if file.name.endswith(".gz") else open
    with opener(file, "rt", encoding="utf-8-sig") as handle:
        first_line = handle.readline()
    sep = "\t" if first_line.count("\t") > first_line.count(",") else ","
    with_header = first_line.split(sep)[0].strip() == "Index"
    table = pd.read_csv(
        file,
        sep=sep,
        header=0 if with_header else None,
        names=None if with_header else COLUMNS,
        dtype={"User": str, "Model": str, "Device": str, "gt": str},
    )
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise DataFormatError(f"hhar {file.name}: missing column(s) {missing}; expected {','.join(COLUMNS)}")
    if table.empty:
        raise DataFormatError(f"hhar {file.name}: no data rows")
    table["Creation_Time"] = table["Creation_Time"].astype(np.float64)
    table["gt"] = table["gt"].fillna("null")
    check_finite(table[["Creation_Time", "x", "y", "z"]].to_numpy(np.float64), ["Creation_Time", "x", "y", "z"], f"hhar {file.name}")
    return table.sort_values(["User", "Device", "Creation_Time"], kind="stable").drop_duplicates(
        ["User", "Device", "Creation_Time"], keep="first"
    )


def _device_recordings(
    acc: pd.DataFrame, gyro: pd.DataFrame, user: str, device: str, placement: str, max_gap_s: float, source: str
) -> Iterator[Recording]:
    t0 = min(acc["Creation_Time"].iloc[0], gyro["Creation_Time"].iloc[0])
    t_acc = (acc["Creation_Time"].to_numpy() - t0) / 1e9
    t_gyro = (gyro["Creation_Time"].to_numpy() - t0) / 1e9
    native_all = acc["gt"].to_numpy(dtype=object)
    pieces = join_streams(
        t_acc, acc[["x", "y", "z"]].to_numpy(np.float64), t_gyro, gyro[["x", "y", "z"]].to_numpy(np.float64),
        max_gap_s, f"hhar {user}/{device}",
    )
    for index, piece in enumerate(pieces):
        native = nearest_labels(t_acc, native_all, piece.times)
        yield Recording(
            dataset=INFO.name,
            key=f"{user}/{device}/{index:03d}",
            subject=user,
            signals=piece.values,
            rate_hz=piece.rate_hz,
            labels=map_labels(native, INFO.label_map),
            native_labels=native,
            session=f"{index:03d}",
            device=device,
            placement=placement,
            source_file=source,
            meta={"model": str(acc["Model"].iloc[0]), "start_ns": str(int(t0 + piece.start_s * 1e9))},
        )


def read(
    path: Path,
    placements: Collection[str] | None = None,
    users: Collection[str] | None = None,
    devices: Collection[str] | None = None,
    max_gap_s: float | None = None,
) -> Iterator[Recording]:
    """Yield one ``Recording`` per gap-free span of each (user, device) in canonical units."""
    chosen = check_placements(placements or INFO.placements, INFO.placements, INFO.name)
    gap = DataSettings().max_gap_s if max_gap_s is None else max_gap_s
    folder = Path(path)
    found = False
    for stem, placement in SOURCES.values():
        acc_file, gyro_file = _find(folder, f"{stem}_accelerometer"), _find(folder, f"{stem}_gyroscope")
        if placement not in chosen or acc_file is None:
            continue
        if gyro_file is None:
            raise DataFormatError(f"hhar: {acc_file.name} has no matching {stem}_gyroscope.csv in {folder}")
        found = True
        acc, gyro = _load(acc_file), _load(gyro_file)
        gyro_groups = dict(tuple(gyro.groupby(["User", "Device"], sort=True)))
        for (user, device), acc_part in acc.groupby(["User", "Device"], sort=True):
            if not wanted(user, users) or not wanted(device, devices) or (user, device) not in gyro_groups:
                continue
            yield from _device_recordings(
                acc_part, gyro_groups[(user, device)], user, device, placement, gap, f"{acc_file.name}+{gyro_file.name}"
            )
    if not found:
        raise DataFormatError(
            f"{folder}: no Phones_accelerometer.csv / Watch_accelerometer.csv (plain or .gz) for placements {chosen}"
        )
