"""Reader output -> resampled recordings -> windows -> the store, idempotently and atomically.

Ingestion runs in two phases. First every recording is read, validated, resampled and cut
into windows in memory, with no connection open. Then one ``store.transaction()`` replaces
the dataset's rows. Keeping the slow reading and filtering out of the transaction means the
store's write lock (one writing process per DuckDB file) is held for seconds, not for the
minutes a large dataset takes to parse, so the app stays usable while the CLI ingests; and
anything that goes wrong while reading (bad file, cancel, crash) happens before the first
write, so the store is untouched. The price is memory: a dataset's windows are held at
once (about 60 MB for the largest public dataset here).

Idempotence: the dataset row stores a SHA-256 over the source files' bytes, the reader and
its options, the preprocessing settings and ``PIPELINE_VERSION``. The same hash means the
same rows would be written, so nothing is done and the report says so.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lanhar_core.config import Settings
from lanhar_core.data import registry
from lanhar_core.data.importers import phyphox, sensorlogger
from lanhar_core.data.importers.archive import ExpansionLimits
from lanhar_core.data.importers.generic import ImportSpec, import_table
from lanhar_core.data.registry import DatasetInfo
from lanhar_core.data.resample import resample_recording
from lanhar_core.data.types import CHANNELS, Recording
from lanhar_core.data.windowing import make_windows, runs
from lanhar_core.errors import (
    DataFormatError,
    FileTooLargeError,
    InvalidSignalError,
    RecordingTooShortError,
)
from lanhar_core.jobs import Progress
from storage import datasets as dataset_store
from storage.db import Store

PIPELINE_VERSION = "1"
"""Bump when resampling or windowing changes what gets stored, so re-ingestion is not skipped."""

UNLABELED = "(unlabeled)"
"""How unlabeled windows appear in ``IngestReport.windows_per_label``."""


@dataclass(frozen=True)
class SkippedItem:
    """A recording that produced no window, and why."""

    item: str
    reason: str


@dataclass
class IngestReport:
    """What one ingestion did: counts, time, skipped recordings, or that nothing changed."""

    dataset: str
    reader: str
    content_hash: str
    unchanged: bool = False
    replaced: bool = False
    recordings: int = 0
    windows: int = 0
    windows_per_label: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    skipped: list[SkippedItem] = field(default_factory=list)

    def summary(self) -> str:
        """Human-readable lines for the CLI and the app."""
        if self.unchanged:
            return (
                f"{self.dataset}: already ingested from the same files and settings "
                f"(hash {self.content_hash[:12]}); nothing changed"
            )
        verb = "replaced" if self.replaced else "ingested"
        lines = [
            f"{self.dataset}: {verb} {self.recordings} recordings -> {self.windows} windows "
            f"in {self.seconds:.1f} s (reader {self.reader})"
        ]
        lines += [f"  {label}: {n}" for label, n in sorted(self.windows_per_label.items())]
        if self.skipped:
            lines.append(f"  skipped {len(self.skipped)} recording(s):")
            lines += [f"    {s.item}: {s.reason}" for s in self.skipped]
        return "\n".join(lines)


@dataclass(frozen=True)
class Source:
    """Everything ingestion needs to know about where recordings come from.

    ``read`` yields the recordings; ``files`` are hashed for idempotence and size-checked.
    """

    name: str
    reader: str
    info: DatasetInfo
    path: Path
    files: tuple[Path, ...]
    options: Mapping[str, Any]
    read: Callable[[], Iterable[Recording]]


def source_files(path: Path) -> tuple[Path, ...]:
    """The files a reader may read under ``path`` (the file itself, or every file below a folder)."""
    path = Path(path)
    if path.is_file():
        return (path,)
    if path.is_dir():
        return tuple(sorted(p for p in path.rglob("*") if p.is_file()))
    raise DataFormatError(f"{path} does not exist; give the dataset's folder or file")


def check_sizes(files: Iterable[Path], max_upload_mb: float) -> None:
    """Refuse any file over ``data.max_upload_mb`` before reading a byte of it."""
    limit = max_upload_mb * 1024 * 1024
    for file in files:
        size = file.stat().st_size
        if size > limit:
            raise FileTooLargeError(
                f"{file} is {size / 1024 / 1024:.1f} MB, over the {max_upload_mb:g} MB limit; "
                "split it or raise data.max_upload_mb (LANHAR_DATA_MAX_UPLOAD_MB)"
            )


def content_hash(source: Source, settings: Settings) -> str:
    """SHA-256 over file bytes (with relative names), reader, options and preprocessing settings."""
    digest = hashlib.sha256()
    header = {
        "pipeline": PIPELINE_VERSION,
        "reader": source.reader,
        "options": dict(source.options),
        "rate_hz": settings.data.rate_hz,
        "window_samples": settings.data.window_samples,
        "stride_samples": settings.data.stride_samples,
    }
    digest.update(json.dumps(header, sort_keys=True, default=str).encode())
    root = source.path if source.path.is_dir() else source.path.parent
    for file in source.files:
        digest.update(file.relative_to(root).as_posix().encode() + b"\0")
        with file.open("rb") as handle:
            digest.update(hashlib.file_digest(handle, "sha256").digest())
    return digest.hexdigest()


def _prepare(rec: Recording, settings: Settings, where: str) -> dataset_store.PreparedRecording:
    """Validate, resample and window one recording."""
    if rec.n_samples == 0:
        raise InvalidSignalError(f"{where}: recording has 0 samples")
    finite = np.isfinite(rec.signals)
    if not finite.all():
        bad = ~finite
        per_channel = ", ".join(f"{c}: {int(n)}" for c, n in zip(CHANNELS, bad.sum(axis=0)) if n)
        raise InvalidSignalError(
            f"{where}: {int(bad.sum())} NaN/inf value(s) ({per_channel}); first at sample "
            f"{int(np.argmax(bad.any(axis=1)))}. Fix or drop those samples in the source."
        )
    resampled = resample_recording(rec, settings.data.rate_hz)
    windows = make_windows(resampled, settings.data.window_samples, settings.data.stride_samples)
    return dataset_store.PreparedRecording(
        recording=resampled,
        native_rate_hz=rec.rate_hz,
        native_n_samples=rec.n_samples,
        windows=windows,
        runs=runs(resampled),
    )


def _no_window_reason(prepared: dataset_store.PreparedRecording, settings: Settings) -> str:
    rec = prepared.recording
    window_s = settings.data.window_samples / settings.data.rate_hz
    if rec.n_samples < settings.data.window_samples:
        return str(
            RecordingTooShortError(
                f"{rec.duration_s:.1f} s long, shorter than one window ({window_s:g} s at {settings.data.rate_hz:g} Hz)"
            )
        )
    return f"no stretch of a single activity without gaps lasts one window ({window_s:g} s)"


def _collect(
    source: Source, settings: Settings, progress: Progress
) -> tuple[list[dataset_store.PreparedRecording], list[SkippedItem]]:
    """Read, validate, resample and window every recording; nothing touches the store here."""
    prepared: list[dataset_store.PreparedRecording] = []
    skipped: list[SkippedItem] = []
    progress.update(0, None, f"reading {source.name}")
    for rec in source.read():
        progress.check_cancelled()
        where = f"{source.name}/{rec.key}" + (f" ({rec.source_file})" if rec.source_file else "")
        item = _prepare(rec, settings, where)
        if len(item.windows):
            prepared.append(item)
        else:
            skipped.append(SkippedItem(where, _no_window_reason(item, settings)))
        progress.advance(1, f"read {rec.key}")
    progress.check_cancelled()
    if not prepared:
        if skipped:
            raise RecordingTooShortError(
                f"{source.name}: no recording yields a single window of {settings.data.window_samples} samples "
                f"at {settings.data.rate_hz:g} Hz; " + "; ".join(f"{s.item}: {s.reason}" for s in skipped[:5])
            )
        raise DataFormatError(f"{source.name}: the reader found no recordings in {source.path}")
    return prepared, skipped


@dataclass(frozen=True)
class RecordingPreview:
    """What one recording would become: its samples, its windows, and the samples no window covers."""

    key: str
    source_file: str
    native_rate_hz: float
    native_samples: int
    duration_s: float
    windows: int
    samples_outside_windows: int


RECORDING_PREVIEW_COLUMNS = ("key", "file", "native rate", "samples", "seconds", "windows", "samples in no window")
"""Columns of ``DryRunReport.recording_rows``."""


@dataclass
class DryRunReport:
    """What ``ingest_source`` would store, computed without touching the store (``--dry-run``).

    Units are not guessed here; the magnitudes are shown so a wrong declaration stands out:
    median |acc| should be near 9.81 m/s^2 (gravity) and |gyro| rarely above a few rad/s.
    """

    dataset: str
    recordings: list[RecordingPreview]
    windows_per_label: dict[str, int]
    skipped: list[SkippedItem]
    median_acc_mps2: float
    p99_gyro_rad_s: float
    max_gyro_rad_s: float

    def recording_rows(self) -> list[tuple[str, ...]]:
        """One row per recording, in ``RECORDING_PREVIEW_COLUMNS`` order: the table the CLI prints and the app shows."""
        return [
            (r.key, r.source_file, f"{r.native_rate_hz:g} Hz", str(r.native_samples), f"{r.duration_s:.1f} s",
             str(r.windows), str(r.samples_outside_windows))
            for r in self.recordings
        ]

    def summary(self) -> str:
        total = sum(self.windows_per_label.values())
        lines = [f"{self.dataset} (dry run, nothing written): {len(self.recordings)} recordings -> {total} windows"]
        lines += [f"  {label}: {n}" for label, n in sorted(self.windows_per_label.items())]
        lines.append(
            f"  units after conversion: median |acc| {self.median_acc_mps2:.2f} m/s^2 (gravity is 9.81), "
            f"|gyro| 99th percentile {self.p99_gyro_rad_s:.2f} rad/s, peak {self.max_gyro_rad_s:.2f} rad/s"
        )
        lines.append(f"  recordings ({', '.join(RECORDING_PREVIEW_COLUMNS)}):")
        lines += ["    " + "  ".join(row) for row in self.recording_rows()]
        outside = sum(r.samples_outside_windows for r in self.recordings)
        if outside:
            lines.append(
                f"  {outside} samples (at the analysis rate) fall in no window: the tail of a recording, or a stretch "
                "between label changes or gaps shorter than one window"
            )
        if self.skipped:
            lines.append(f"  would skip {len(self.skipped)} recording(s):")
            lines += [f"    {s.item}: {s.reason}" for s in self.skipped]
        return "\n".join(lines)


def preview_source(settings: Settings, source: Source, progress: Progress | None = None) -> DryRunReport:
    """Read, validate, resample and window ``source`` exactly as ``ingest_source`` would, writing nothing."""
    progress = progress or Progress()
    check_sizes(source.files, settings.data.max_upload_mb)
    prepared, skipped = _collect(source, settings, progress)
    labels: Counter[str] = Counter()
    previews = []
    length = settings.data.window_samples
    for item in prepared:
        labels.update(UNLABELED if label is None else str(label) for label in item.windows.labels.tolist())
        covered = np.zeros(item.recording.n_samples, dtype=bool)
        for start in item.windows.starts.tolist():
            covered[start:start + length] = True
        previews.append(RecordingPreview(
            key=item.recording.key, source_file=item.recording.source_file, native_rate_hz=item.native_rate_hz,
            native_samples=item.native_n_samples, duration_s=item.recording.duration_s, windows=len(item.windows),
            samples_outside_windows=int((~covered).sum()),
        ))
    signals = np.concatenate([item.recording.signals for item in prepared])
    gyro = np.abs(signals[:, 3:6])
    return DryRunReport(
        dataset=source.name,
        recordings=previews,
        windows_per_label=dict(labels),
        skipped=skipped,
        median_acc_mps2=float(np.median(np.linalg.norm(signals[:, :3], axis=1))),
        p99_gyro_rad_s=float(np.percentile(gyro, 99)),
        max_gyro_rad_s=float(gyro.max()),
    )


def ingest_source(store: Store, settings: Settings, source: Source, progress: Progress | None = None) -> IngestReport:
    """Ingest ``source`` as dataset ``source.name`` (see the module docstring for the guarantees)."""
    progress = progress or Progress()
    started = time.perf_counter()
    check_sizes(source.files, settings.data.max_upload_mb)
    digest = content_hash(source, settings)
    report = IngestReport(dataset=source.name, reader=source.reader, content_hash=digest)
    previous = dataset_store.dataset_hash(store, source.name)
    if previous == digest:
        report.unchanged = True
        report.seconds = time.perf_counter() - started
        return report
    if previous is not None:
        with store.connect() as conn:
            dataset_store.check_not_referenced(conn, source.name, "replace")
    prepared, skipped = _collect(source, settings, progress)
    record = dataset_store.DatasetRecord(
        name=source.name,
        reader=source.reader,
        title=source.info.title,
        placement=source.info.placement,
        native_rate_hz=source.info.native_rate_hz,
        rate_hz=settings.data.rate_hz,
        window_samples=settings.data.window_samples,
        stride_samples=settings.data.stride_samples,
        content_hash=digest,
        source_path=str(source.path),
        attribution=source.info.attribution,
        license=source.info.license,
        conversions=source.info.conversions,
        params=dict(source.options),
    )
    progress.update(0, len(prepared), f"writing {source.name}")
    with store.transaction() as conn:
        replaced = conn.execute("SELECT count(*) FROM datasets WHERE name = ?", [source.name]).fetchall()[0][0] > 0
        dataset_store.write_dataset(conn, record, prepared, on_recording=lambda i: progress.update(i))
    labels: Counter[str] = Counter()
    for item in prepared:
        labels.update(UNLABELED if label is None else str(label) for label in item.windows.labels.tolist())
    report.replaced = bool(replaced)
    report.recordings = len(prepared)
    report.windows = sum(labels.values())
    report.windows_per_label = dict(labels)
    report.skipped = skipped
    report.seconds = time.perf_counter() - started
    return report


def reader_source(name: str, path: Path, reader: str | None = None, **reader_options: Any) -> Source:
    """A ``Source`` for a registered reader; the dataset is stored as ``name`` (default reader: ``name``)."""
    reader_name = reader or name
    module = registry.get(reader_name)
    path = Path(path)
    files = source_files(path)
    return Source(
        name=name,
        reader=reader_name,
        info=module.INFO,
        path=path,
        files=files,
        options=dict(reader_options),
        read=lambda: module.read(path, **reader_options),
    )


IMPORT_FORMATS: tuple[str, ...] = ("csv", "parquet", "sensorlogger", "phyphox")
"""Formats ``import_source`` understands besides the built-in readers."""


def _phone_info(name: str, fmt: str, conversions: str, placement: str) -> DatasetInfo:
    return DatasetInfo(
        name=name,
        title=f"{name} ({fmt} export, imported)",
        placement=placement,
        native_rate_hz=None,
        label_map={},
        attribution="recorded and imported by the user",
        license="as provided by the user",
        conversions=conversions,
    )


def import_source(settings: Settings, name: str, path: Path, fmt: str, **options: Any) -> Source:
    """A ``Source`` for user data: a CSV/Parquet table (``ImportSpec`` fields as options) or a phone-app export.

    The upload limit ``data.max_upload_mb`` and the expansion limits (``data.max_expanded_mb``,
    ``data.max_compression_ratio``) are passed to the importer as well, because exports may
    be archives whose members are checked one by one.
    """
    if not name.strip():
        raise DataFormatError("the dataset needs a name (--name, or the app's dataset name field)")
    path = Path(path)
    files = source_files(path)
    max_bytes = int(settings.data.max_upload_mb * 1024 * 1024)
    limits = ExpansionLimits.from_settings(settings.data)
    fmt = fmt.lower()
    if fmt in ("csv", "parquet"):
        try:
            spec = ImportSpec(dataset=name, **options)
        except TypeError as exc:
            raise DataFormatError(f"import {fmt}: {exc}; see `lanhar data import --help` for the options") from exc
        info = spec.dataset_info()
        read: Callable[[], Iterable[Recording]] = lambda: import_table(path, spec, max_bytes=max_bytes, limits=limits)  # noqa: E731
    elif fmt in ("sensorlogger", "phyphox"):
        module = sensorlogger if fmt == "sensorlogger" else phyphox
        importer = sensorlogger.import_sensorlogger if fmt == "sensorlogger" else phyphox.import_phyphox
        try:
            inspect.signature(importer).bind(path, name, max_bytes=max_bytes, limits=limits, **options)
        except TypeError as exc:
            raise DataFormatError(f"import {fmt}: {exc}; see `lanhar data import --help` for the options") from exc
        info = _phone_info(name, fmt, module.CONVERSIONS, str(options.get("placement", "")))
        read = lambda: importer(path, name, max_bytes=max_bytes, limits=limits, **options)  # noqa: E731
    else:
        raise DataFormatError(f"unknown import format {fmt!r}; choose one of {', '.join(IMPORT_FORMATS)}")
    return Source(name=name, reader=f"import:{fmt}", info=info, path=path, files=files, options=dict(options), read=read)


def ingest_dataset(
    store: Store,
    settings: Settings,
    name: str,
    path: Path,
    progress: Progress | None = None,
    reader: str | None = None,
    **reader_options: Any,
) -> IngestReport:
    """Ingest the dataset at ``path`` with reader ``reader`` (default: the reader called ``name``)."""
    return ingest_source(store, settings, reader_source(name, path, reader, **reader_options), progress)
