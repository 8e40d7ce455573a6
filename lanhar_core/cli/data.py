"""`lanhar data`: list, ingest, import, inspect, download and remove datasets.

Long operations (ingest, import, sample, download) run as tracked jobs, so the app shows
them too and a cancel from the app reaches the CLI process.
"""

from __future__ import annotations

import argparse
import inspect
from collections.abc import Callable
from typing import Any

from lanhar_core.cli.common import print_table, progress_bar, settings_from
from lanhar_core.config import Settings
from lanhar_core.data import registry
from lanhar_core.data.download import download_dataset
from lanhar_core.data.importers.generic import parse_label_map
from lanhar_core.data.ingest import (
    IMPORT_FORMATS,
    IngestReport,
    Source,
    import_source,
    ingest_source,
    preview_source,
    reader_source,
)
from lanhar_core.data.sample import ensure_sample
from lanhar_core.errors import DataFormatError
from lanhar_core.jobs import Progress
from lanhar_core.sample_interpretations import ensure_sample_interpretations
from lanhar_core.tracking import tracked_job
from storage import datasets as dataset_store
from storage.db import Store


def _split(text: str | None) -> list[str] | None:
    return [part.strip() for part in text.split(",") if part.strip()] if text else None


def _run_ingest(settings: Settings, source: Source, kind: str) -> IngestReport:
    """Run ``source`` as a tracked job and print what it did."""
    store = Store(settings.db_path)
    params = {"dataset": source.name, "reader": source.reader, "path": str(source.path), **source.options}
    with progress_bar(f"{kind} {source.name}") as callback:
        with tracked_job(store, kind, params, callback) as progress:
            report = ingest_source(store, settings, source, progress)
    print(report.summary())
    return report


def _reader_options(name: str, placement: str | None, subjects: str | None) -> dict[str, Any]:
    """Map --placement/--subjects onto the reader's own keyword arguments, or explain why not."""
    module = registry.get(name)
    accepted = inspect.signature(module.read).parameters
    options: dict[str, Any] = {}
    if subjects:
        if "subjects" not in accepted:
            raise DataFormatError(f"the {name} reader cannot select subjects")
        options["subjects"] = _split(subjects)
    if placement:
        if "placements" in accepted:
            options["placements"] = _split(placement)
        elif _split(placement) != [module.INFO.placement]:
            raise DataFormatError(f"{name} has a single placement, {module.INFO.placement!r}")
    return options


def _list(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    rows = []
    for name in registry.names():
        info = registry.info(name)
        placements = ", ".join(info.placements) if info.placements else info.placement
        rows.append((name, info.title, placements, info.native_rate_hz, "yes" if info.download_url else "no"))
    print("Built-in readers (`lanhar data ingest NAME PATH`):")
    print_table(["reader", "title", "placements", "rate Hz", "download"], rows)
    frame = dataset_store.list_datasets(Store(settings.db_path))
    print(f"\nIngested datasets in {settings.db_path}:")
    if frame.empty:
        print("(none yet: `lanhar data sample` adds the built-in sample)")
        return 0
    print_table(
        ["dataset", "reader", "recordings", "subjects", "hours", "windows", "rate Hz", "window", "license"],
        frame[["name", "reader", "recordings", "subjects", "hours", "windows", "rate_hz", "window_samples", "license"]]
        .itertuples(index=False, name=None),
    )
    return 0


def _ingest(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    options = _reader_options(args.name, args.placement, args.subjects)
    source = reader_source(args.dataset or args.name, args.path, reader=args.name, **options)
    if args.dry_run:
        return _dry_run(settings, source)
    _run_ingest(settings, source, "ingest")
    return 0


def _three(text: str | None, flag: str) -> tuple[str, str, str] | None:
    parts = _split(text)
    if parts is None:
        return None
    if len(parts) != 3:
        raise DataFormatError(f"{flag} needs three comma-separated column names (x,y,z), got {text!r}")
    return parts[0], parts[1], parts[2]


def _table_options(args: argparse.Namespace) -> dict[str, Any]:
    acc, gyro = _three(args.acc_cols, "--acc-cols"), _three(args.gyro_cols, "--gyro-cols")
    if acc is None or gyro is None:
        raise DataFormatError("csv/parquet imports need --acc-cols and --gyro-cols (x,y,z column names)")
    options: dict[str, Any] = {"acc_columns": acc, "gyro_columns": gyro, "acc_unit": args.acc_unit,
                               "gyro_unit": args.gyro_unit, "sign": args.sign, "placement": args.placement or "",
                               "subject": args.subject}
    optional = {"rate_hz": args.rate, "time_column": args.time_col, "time_unit": args.time_unit,
                "label_column": args.label_col, "subject_column": args.subject_col,
                "recording_column": args.recording_col, "acc_scale": args.acc_scale, "gyro_scale": args.gyro_scale}
    options.update({k: v for k, v in optional.items() if v is not None})
    if args.label_map:
        options["label_map"] = parse_label_map(args.label_map)
    if args.new_labels:
        options["allow_new_labels"] = True
    return options


def _phone_options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {"subject": args.subject, "placement": args.placement or ""}
    if args.label:
        options["label"] = args.label
    if args.format == "phyphox":
        options["sign"] = args.sign
    if args.format == "sensorlogger" and args.platform:
        options["platform"] = args.platform
    return options


def _import(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    options = _table_options(args) if args.format in ("csv", "parquet") else _phone_options(args)
    source = import_source(settings, args.dataset, args.path, args.format, **options)
    if args.dry_run:
        return _dry_run(settings, source)
    _run_ingest(settings, source, "import")
    return 0


def _dry_run(settings: Settings, source: Source) -> int:
    """Print what ingesting ``source`` would store, writing nothing (not even a job row)."""
    with progress_bar(f"dry run {source.name}") as callback:
        print(preview_source(settings, source, Progress(callback)).summary())
    return 0


def _stats(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    counts = dataset_store.window_counts(Store(settings.db_path))
    if counts.empty:
        print("no windows yet: `lanhar data sample` or `lanhar data ingest NAME PATH`")
        return 0
    rows: list[tuple[object, ...]] = []
    for dataset, group in counts.groupby("dataset", sort=True):
        rows += [(dataset, "(unlabeled)" if label is None else label, int(n))
                 for label, n in zip(group["label"], group["n"])]
        rows.append((dataset, "= total", int(group["n"].sum())))
    rows.append(("all", "= total", int(counts["n"].sum())))
    print_table(["dataset", "activity", "windows"], rows)
    size_mb = settings.db_path.stat().st_size / 1e6 if settings.db_path.exists() else 0.0
    print(f"\nstore: {settings.db_path} ({size_mb:.1f} MB)")
    return 0


def _download(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    store = Store(settings.db_path)
    with progress_bar(f"download {args.name}") as callback:
        with tracked_job(store, "download", {"dataset": args.name, "url": args.url}, callback) as progress:
            result = download_dataset(settings, args.name, progress, url=args.url, expected_sha256=args.sha256,
                                      unpack=not args.no_unpack)
    print(result.summary())
    if result.extracted_to is not None:
        print(f"next: lanhar data ingest {args.name} {result.extracted_to}")
    return 0


def _sample(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    store = Store(settings.db_path)
    with progress_bar("sample") as callback:
        with tracked_job(store, "sample", {}, callback) as progress:
            reports = ensure_sample(store, settings, progress)
    for report in reports:
        print(report.summary())
    with progress_bar("sample interpretations") as callback:
        with tracked_job(store, "sample-interpretations", {}, callback) as progress:
            added = ensure_sample_interpretations(store, settings, [r.dataset for r in reports], progress)
    print(f"sample interpretations: {added} new versions (rules texts generated, shipped LLM texts imported)")
    return 0


def _remove(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    dataset_store.delete_dataset(Store(settings.db_path), args.dataset)
    print(f"removed dataset {args.dataset!r} (recordings, windows and label map)")
    return 0


def _command(sub: argparse._SubParsersAction, name: str, func: Callable[[argparse.Namespace], int], help_text: str) -> argparse.ArgumentParser:
    parser = sub.add_parser(name, help=help_text, description=help_text)
    parser.set_defaults(func=func)
    return parser


def register(sub: argparse._SubParsersAction) -> None:
    data = sub.add_parser("data", help="datasets: list, ingest, import, stats, download, sample, remove")
    commands = data.add_subparsers(dest="data_command", required=True)
    _command(commands, "list", _list, "known readers and the datasets in the store")

    ingest = _command(commands, "ingest", _ingest, "ingest a local copy of a dataset with its built-in reader")
    ingest.add_argument("name", help=f"reader: {', '.join(registry.names())}")
    ingest.add_argument("path", help="the dataset's folder or archive")
    ingest.add_argument("--placement", help="placement(s) to read, comma-separated (readers with several)")
    ingest.add_argument("--subjects", help="only these subjects, comma-separated")
    ingest.add_argument("--as", dest="dataset", help="store it under this name (default: the reader's name)")
    ingest.add_argument("--dry-run", action="store_true", help="show what would be stored and write nothing")

    imp = _command(commands, "import", _import, "import your own data: CSV/Parquet table or a phone-app export")
    imp.add_argument("path", help="table file or folder of tables (csv/parquet), or a phone export (folder, zip, csv)")
    imp.add_argument("--name", dest="dataset", required=True, help="dataset name in the store")
    imp.add_argument("--format", required=True, choices=IMPORT_FORMATS)
    imp.add_argument("--rate", type=float, help="sampling rate in Hz (tables without a time column)")
    imp.add_argument("--time-col", help="timestamp column (irregular timestamps are resampled)")
    imp.add_argument("--time-unit", help="unit of --time-col: s, ms, us, ns (default s)")
    imp.add_argument("--acc-cols", help="accelerometer columns x,y,z (including gravity)")
    imp.add_argument("--gyro-cols", help="gyroscope columns x,y,z")
    imp.add_argument("--acc-unit", default="m/s2", help="m/s2 or g (default m/s2)")
    imp.add_argument("--gyro-unit", default="rad/s", help="rad/s or deg/s (default rad/s)")
    imp.add_argument("--acc-scale", type=float,
                     help="raw integer counts per --acc-unit (e.g. 16384 for a +/-2 g int16 accelerometer; default 1)")
    imp.add_argument("--gyro-scale", type=float, help="raw integer counts per --gyro-unit (e.g. 131 counts per deg/s)")
    imp.add_argument("--sign", default="android", help="acceleration sign convention: android or ios (csv, parquet, phyphox)")
    imp.add_argument("--platform", choices=("ios", "android"),
                     help="Sensor Logger export without Metadata.csv: the phone's platform")
    imp.add_argument("--label-col", help="per-sample activity label column")
    imp.add_argument("--label-map", help="native=canonical pairs, comma-separated (e.g. walking=walk,sitting=sit)")
    imp.add_argument("--new-labels", action="store_true", help="keep labels missing from --label-map as new activities")
    imp.add_argument("--label", help="one canonical activity for a whole phone export")
    imp.add_argument("--subject", default="unknown", help="subject id (default unknown)")
    imp.add_argument("--subject-col", help="column holding subject ids (one recording per subject)")
    imp.add_argument("--recording-col", help="column holding recording ids (one recording per id; with "
                     "--subject-col, per subject and id). A folder of tables is always one recording per file at least")
    imp.add_argument("--dry-run", action="store_true",
                     help="show the recordings, windows per activity, units and dropped samples, and write nothing")
    imp.add_argument("--placement", help="where the device was worn (pocket, wrist, waist, ...)")

    _command(commands, "stats", _stats, "windows per dataset and activity")

    download = _command(commands, "download", _download, "fetch a dataset's official archive (resumable, checksummed)")
    download.add_argument("name", help="dataset with a public download URL (see `lanhar data list`)")
    download.add_argument("--url", help="download from this URL instead (a mirror)")
    download.add_argument("--sha256", help="expected SHA-256 of the archive")
    download.add_argument("--no-unpack", action="store_true", help="keep the archive packed")

    _command(commands, "sample", _sample, "ingest the built-in HAPT + MotionSense sample (idempotent)")
    remove = _command(commands, "remove", _remove, "delete a dataset and its windows from the store")
    remove.add_argument("dataset")
