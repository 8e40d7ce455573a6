"""`lanhar train`: stage 1 (text encoder), stage 2 (sensor encoder), and the runs they record."""

from __future__ import annotations

import argparse
from typing import Any

from lanhar_core.cli.common import print_table, progress_bar, settings_from
from lanhar_core.config import Settings
from lanhar_core.errors import ConfigError
from lanhar_core.tracking import RunResult, tracked_job
from storage import runs as run_store
from storage.db import Store

_ABLATIONS = ("align", "category", "multidesc", "recon")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("train", help="train the text encoder (stage 1) or the sensor encoder (stage 2); list runs")
    area = parser.add_subparsers(dest="train_command", required=True)

    text = area.add_parser("text", help="stage 1: fine-tune the text encoder on interpretations and label descriptions")
    text.add_argument("--source", action="append", default=[], help="source dataset (repeatable)")
    text.add_argument("--collection", help="interpretation collection (default: the only one in the store)")
    text.add_argument("--label-collection", help="collection of the label descriptions (default: --collection)")
    text.add_argument("--epochs", type=int, help="override [text_encoder].epochs")
    text.add_argument("--max-length", type=int, help="override [text_encoder].max_length (tokens)")
    text.add_argument("--freeze-layers", type=int, help="override [text_encoder].freeze_layers")
    for term in _ABLATIONS:
        text.add_argument(f"--no-{term}", action="store_true", help=f"switch the {term} loss term off (ablation)")
    text.add_argument("--resume", type=int, metavar="RUN", help="continue an interrupted run from its last checkpoint")
    text.set_defaults(func=_train_text)

    sensor = area.add_parser("sensor", help="stage 2: align a sensor encoder with the frozen text embeddings")
    sensor.add_argument("--source", action="append", default=[], help="source dataset (repeatable)")
    sensor.add_argument("--target", action="append", default=[], help="unlabeled target dataset joining training (repeatable)")
    sensor.add_argument("--collection", help="interpretation collection (default: the only one in the store)")
    sensor.add_argument("--text-run", type=int, metavar="RUN", help="stage-1 run (default: the newest finished one)")
    sensor.add_argument("--seed", type=int, default=0)
    sensor.add_argument("--resume", type=int, metavar="RUN", help="continue an interrupted run from its last checkpoint")
    sensor.set_defaults(func=_train_sensor)

    listing = area.add_parser("list", help="training runs, newest first")
    listing.add_argument("--kind", choices=("text", "sensor"))
    listing.add_argument("--limit", type=int, default=20)
    listing.set_defaults(func=_list)

    show = area.add_parser("show", help="one run: configuration, data, per-epoch metrics, artifacts")
    show.add_argument("run", type=int)
    show.set_defaults(func=_show)


def _default_collection(store: Store, given: str | None) -> str:
    """The named collection, or the store's only one (several: the user must choose)."""
    if given:
        return given
    from storage.interpretations import list_collections

    names = list_collections(store)["collection"].tolist()
    if len(names) != 1:
        raise ConfigError(
            f"the store has {len(names)} interpretation collections ({', '.join(names) or 'none'}); name one with --collection"
        )
    return str(names[0])


def _open(args: argparse.Namespace) -> tuple[Settings, Store]:
    settings = settings_from(args)
    store = Store(settings.db_path)
    run_store.mark_stale_runs_interrupted(store)
    return settings, store


def _train_text(args: argparse.Namespace) -> int:
    from lanhar_core.models.train_text import train_text_encoder

    settings, store = _open(args)
    overrides: dict[str, Any] = {
        key: value
        for key, value in (("epochs", args.epochs), ("max_length", args.max_length), ("freeze_layers", args.freeze_layers))
        if value is not None
    }
    overrides.update({term: False for term in _ABLATIONS if getattr(args, f"no_{term}")})
    collection = None if args.resume else _default_collection(store, args.collection)
    if not args.resume and not args.source:
        raise ConfigError("name at least one source dataset with --source (or --resume RUN)")
    params = {"sources": args.source, "collection": collection, "overrides": overrides, "resume": args.resume}
    with progress_bar("stage 1") as callback, tracked_job(store, "train_text", params, callback) as progress:
        result = train_text_encoder(
            store, settings, args.source, collection, args.label_collection, overrides, progress, args.resume
        )
    _summary(store, result)
    return 0


def _train_sensor(args: argparse.Namespace) -> int:
    from lanhar_core.models.train_sensor import train_sensor_encoder

    settings, store = _open(args)
    if not args.source:
        raise ConfigError("name at least one source dataset with --source (a resumed run needs the same sources)")
    collection = _default_collection(store, args.collection)
    params = {"sources": args.source, "targets": args.target, "collection": collection, "text_run": args.text_run}
    with progress_bar("stage 2") as callback, tracked_job(store, "train_sensor", params, callback) as progress:
        result = train_sensor_encoder(
            store,
            settings,
            args.text_run,
            args.source,
            collection,
            progress=progress,
            resume_run_id=args.resume,
            seed=args.seed,
            target_datasets=args.target,
        )
    _summary(store, result)
    return 0


def _summary(store: Store, result: RunResult) -> None:
    print(f"run {result.run_id}: {result.status}, {result.epochs} epochs, {result.steps} steps, {result.wall_s:.0f} s")
    _epoch_table(store, result.run_id)
    for name, path in result.artifacts.items():
        print(f"{name}: {path}")


def _epoch_table(store: Store, run_id: int) -> None:
    history = run_store.epoch_records(store, run_id)
    loss_keys = sorted({k for e in history for k in e.losses})
    metric_keys = sorted({k for e in history for k, v in e.val_metrics.items() if isinstance(v, (int, float))})
    rows = [
        [e.epoch, e.step, *(e.losses.get(k) for k in loss_keys), *(e.val_metrics.get(k) for k in metric_keys), round(e.wall_s)]
        for e in history
    ]
    print_table(["epoch", "step", *loss_keys, *metric_keys, "wall_s"], rows)


def _list(args: argparse.Namespace) -> int:
    _, store = _open(args)
    rows = [
        [r.id, r.kind, r.status, r.parent_run_id, r.epochs_done, r.steps_done, round(r.wall_s), _sources(r), r.started_at]
        for r in run_store.list_runs(store, args.kind, args.limit)
    ]
    print_table(["run", "kind", "status", "parent", "epochs", "steps", "wall_s", "data", "started"], rows)
    return 0


def _sources(record: run_store.RunRecord) -> str:
    selection = record.data_selection
    names = selection.get("sources") or selection.get("datasets") or []
    return ",".join(str(n) for n in names)


def _show(args: argparse.Namespace) -> int:
    _, store = _open(args)
    record = run_store.get_run(store, args.run)
    print(f"run {record.id} ({record.kind}): {record.status}, code {record.code_version}, seed {record.seed}")
    if record.error:
        print(f"error: {record.error}")
    print_table(["setting", "value"], sorted((k, str(v)) for k, v in record.config.items()))
    print_table(["data", "value"], sorted((k, str(v)) for k, v in record.data_selection.items()))
    _epoch_table(store, record.id)
    for name, path in run_store.artifacts(store, record.id).items():
        print(f"{name}: {path}")
    return 0
