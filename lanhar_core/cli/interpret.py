"""`lanhar interpret`: write, list and inspect interpretations.

Runs are recorded as jobs (the app shows them too) and resume where they stopped: re-run
the same command after an interruption or a backend failure.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lanhar_core.cli.common import print_table, progress_bar, settings_from
from lanhar_core.interpret import InterpretReport, balanced_window_ids, interpret_labels, interpret_windows
from lanhar_core.llm.registry import BACKENDS, make_backend
from lanhar_core.prompts import VARIANTS
from lanhar_core.sample_interpretations import export_collection
from lanhar_core.tracking import tracked_job
from storage import interpretations as store_it
from storage.db import Store


def _print_report(report: InterpretReport, unit: str) -> None:
    rows: list[tuple[str, object]] = [
        ("collection", report.collection),
        ("backend / model", f"{report.backend} / {report.model}"),
        (f"{unit} considered", report.total),
        ("already done (skipped)", report.skipped),
        ("done in this run", report.done),
        ("failed (not stored; re-run)", report.failed),
        ("valid share", f"{report.valid_share:.1%}"),
        ("replies stored (incl. retries)", report.replies),
        ("served from cache", report.cached),
        ("replies cut at llm.max_reply_chars", report.truncated),
        (f"{unit}/s", f"{report.per_second:.2f}"),
        ("tokens in / out", f"{report.prompt_tokens} / {report.completion_tokens}"),
        ("estimated cost (USD)", f"{report.cost_usd:.4f}"),
    ]
    rows += [(f"invalid: {reason}", n) for reason, n in sorted(report.invalid_reasons.items())]
    rows += [("error", e) for e in report.errors]
    print_table(["", "value"], rows)


def _windows(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    store = Store(settings.db_path)
    backend = make_backend(settings, args.backend)
    params = {"dataset": args.dataset, "backend": backend.name, "model": backend.model, "limit": args.limit,
              "per_label": args.per_label, "collection": args.collection, "variant": args.variant}
    window_ids = balanced_window_ids(store, args.dataset, args.per_label) if args.per_label else None
    with progress_bar(f"interpret {args.dataset} ({backend.name})") as callback:
        with tracked_job(store, "interpret_windows", params, callback) as progress:
            report = interpret_windows(
                store, settings, args.dataset, backend, collection=args.collection,
                limit=args.limit, variant=args.variant, progress=progress, window_ids=window_ids,
            )
    _print_report(report, "windows")
    return 0


def _labels(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    store = Store(settings.db_path)
    backend = make_backend(settings, args.backend)
    labels = [s.strip() for s in args.labels.split(",") if s.strip()] if args.labels else None
    params = {"labels": labels, "n": args.n, "backend": backend.name, "model": backend.model, "collection": args.collection}
    with progress_bar(f"describe labels ({backend.name})") as callback:
        with tracked_job(store, "interpret_labels", params, callback) as progress:
            report = interpret_labels(
                store, settings, backend, labels=labels, n=args.n, collection=args.collection, progress=progress
            )
    _print_report(report, "descriptions")
    return 0


def _show(args: argparse.Namespace) -> int:
    store = Store(settings_from(args).db_path)
    record = store_it.get_interpretation(store, args.id)
    target = (
        f"window {record.window_id} ({record.window_dataset}, true label: {record.window_label or 'none'})"
        if record.target_kind == "window"
        else f"label {record.label!r}, description {record.desc_index}"
    )
    print_table(
        ["", "value"],
        [
            ("interpretation", record.id),
            ("collection", record.collection),
            ("target", target),
            ("version", f"{record.version} (parent {record.parent_id or '-'})"),
            ("origin", record.origin),
            ("backend / model", f"{record.backend} / {record.model}"),
            ("params", json.dumps(record.params, sort_keys=True)),
            ("valid", "yes" if record.valid else f"no: {record.invalid_reason}"),
            ("review", f"{record.review_status}" + (f" by {record.reviewer}" if record.reviewer else "")),
            ("tokens in / out", f"{record.prompt_tokens} / {record.completion_tokens}" + (" (cached)" if record.from_cache else "")),
            ("created", record.created_at),
        ],
    )
    print("\n== text ==\n" + record.text)
    if record.fields:
        print("\n== parsed fields ==")
        print_table(["field", "value"], sorted(record.fields.items()))
    print(f"\n== prompt ({record.prompt_template} {record.prompt_version}) ==" if record.prompt_messages else "\n== no prompt stored ==")
    for message in record.prompt_messages:
        print(f"\n[{message['role']}]\n{message['content']}")
    return 0


def _list(args: argparse.Namespace) -> int:
    store = Store(settings_from(args).db_path)
    frame = store_it.list_collections(store)
    if frame.empty:
        print("no interpretations yet; run `lanhar interpret windows --dataset NAME`")
        return 0
    columns = ["collection", "backends", "models", "windows", "label_descriptions", "valid_share", "accepted", "rejected", "versions"]
    print_table(columns, frame[columns].itertuples(index=False, name=None))
    return 0


def _export(args: argparse.Namespace) -> int:
    store = Store(settings_from(args).db_path)
    datasets = [d.strip() for d in args.datasets.split(",") if d.strip()] if args.datasets else None
    n = export_collection(store, args.collection, Path(args.path), datasets)
    print(f"wrote {n} versions of {args.collection} to {args.path}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("interpret", help="write, list and inspect semantic interpretations")
    area = parser.add_subparsers(dest="interpret_command", required=True)
    backend_help = "; ".join(f"{k}: {v}" for k, v in BACKENDS.items()) + " (default: llm.backend setting)"

    windows = area.add_parser("windows", help="interpret the windows of a dataset (resumes an interrupted run)")
    windows.add_argument("--dataset", required=True, help="dataset name in the store")
    windows.add_argument("--backend", choices=list(BACKENDS), help=backend_help)
    windows.add_argument("--limit", type=int, help="only the first N windows of the dataset (by id)")
    windows.add_argument("--per-label", type=int, help="only N windows per activity, spread over the dataset (a balanced subset)")
    windows.add_argument("--collection", help="collection name (default: <backend>:<model>)")
    windows.add_argument("--variant", choices=VARIANTS, default="full", help="prompt variant (simple: the paper's w/o IGP ablation)")
    windows.set_defaults(func=_windows)

    labels = area.add_parser("labels", help="write N descriptions per activity label")
    labels.add_argument("--backend", choices=list(BACKENDS), help=backend_help)
    labels.add_argument("--n", type=int, help="descriptions per label (default: llm.label_descriptions)")
    labels.add_argument("--labels", help="comma-separated activity names (default: every activity in the store)")
    labels.add_argument("--collection", help="collection name (default: <backend>:<model>)")
    labels.set_defaults(func=_labels)

    show = area.add_parser("show", help="one interpretation: text, fields, validity and the exact prompt")
    show.add_argument("id", type=int)
    show.set_defaults(func=_show)

    listing = area.add_parser("list", help="collections with counts and valid share")
    listing.set_defaults(func=_list)

    export = area.add_parser("export", help="write a collection's generated versions, with prompts, to a .jsonl.gz file")
    export.add_argument("--collection", required=True)
    export.add_argument("--datasets", help="comma-separated datasets whose windows to include (default: all)")
    export.add_argument("path", help="output file (.jsonl.gz)")
    export.set_defaults(func=_export)
