"""UEA BasicMotions (4 students with a smart watch; standing, walking, running, badminton).

The ``.ts`` files (sktime/UEA format) hold 80 ten-second series of 6 dimensions at 10 Hz.
The archive documents no units; what the reader does about that is stated in
``INFO.conversions`` and rests on the data itself.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from pathlib import Path

import numpy as np

from lanhar_core.data.readers._common import check_placements, map_labels, wanted
from lanhar_core.data.registry import DatasetInfo
from lanhar_core.data.types import Recording
from lanhar_core.errors import DataFormatError

RATE_HZ = 10.0

INFO = DatasetInfo(
    name="basicmotions",
    title="UEA BasicMotions (smart watch, 4 activities; smoke-test sized)",
    placement="wrist",
    native_rate_hz=RATE_HZ,
    label_map={"Standing": "stand", "Walking": "walk", "Running": "jog", "Badminton": "badminton"},
    attribution=(
        "Bagnall et al. The UEA multivariate time series classification archive, 2018 (arXiv:1811.00075); "
        "data from a student project; files as shipped with sktime."
    ),
    license="UEA archive (research use); sktime bundle BSD-3-Clause",
    conversions=(
        "UNITS UNDOCUMENTED; inferred from the data. acc: taken as m/s^2 and kept unchanged, but it is "
        "GRAVITY-REMOVED (linear acceleration): every Standing series has mean acc vector ~0 (|mean| 0.03-0.32) "
        "and median |acc| 0.3-1.0, which no gravity-including sensor can read at rest. Gravity cannot be restored "
        "(orientation unknown), so this dataset violates the canonical 'acc includes gravity' rule; every "
        "recording carries meta gravity='removed'. m/s^2 rather than g because walking has median |acc| 3.2 and "
        "running 16.8 (3 g / 17 g linear acceleration at 10 Hz would be implausible). gyro: inferred rad/s, "
        "unchanged: median |gyro| standing 0.23, walking 1.4, running 5.1, badminton peaks 38 (as deg/s, 1.4 "
        "deg/s while walking would be implausibly small). Axis signs cannot be checked and are kept. Subjects "
        "are not identified in the archive: subject is 'unknown'."
    ),
    url="https://www.timeseriesclassification.com/description.php?Dataset=BasicMotions",
    placements=("wrist",),
    options="splits: any of 'TRAIN', 'TEST' (default both)",
)


def _parse_ts(text: str, where: str) -> tuple[np.ndarray, list[str]]:
    series, labels, in_data = [], [], False
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.lower().startswith("@data"):
            in_data = True
            continue
        if line.startswith("@") or not in_data:
            continue
        *dims, label = line.split(":")
        try:
            series.append(np.array([[float(v) for v in d.split(",")] for d in dims]).T)
        except ValueError as exc:
            raise DataFormatError(f"{where}: unparsable series line {len(series) + 1}: {exc}") from exc
        labels.append(label.strip())
    if not series or any(s.shape[1] != 6 for s in series):
        raise DataFormatError(f"{where}: expected series of 6 dimensions (acc xyz, gyro xyz)")
    return np.stack(series), labels


def read(
    path: Path,
    splits: Collection[str] = ("TRAIN", "TEST"),
    placements: Collection[str] = ("wrist",),
) -> Iterator[Recording]:
    """Yield one ``Recording`` per series (see ``INFO.conversions`` for the unit inference)."""
    check_placements(placements, INFO.placements, INFO.name)
    root = Path(path)
    for split in ("TRAIN", "TEST"):
        file = root / f"BasicMotions_{split}.ts"
        if not wanted(split, splits):
            continue
        if not file.exists():
            raise DataFormatError(f"{root}: BasicMotions_{split}.ts not found")
        series, labels = _parse_ts(file.read_text(encoding="utf-8"), file.name)
        for index, (signals, label) in enumerate(zip(series, labels)):
            native = np.full(signals.shape[0], label, dtype=object)
            yield Recording(
                dataset=INFO.name,
                key=f"{split.lower()}{index:02d}",
                subject="unknown",
                signals=signals,
                rate_hz=RATE_HZ,
                labels=map_labels(native, INFO.label_map),
                native_labels=native,
                session=split.lower(),
                device="smart watch",
                placement=INFO.placement,
                source_file=file.name,
                meta={"gravity": "removed"},
            )
