"""`lanhar models`: the default recognizer shipped in the package (build it, check it, show it)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from lanhar_core.cli.common import print_table, progress_bar, settings_from
from lanhar_core.tracking import tracked_job
from storage import runs as run_store
from storage.db import Store


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("models", help="the default recognizer shipped with the package: build, check, show")
    area = parser.add_subparsers(dest="models_command", required=True)

    build = area.add_parser(
        "build-default",
        help="ingest the public datasets, train stages 1 and 2 (recorded runs) and write the shipped recognizer",
    )
    build.add_argument("--data-root", type=Path, help="folder with one sub-folder per dataset (default [default_model].data_root)")
    build.add_argument("--datasets", help="comma-separated NAME or NAME@PLACEMENT (default [default_model].datasets)")
    build.add_argument("--out", type=Path, help="artifact folder (default: lanhar_core/models/default in the package)")
    build.add_argument("--windows-per-label", type=int, help="training windows per dataset and activity")
    build.add_argument("--holdout-fraction", type=float, help="share of each dataset's subjects never trained on")
    build.add_argument("--text-epochs", type=int, help="stage-1 epochs (default [text_encoder].epochs)")
    build.add_argument("--text-per-class", type=int, help="stage-1 windows per label and epoch (default [text_encoder].per_class)")
    build.add_argument("--text-max-length", type=int, help="stage-1 tokens per text (default [text_encoder].max_length)")
    build.add_argument("--freeze-layers", type=int, help="frozen lower text-encoder layers (fewer trained layers: smaller artifact)")
    build.add_argument("--sensor-epochs", type=int, help="stage-2 epochs (default [sensor_encoder].epochs)")
    build.add_argument("--seed", type=int)
    build.set_defaults(func=_build)

    check = area.add_parser("check-default", help="reload the shipped recognizer and compare it with its recorded outputs")
    check.add_argument("--dir", type=Path, help="artifact folder (default: the package's)")
    check.set_defaults(func=_check)

    show = area.add_parser("show-default", help="what the shipped recognizer was trained on, its labels and its files")
    show.add_argument("--dir", type=Path, help="artifact folder (default: the package's)")
    show.set_defaults(func=_show)


def _text_overrides(args: argparse.Namespace) -> dict[str, Any]:
    pairs = (("epochs", args.text_epochs), ("per_class", args.text_per_class), ("max_length", args.text_max_length),
             ("freeze_layers", args.freeze_layers))
    overrides: dict[str, Any] = {key: value for key, value in pairs if value is not None}
    if args.text_per_class is not None:
        overrides["val_per_class"] = args.text_per_class
    return overrides


def _build(args: argparse.Namespace) -> int:
    from lanhar_core.models.build_default import BuildOptions, build_default

    settings = settings_from(args)
    store = Store(settings.db_path)
    run_store.mark_stale_runs_interrupted(store)
    options = BuildOptions.from_settings(
        settings,
        data_root=args.data_root,
        datasets=tuple(s.strip() for s in args.datasets.split(",") if s.strip()) if args.datasets else None,
        out=args.out,
        windows_per_label=args.windows_per_label,
        holdout_fraction=args.holdout_fraction,
        seed=args.seed,
        text_overrides=_text_overrides(args),
        sensor_epochs=args.sensor_epochs,
    )
    params = {"datasets": list(options.datasets), "data_root": str(options.data_root), "out": str(options.out)}
    with progress_bar("build-default") as callback, tracked_job(store, "build_default", params, callback) as progress:
        report = build_default(store, settings, options, progress)
    print(f"default recognizer in {report.out}: stage-1 run {report.text_run_id}, stage-2 run {report.sensor_run_id}, "
          f"{report.wall_s:.0f} s")
    print_table(["held-out dataset", "windows", "accuracy", "macro_f1"],
                [[k, v["windows"], v["accuracy"], v["macro_f1"]] for k, v in report.held_out_accuracy.items()])
    print_table(["file", "bytes"], list(report.sizes.items()))
    print(f"total {report.total_bytes / 2**20:.1f} MB; text-encoder delta changes embeddings by at most "
          f"{report.text_delta_max_abs_diff:.1e}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from lanhar_core.models.shipped import check_reference

    diffs = check_reference(args.dir)
    print_table(["check", "max abs diff"], list(diffs.items()))
    print("the shipped recognizer reproduces its recorded outputs")
    return 0


def _show(args: argparse.Namespace) -> int:
    from lanhar_core.models.shipped import artifact_sizes, load_meta

    meta = load_meta(args.dir)
    print(f"built {meta['built_at']} (code {meta['code_version']}), trained on: {', '.join(meta['trained_labels'])}")
    print_table(["dataset", "placement", "held-out subjects", "training windows"],
                [[d["spec"], d["placement"], ",".join(d["held_out_subjects"]), d["train_windows"]] for d in meta["datasets"]])
    print_table(["file", "bytes"], list(artifact_sizes(args.dir).items()))
    return 0
