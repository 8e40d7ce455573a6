"""`lanhar recognize FILE`, `lanhar export RUN`, `lanhar labels add|remove|list`.

A model is named by a stage-2 run id (its ``recognizer`` artifact) or a recognizer
directory; without one, the newest finished stage-2 run is used. `lanhar recognize` also
takes ``--model shipped`` and, when the store has no trained model, uses the default
recognizer shipped with the package, so a fresh machine recognises without training.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lanhar_core.cli.common import print_table, progress_bar, settings_from
from lanhar_core.config import Settings
from lanhar_core.data.types import CHANNELS, GRAVITY
from lanhar_core.errors import DataFormatError, NotFoundError
from lanhar_core.jobs import Progress
from lanhar_core.models.loading import open_recognizer
from lanhar_core.models.recognizer import Recognizer
from lanhar_core.models.text_path import RECOGNITION_PATHS
from lanhar_core.vocab import BUILTIN_ACTIVITIES
from storage import runs
from storage.db import Store

_INPUT_FORMATS = ("csv", "parquet", "sensorlogger", "phyphox")
_GUESS_ROWS = 5000


def register(sub: argparse._SubParsersAction) -> None:
    rec = sub.add_parser("recognize", help="recognise activities in a recording file and print segments")
    rec.add_argument("file", help="CSV/Parquet table or a phone-app export (Sensor Logger, phyphox)")
    rec.add_argument(
        "--model",
        help="stage-2 run id, recognizer directory or 'shipped' (default: newest finished stage-2 run, else the shipped one)",
    )
    rec.add_argument("--labels", help="comma-separated labels to recognise (default: the ones the model was trained on, "
                     "at --placement when it covers that placement)")
    rec.add_argument("--all-labels", action="store_true", help="every label the model has a description of")
    rec.add_argument("--placement", default="", help="where the phone was worn (waist, pocket, ...); checked against the model's")
    rec.add_argument("--format", choices=("table", "csv", "json"), default="table", help="output format")
    rec.add_argument("--by", choices=RECOGNITION_PATHS, default="sensor",
                     help="read windows through the sensor encoder (default), or through the interpretation the rules "
                          "writer writes for each window (the text path; better on a device the model never saw, "
                          "see bench/README.md)")
    rec.add_argument("--input-format", choices=_INPUT_FORMATS, help="default: from the file extension (.csv, .parquet)")
    rec.add_argument("--rate", type=float, help="sampling rate in Hz (tables without a time column)")
    rec.add_argument("--time-col", help="timestamp column of a table (default: guessed from the column names)")
    rec.add_argument("--time-unit", help="unit of --time-col: s, ms, us, ns (default: guessed from the steps)")
    rec.add_argument("--acc-cols", help="accelerometer columns x,y,z (default: guessed, e.g. acc_x,acc_y,acc_z)")
    rec.add_argument("--gyro-cols", help="gyroscope columns x,y,z (default: guessed, e.g. gyro_x,gyro_y,gyro_z)")
    rec.add_argument("--label-col", help="column of true activities: segments are then scored against it")
    rec.add_argument("--acc-unit", help="m/s2 or g (default: guessed from the magnitude)")
    rec.add_argument("--gyro-unit", help="rad/s or deg/s (default: guessed from the largest rates)")
    rec.add_argument("--acc-scale", type=float, default=1.0, help="raw integer counts per --acc-unit (default 1)")
    rec.add_argument("--gyro-scale", type=float, default=1.0, help="raw integer counts per --gyro-unit (default 1)")
    rec.add_argument("--platform", choices=("ios", "android"),
                     help="Sensor Logger export without Metadata.csv: the phone's platform")
    rec.set_defaults(func=_recognize)

    exp = sub.add_parser("export", help="write a self-contained deployment artifact of a stage-2 model")
    exp.add_argument("run", help="stage-2 run id or recognizer directory")
    exp.add_argument("--out", required=True, help="artifact directory to write")
    exp.add_argument("--int8", action="store_true", help="also write an int8-quantised model (about 3x smaller)")
    exp.set_defaults(func=_export)

    labels = sub.add_parser("labels", help="the activities a model recognises: add by description, remove, list")
    commands = labels.add_subparsers(dest="labels_command", required=True)
    add = commands.add_parser("add", help="add (or re-describe) an activity; no retraining")
    add.add_argument("name")
    add.add_argument("--description", action="append",
                     help="a description of the activity (repeatable); without it the configured backend writes them")
    _model_argument(add)
    add.set_defaults(func=_labels_add)
    remove = commands.add_parser("remove", help="remove an activity from a model's label set")
    remove.add_argument("name")
    _model_argument(remove)
    remove.set_defaults(func=_labels_remove)
    listing = commands.add_parser("list", help="a model's labels and their descriptions (no model yet: the vocabulary)")
    _model_argument(listing)
    listing.set_defaults(func=_labels_list)


def _model_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="stage-2 run id or recognizer directory (default: newest finished stage-2 run)")


def model_dir(store: Store, model: str | None) -> Path:
    """The recognizer directory named by a run id or a path (default: the newest finished stage-2 run)."""
    if model and not model.isdigit():
        return Path(model)
    if model:
        run_id = int(model)
    else:
        latest = runs.latest_run(store, "sensor")
        if latest is None:
            raise NotFoundError("no finished stage-2 run; train one with `lanhar train sensor` or pass --model PATH")
        run_id = latest.id
    found = runs.artifacts(store, run_id)
    if "recognizer" not in found:
        raise NotFoundError(f"run {run_id} has no recognizer; is it a finished `lanhar train sensor` run?")
    return found["recognizer"]


def _open(args: argparse.Namespace) -> tuple[Settings, Store, Path]:
    settings = settings_from(args)
    store = Store(settings.db_path)
    return settings, store, model_dir(store, args.model)


def _three(text: str, flag: str) -> tuple[str, str, str]:
    parts = tuple(p.strip() for p in text.split(","))
    if len(parts) != 3:
        raise DataFormatError(f"{flag} needs three comma-separated column names (x,y,z), got {text!r}")
    return parts  # type: ignore[return-value]


def _table_head(path: Path, fmt: str) -> pd.DataFrame:
    from lanhar_core.data.importers.tables import sniff_separator

    if fmt == "parquet":
        return pd.read_parquet(path).head(_GUESS_ROWS)
    with path.open(encoding="utf-8", errors="replace") as fh:
        separator = sniff_separator(fh.readline())
    return pd.read_csv(path, sep=separator, nrows=_GUESS_ROWS)


def _import_options(args: argparse.Namespace, fmt: str, path: Path) -> dict[str, Any]:
    """Importer options from the flags; for a table, what a flag leaves out is guessed from the data (and said)."""
    from lanhar_core.data.importers.guess import guess_table

    placement = {"placement": args.placement} if args.placement else {}
    if fmt not in ("csv", "parquet"):
        return {**placement, "platform": args.platform} if fmt == "sensorlogger" and args.platform else placement
    for scale, unit, flag in ((args.acc_scale, args.acc_unit, "--acc"), (args.gyro_scale, args.gyro_unit, "--gyro")):
        if scale != 1.0 and not unit:
            raise DataFormatError(f"{flag}-scale converts raw counts, whose unit cannot be guessed; pass {flag}-unit too")
    guess = guess_table(_table_head(path, fmt))
    acc = _three(args.acc_cols, "--acc-cols") if args.acc_cols else guess.acc_columns
    gyro = _three(args.gyro_cols, "--gyro-cols") if args.gyro_cols else guess.gyro_columns
    if acc is None or gyro is None:
        raise DataFormatError(
            f"{path.name}: cannot tell the {'accelerometer' if acc is None else 'gyroscope'} columns from their names; "
            "pass --acc-cols and --gyro-cols (x,y,z)"
        )
    guessed = []
    if not args.acc_unit:
        guessed.append(f"acc unit {guess.acc_unit.value} ({guess.acc_unit.reason})")
    if not args.gyro_unit:
        guessed.append(f"gyro unit {guess.gyro_unit.value} ({guess.gyro_unit.reason})")
    options: dict[str, Any] = {
        **placement,
        "acc_columns": acc,
        "gyro_columns": gyro,
        "acc_unit": args.acc_unit or guess.acc_unit.value,
        "gyro_unit": args.gyro_unit or guess.gyro_unit.value,
        "acc_scale": args.acc_scale,
        "gyro_scale": args.gyro_scale,
    }
    label = args.label_col or guess.label_column
    if label:
        options.update(label_column=label, allow_new_labels=True)
    time_column = args.time_col or (None if args.rate else guess.time_column)
    if time_column:
        if not args.time_unit:
            guessed.append(f"timestamp unit {guess.time_unit.value} ({guess.time_unit.reason})")
        options.update(time_column=time_column, time_unit=args.time_unit or guess.time_unit.value)
    elif args.rate:
        options["rate_hz"] = args.rate
    else:
        raise DataFormatError(f"{path.name}: no timestamp column recognised; pass --time-col (timestamps) or --rate (Hz)")
    for line in guessed:
        print(f"guessed {line}; pass the flag if wrong", file=sys.stderr)
    return options


def _recognize(args: argparse.Namespace) -> int:
    from lanhar_core.data.ingest import import_source
    from lanhar_core.eval.recording import score_recording
    from lanhar_core.models.choice import choice_for, recognizer_for
    from lanhar_core.models.streaming import NO_UPRIGHT_REFERENCE, recognize_recording, segments_frame
    from lanhar_core.models.text_path import TEXT_PATH_NEEDS_PLACEMENT, reader_for, uncalibrated_note

    settings = settings_from(args)
    path = Path(args.file)
    fmt = args.input_format or {".csv": "csv", ".parquet": "parquet"}.get(path.suffix.lower())
    if fmt is None:
        raise DataFormatError(f"cannot tell the format of {path.name}; pass --input-format ({', '.join(_INPUT_FORMATS)})")
    choice = choice_for(Store(settings.db_path), args.model)
    labels = [p.strip() for p in args.labels.split(",") if p.strip()] if args.labels else None
    recognizer = choice.load() if args.all_labels else recognizer_for(choice, labels, args.placement)
    print(f"model: {choice.title}; labels: {', '.join(recognizer.label_names)}", file=sys.stderr)
    note = choice.placement_note(args.placement)
    if note:
        print(f"warning: {note}", file=sys.stderr)
    cfg = settings.sensor_encoder
    reader = reader_for(settings, recognizer) if args.by == "text" else None
    if reader is not None and uncalibrated_note(recognizer):
        print(f"warning: {uncalibrated_note(recognizer)}", file=sys.stderr)
    source = import_source(settings, "recognize", path, fmt, **_import_options(args, fmt, path))
    frames = []
    with progress_bar("recognize") as callback:
        for recording in source.read():
            segments, predictions, starts = recognize_recording(
                recognizer, recording, cfg.smooth_windows, cfg.min_segment_s, Progress(callback), reader
            )
            if reader is not None and not recording.placement:
                print(f"warning: {recording.key}: {TEXT_PATH_NEEDS_PLACEMENT}", file=sys.stderr)
            if predictions.upright_known is False:
                print(f"warning: {recording.key}: {NO_UPRIGHT_REFERENCE}", file=sys.stderr)
            if any(label is not None for label in recording.labels):
                scored = score_recording(recording, recognizer.preprocessing, segments, predictions, starts)
                print(f"{recording.key}: window accuracy {scored.window_accuracy:.3f}, segment accuracy "
                      f"{scored.segment_accuracy:.3f} over {scored.labelled_s:.0f} s labelled", file=sys.stderr)
            frame = segments_frame(segments)
            frame.insert(0, "recording", recording.key)
            frames.append(frame)
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if args.format == "csv":
        print(table.to_csv(index=False), end="")
    elif args.format == "json":
        print(json.dumps(table.to_dict(orient="records"), indent=2))
    else:
        print_table(list(table.columns), table.itertuples(index=False, name=None))
    return 0


def _export(args: argparse.Namespace) -> int:
    from lanhar_core.models.export import export_artifact, verify_export

    settings = settings_from(args)
    recognizer = open_recognizer(model_dir(Store(settings.db_path), args.run))
    out = export_artifact(recognizer, args.out, int8=args.int8)
    pre = recognizer.preprocessing
    rng = np.random.default_rng(0)
    windows = rng.normal(0.0, 2.0, size=(64, pre.window_samples, len(CHANNELS))).astype(np.float32)
    windows[:, :, 2] += GRAVITY
    diffs = verify_export(out, recognizer, windows)
    rows = [(p.name, p.stat().st_size) for p in sorted(out.iterdir()) if p.is_file()]
    print_table(["file", "bytes"], rows)
    fp32 = max(diffs["embedding_max_abs_diff"], diffs["probability_max_abs_diff"])
    print(f"artifact in {out}; the ONNX model run by onnxruntime matches the in-memory one (max abs diff {fp32:.2e})")
    if args.int8:
        print(f"int8 model: max abs diff {diffs['int8_probability_max_abs_diff']:.2e} in probabilities, top label "
              f"changed on {diffs['int8_top_label_changed_share']:.1%} of {len(windows)} random windows")
    return 0


def _text_encoder(settings: Settings, recognizer: Recognizer):
    from lanhar_core.models.shipped import text_encoder_for

    return text_encoder_for(recognizer.text_encoder_ref or settings.text_encoder.path)


def _labels_add(args: argparse.Namespace) -> int:
    settings, _, directory = _open(args)
    recognizer = open_recognizer(directory)
    descriptions = args.description
    if not descriptions:
        from lanhar_core.interpret import describe_new_label
        from lanhar_core.llm.registry import make_backend

        backend = make_backend(settings)
        descriptions = describe_new_label(settings, backend, args.name)
        print(f"{len(descriptions)} descriptions of {args.name!r} written by {backend.name} ({backend.model})"
              + ("; the rules writer knows only the vocabulary's activities: pass --description for a precise one"
                 if not backend.is_llm else ""))
    recognizer.add_label(args.name, descriptions, _text_encoder(settings, recognizer))
    recognizer.save(directory)
    print(f"label {args.name!r} added to {directory}; labels: {', '.join(recognizer.label_names)}")
    return 0


def _labels_remove(args: argparse.Namespace) -> int:
    _, _, directory = _open(args)
    recognizer = open_recognizer(directory)
    recognizer.remove_label(args.name)
    recognizer.save(directory)
    print(f"label {args.name!r} removed; labels: {', '.join(recognizer.label_names)}")
    return 0


def _labels_list(args: argparse.Namespace) -> int:
    """A model's labels; before any model exists (and without --model), the canonical vocabulary,
    which is what --label-map and --label take."""
    settings = settings_from(args)
    store = Store(settings.db_path)
    if args.model is None and runs.latest_run(store, "sensor") is None:
        print("no trained model yet; the canonical activity names (use them in --label-map and --label):")
        print_table(["label", "category", "meaning"], [(a.name, a.category or "", a.display) for a in BUILTIN_ACTIVITIES])
        return 0
    recognizer = open_recognizer(model_dir(store, args.model))
    rows = [(name, " | ".join(recognizer.descriptions.get(name, []))[:100]) for name in recognizer.label_names]
    print_table(["label", "descriptions"], rows)
    return 0
