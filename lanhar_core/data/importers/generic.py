"""Generic import of a CSV or Parquet table with a user-declared column mapping and units.

This is how any dataset without a built-in reader enters the store as a first-class
dataset under the name the user gives it. Everything the importer cannot know (which
columns, which units, which sign convention, rate or time column, label meaning) is
declared in an ``ImportSpec``; everything it can check, it checks, and refuses with a
specific error rather than storing data in the wrong units.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from lanhar_core.config import DataSettings
from lanhar_core.data.importers import checks
from lanhar_core.data.importers.archive import ExpansionLimits, gunzip_capped, is_zip, iter_members
from lanhar_core.data.importers.tables import parse_csv
from lanhar_core.data.importers.timeline import to_uniform
from lanhar_core.data.registry import DatasetInfo
from lanhar_core.data.types import Recording
from lanhar_core.errors import DataFormatError


@dataclass(frozen=True)
class ImportSpec:
    """How to read one table (or every table of a folder). Exactly one of ``rate_hz`` and
    ``time_column`` must be given.

    ``label_map`` maps values of ``label_column`` to canonical activity names; labels it
    does not cover are an error listing them, unless ``allow_new_labels`` keeps them
    as new labels under their own (stripped) name. Recordings never cross a file: each file
    is at least one recording, keyed by its path (without suffix) so a skipped one can be
    traced. ``subject_column`` and ``recording_column`` split a file further (one recording
    per subject, per recording id, or per pair); otherwise ``subject`` names the subject.
    ``acc_scale``/``gyro_scale``: raw integer counts per ``acc_unit``/``gyro_unit`` (e.g.
    16384 counts per g of a +/-2 g int16 accelerometer); 1 for values already in the unit.
    """

    dataset: str
    acc_columns: tuple[str, str, str]
    gyro_columns: tuple[str, str, str]
    acc_unit: str = "m/s2"
    gyro_unit: str = "rad/s"
    sign: str = "android"
    rate_hz: float | None = None
    time_column: str | None = None
    time_unit: str = "s"
    label_column: str | None = None
    label_map: Mapping[str, str] = field(default_factory=dict)
    allow_new_labels: bool = False
    subject: str = "unknown"
    subject_column: str | None = None
    recording_column: str | None = None
    acc_scale: float = 1.0
    gyro_scale: float = 1.0
    placement: str = ""
    session: str = ""
    device: str = ""
    max_gap_s: float | None = None

    def dataset_info(self) -> DatasetInfo:
        """Metadata for the store, stating the conversions this spec implies."""
        return DatasetInfo(
            name=self.dataset,
            title=f"{self.dataset} (imported)",
            placement=self.placement,
            native_rate_hz=self.rate_hz,
            label_map=dict(self.label_map),
            attribution="imported by the user",
            license="as provided by the user",
            conversions=(
                (f"raw counts: acc / {self.acc_scale:g} counts per {self.acc_unit}, gyro / {self.gyro_scale:g} "
                   f"counts per {self.gyro_unit}. " if (self.acc_scale, self.gyro_scale) != (1.0, 1.0) else "")
                + f"acc {self.acc_unit} -> m/s^2, gyro {self.gyro_unit} -> rad/s, sign convention {self.sign} "
                "(ios: acc negated). "
                + ("Irregular timestamps put on a uniform grid at the median rate by linear interpolation."
                   if self.time_column else f"fixed rate {self.rate_hz} Hz.")
            ),
        )


def parse_label_map(text: str | None) -> dict[str, str]:
    """``ImportSpec.label_map`` from the ``native=canonical,...`` text the CLI flag and the app's field take."""
    mapping = {}
    for pair in (part.strip() for part in (text or "").split(",")):
        if not pair:
            continue
        native, sep, canonical = pair.partition("=")
        if not sep or not native.strip() or not canonical.strip():
            raise DataFormatError(f"--label-map (the app's label map) entries look like native=canonical, got {pair!r}")
        mapping[native.strip()] = canonical.strip()
    return mapping


def _parse_table(data: bytes, where: str, limits: ExpansionLimits | None) -> pd.DataFrame:
    """A table from a file's bytes, by its name: Parquet, or CSV/TSV/TXT (gunzipped under the limits)."""
    name = where.lower()
    if name.endswith((".parquet", ".pq")):
        try:
            return pd.read_parquet(io.BytesIO(data))
        except (ValueError, OSError, pa.ArrowException) as exc:
            raise DataFormatError(f"{where}: cannot be read as a Parquet table: {exc}") from exc
    if name.endswith((".csv", ".csv.gz", ".txt", ".tsv", ".txt.gz", ".tsv.gz")):
        return parse_csv(gunzip_capped(data, where, limits) if name.endswith(".gz") else data, where)
    raise DataFormatError(f"{where}: unsupported file type; use .csv, .csv.gz, .tsv, .txt or .parquet")


def _tables(path: Path, max_bytes: int | None, limits: ExpansionLimits | None) -> Iterator[tuple[str, pd.DataFrame]]:
    """``(where, table)`` for each table of ``path``: a table file, a folder of them, or a zip of them.

    A zip is read member by member under the expansion ``limits`` (the app's upload of a
    folder); its other members (a README, a license) are ignored, as in a folder.
    """
    if is_zip(path):
        checks.check_file_size(path, max_bytes)
        found = False
        for member, data in iter_members(path, limits):
            if member.lower().endswith(TABLE_SUFFIXES):
                found = True
                yield member, _parse_table(data, f"{path.name}/{member}", limits)
        if not found:
            raise DataFormatError(f"{path.name}: the archive holds no table ({', '.join(TABLE_SUFFIXES)})")
        return
    for file in table_files(path):
        checks.check_file_size(file, max_bytes)
        where = file.relative_to(path).as_posix() if path.is_dir() else file.name
        yield where, _parse_table(file.read_bytes(), where, limits)


def _labels(values: pd.Series | None, spec: ImportSpec, n: int, where: str) -> tuple[np.ndarray, np.ndarray]:
    if values is None:
        return np.full(n, None, dtype=object), np.full(n, None, dtype=object)
    native = np.array([None if pd.isna(v) else str(v).strip() for v in values], dtype=object)
    present = {v for v in native.tolist() if v is not None}
    unmapped = sorted(present - set(spec.label_map))
    if unmapped and not spec.allow_new_labels:
        raise DataFormatError(
            f"{where}: label(s) {unmapped} have no mapping to the vocabulary; map them with --label-map "
            "native=canonical (see `lanhar labels list`) or keep them as new activities with --new-labels"
        )
    canonical = np.array([None if v is None else spec.label_map.get(v, v) for v in native], dtype=object)
    return canonical, native


def _convert(table: pd.DataFrame, spec: ImportSpec, where: str) -> np.ndarray:
    acc_unit, acc_factor = checks.parse_unit("accelerometer unit", spec.acc_unit, checks.ACC_UNITS)
    gyro_unit, gyro_factor = checks.parse_unit("gyroscope unit", spec.gyro_unit, checks.GYRO_UNITS)
    _, sign = checks.parse_unit("sign convention", spec.sign, checks.SIGNS)
    columns = list(spec.acc_columns) + list(spec.gyro_columns)
    try:
        raw = table[columns].apply(pd.to_numeric, errors="raise").to_numpy(np.float64)
    except (ValueError, TypeError) as exc:
        raise DataFormatError(f"{where}: non-numeric values in the sensor columns: {exc}") from exc
    checks.check_finite(raw, columns, where)
    acc = raw[:, :3] / spec.acc_scale * acc_factor * sign
    gyro = raw[:, 3:] / spec.gyro_scale * gyro_factor
    checks.check_plausible_units(acc, gyro, acc_unit, gyro_unit, where)
    return np.hstack([acc, gyro])


TABLE_SUFFIXES = (".csv", ".csv.gz", ".txt", ".txt.gz", ".tsv", ".tsv.gz", ".parquet", ".pq")
"""File names ``import_table`` reads, alone or inside a folder."""


def _check_spec(spec: ImportSpec, where: str) -> None:
    if (spec.rate_hz is None) == (spec.time_column is None):
        raise DataFormatError(f"{where}: pass either --rate HZ or --time-col COLUMN (exactly one)")
    if spec.rate_hz is not None and not spec.rate_hz > 0:
        raise DataFormatError(f"{where}: --rate must be positive, got {spec.rate_hz}")
    for flag, scale in (("--acc-scale", spec.acc_scale), ("--gyro-scale", spec.gyro_scale)):
        if not (np.isfinite(scale) and scale > 0):
            raise DataFormatError(f"{flag} must be a positive number of raw counts per unit, got {scale}")


def table_files(path: Path) -> list[Path]:
    """The tables ``import_table`` reads from ``path``: the file itself, or every table file below a folder."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise DataFormatError(f"{path} does not exist; give a table file or a folder of them")
    found = sorted(p for p in path.rglob("*") if p.is_file() and p.name.lower().endswith(TABLE_SUFFIXES))
    if not found:
        raise DataFormatError(f"{path.name}: the folder holds no table ({', '.join(TABLE_SUFFIXES)})")
    return found


def _file_key(where: str) -> str:
    """The recording key's file part: the path below the imported folder, without its suffix."""
    for suffix in sorted(TABLE_SUFFIXES, key=len, reverse=True):
        if where.lower().endswith(suffix):
            return where[: -len(suffix)]
    return where


def import_table(
    path: Path, spec: ImportSpec, max_bytes: int | None = None, limits: ExpansionLimits | None = None
) -> list[Recording]:
    """Read, validate and convert ``path`` (a table, or a folder or zip of tables) into canonical recordings.

    ``max_bytes`` defaults to ``data.max_upload_mb``, per file. Everything is validated before
    anything is returned, so a caller that stores the result never stores half a folder.
    """
    path = Path(path)
    _check_spec(spec, path.name)
    time_factor = checks.parse_unit("time unit", spec.time_unit, checks.TIME_UNITS)[1] if spec.time_column else 1.0
    recordings = []
    for where, table in _tables(path, max_bytes, limits):
        recordings.extend(_import_file(table, where, spec, time_factor))
    return recordings


def _import_file(table: pd.DataFrame, where: str, spec: ImportSpec, time_factor: float) -> list[Recording]:
    split_by = [c for c in (spec.subject_column, spec.recording_column) if c]
    needed = [*spec.acc_columns, *spec.gyro_columns, *(c for c in (spec.time_column, spec.label_column) if c), *split_by]
    checks.require_columns(table.columns.astype(str), needed, where)
    checks.check_not_empty(len(table), where)
    groups = table.groupby(split_by, sort=True) if split_by else [((), table)]
    recordings = []
    for values, part in groups:
        group = dict(zip(split_by, values if isinstance(values, tuple) else (values,)))
        subject = str(group.get(spec.subject_column, spec.subject)) if spec.subject_column else spec.subject
        key = "/".join([_file_key(where), subject, *([str(group[spec.recording_column])] if spec.recording_column else [])])
        part_where = where + (f" ({', '.join(f'{c} {v}' for c, v in group.items())})" if group else "")
        signals = _convert(part, spec, part_where)
        labels, native = _labels(part[spec.label_column] if spec.label_column else None, spec, len(part), part_where)
        recordings.extend(_recordings(part, spec, subject, key, where, signals, labels, native, time_factor, part_where))
    return recordings


def _recordings(
    part: pd.DataFrame, spec: ImportSpec, subject: str, key: str, source_file: str, signals: np.ndarray,
    labels: np.ndarray, native: np.ndarray, time_factor: float, where: str,
) -> list[Recording]:
    base = {"dataset": spec.dataset, "subject": subject, "session": spec.session, "device": spec.device,
            "placement": spec.placement, "source_file": source_file}
    if spec.rate_hz is not None:
        return [Recording(key=key, signals=signals, rate_hz=spec.rate_hz, labels=labels, native_labels=native, **base)]
    t = pd.to_numeric(part[spec.time_column], errors="coerce").to_numpy(np.float64) * time_factor
    checks.check_finite(t[:, None], [spec.time_column], where)
    checks.check_monotonic(t, where)
    gap = DataSettings().max_gap_s if spec.max_gap_s is None else spec.max_gap_s
    pieces = to_uniform(t, signals, np.arange(len(t)), gap, where)
    recordings = []
    for index, piece in enumerate(pieces):
        nearest = np.asarray(piece.labels, dtype=int)
        recordings.append(
            Recording(
                key=f"{key}/{index:03d}" if len(pieces) > 1 else key,
                signals=piece.values,
                rate_hz=piece.rate_hz,
                labels=labels[nearest],
                native_labels=native[nearest],
                meta={"start_s": f"{piece.start_s:.3f}"},
                **base,
            )
        )
    return recordings
