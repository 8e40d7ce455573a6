"""`lanhar quality` commands: flag, regenerate, factcheck, kl, runs.

Each long command runs as a tracked job (progress bar here, progress in the app) and ends
with a summary table; every run is kept in the store (`lanhar quality runs` lists them).
"""

from __future__ import annotations

import argparse
from typing import Any

from lanhar_core.cli.common import print_table, progress_bar, settings_from
from lanhar_core.quality import kl
from lanhar_core.quality.runs import (
    REPRESENTATIONS,
    default_embed,
    run_factcheck,
    run_flagging,
    run_kl,
    run_regeneration,
)
from lanhar_core.tracking import tracked_job
from lanhar_core.vocab import COMMON_ACTIVITIES
from storage import quality as store_q
from storage.db import Store


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("quality", help="quality control of interpretations (outliers, re-generation, fact checks, KL)")
    qsub = parser.add_subparsers(dest="quality_command", required=True)

    flag = qsub.add_parser("flag", help="flag K-means outliers and contradicted interpretations (changes nothing)")
    _target_args(flag)
    flag.add_argument("--k", type=int, help="K-means clusters per activity (default: best silhouette over quality.k_range)")
    flag.set_defaults(func=_flag)

    regen = qsub.add_parser("regenerate", help="iterative re-generation of flagged interpretations (paper 3.3.3)")
    _target_args(regen)
    regen.add_argument("--backend", help="backend that writes the revisions (default: llm.backend)")
    regen.add_argument("--k", type=int, help="K-means clusters per activity (default: by silhouette)")
    regen.add_argument("--max-iterations", type=int, help="upper bound on iterations (default: quality.max_iterations)")
    regen.add_argument("--kl-against", metavar="DATASET", help="also report relative KL of the texts vs DATASET, before and after")
    regen.set_defaults(func=_regenerate)

    fc = qsub.add_parser("factcheck", help="compare each interpretation's claims with its window's features")
    _target_args(fc)
    fc.set_defaults(func=_factcheck)

    klp = qsub.add_parser("kl", help="relative KL divergence per activity between two datasets (paper Table 1)")
    klp.add_argument("--a", required=True, help="first dataset")
    klp.add_argument("--b", required=True, help="second dataset")
    klp.add_argument("--repr", required=True, choices=REPRESENTATIONS, help="representation to compare")
    klp.add_argument("--collection", help="interpretation collection (for --repr text)")
    klp.add_argument("--model", help="saved recognizer directory (for --repr sensor)")
    klp.add_argument("--estimator", choices=kl.ESTIMATORS, help="default: quality.kl_estimator")
    klp.add_argument("--labels", default=",".join(COMMON_ACTIVITIES), help="comma-separated activities (default: %(default)s)")
    klp.add_argument("--before-run", type=int, help="also compute the table for the texts before this re-generation run")
    klp.set_defaults(func=_kl)

    runs = qsub.add_parser("runs", help="list quality runs with their summaries")
    runs.add_argument("--kind", choices=store_q.RUN_KINDS)
    runs.add_argument("--limit", type=int, default=20)
    runs.set_defaults(func=_runs)


def _target_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", required=True, help="dataset whose window interpretations are checked")
    parser.add_argument("--collection", required=True, help="interpretation collection, e.g. rules:rules-v3")


def _flag(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    store = Store(settings.db_path)
    embed = default_embed(store, settings)
    with progress_bar("flag") as callback, tracked_job(store, "quality.flag", _job_params(args), callback) as progress:
        report = run_flagging(store, settings, args.collection, args.dataset, embed, args.k, progress, progress.job_id)
    print_table(
        ["group", "texts", "k", "silhouette", "mean distance", "flagged"],
        [[g["group"], g["n"], g["k"], g["silhouette"], g["mean_distance"], g["flagged"]] for g in report.groups],
    )
    print()
    print_table(
        ["run", "texts", "flagged", "share flagged", "outlier", "contradiction", "both", "locked (reviewed)", "mean distance"],
        [[report.run_id, report.n_items, report.n_flagged, report.flagged_share, report.reasons["outlier"],
          report.reasons["contradiction"], report.reasons["both"], report.n_locked, report.mean_distance]],
    )
    return 0


def _regenerate(args: argparse.Namespace) -> int:
    from lanhar_core.llm.registry import make_backend

    settings = settings_from(args)
    store = Store(settings.db_path)
    backend = make_backend(settings, args.backend)
    embed = default_embed(store, settings)
    with progress_bar("regenerate") as callback, tracked_job(store, "quality.regenerate", _job_params(args), callback) as progress:
        report = run_regeneration(
            store, settings, args.collection, args.dataset, backend, embed, args.k, args.max_iterations, progress, progress.job_id
        )
    print_table(
        ["iteration", "flagged", "accepted", "rejected", "unchanged", "invalid", "failed", "distance before", "distance after"],
        [[it.number, len(it.flags), it.count("accepted"), it.count("rejected"), it.count("unchanged"), it.count("invalid"),
          it.count("failed"), it.mean_distance_before, it.mean_distance_after] for it in report.result.iterations],
    )
    s = report.summary()
    print()
    print_table(
        ["run", "texts", "share flagged (1st)", "share flagged (any)", "accepted", "share accepted",
         "distance before", "distance after", "stop"],
        [[report.run_id, s["n_items"], s["flagged_share_first"], s["flagged_share"], s["n_accepted"], s["accepted_share"],
          s["mean_distance_before"], s["mean_distance_after"], s["stop_reason"]]],
    )
    if args.kl_against:
        print()
        with progress_bar("kl") as callback, tracked_job(store, "quality.kl", _job_params(args), callback) as progress:
            kl_report = run_kl(store, settings, args.dataset, args.kl_against, "text", args.collection, embed,
                               before_run=report.run_id, progress=progress, job_id=progress.job_id)
        _print_kl(kl_report)
    return 0


def _factcheck(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    store = Store(settings.db_path)
    with progress_bar("factcheck") as callback, tracked_job(store, "quality.factcheck", _job_params(args), callback) as progress:
        report = run_factcheck(store, settings, args.collection, args.dataset, progress, progress.job_id)
    print_table(["rule", "contradictions"], report.by_rule.most_common())
    print()
    share = report.n_texts_contradicted / report.n_texts if report.n_texts else 0.0
    print_table(
        ["run", "texts", "claims", "contradictions", "texts contradicted", "share", "per text"],
        [[report.run_id, report.n_texts, report.n_claims, report.n_contradictions, report.n_texts_contradicted, share,
          report.n_contradictions / max(1, report.n_texts)]],
    )
    return 0


def _kl(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    store = Store(settings.db_path)
    embed = default_embed(store, settings) if args.repr == "text" else None
    encode_windows = None
    if args.repr == "sensor" and args.model:
        from lanhar_core.models.loading import open_recognizer

        encode_windows = open_recognizer(args.model).embed
    labels = [x.strip() for x in args.labels.split(",") if x.strip()]
    with progress_bar("kl") as callback, tracked_job(store, "quality.kl", _job_params(args), callback) as progress:
        report = run_kl(store, settings, args.a, args.b, args.repr, args.collection, embed, encode_windows, labels,
                        args.estimator, args.before_run, progress, progress.job_id)
    _print_kl(report)
    return 0


def _print_kl(report: Any) -> None:
    variants = list(report.rows)
    labels = [r.label for r in report.rows[variants[0]]]
    rows = []
    for lab in labels:
        row: list[object] = [lab]
        for v in variants:
            hit = next(r for r in report.rows[v] if r.label == lab)
            row += [hit.same, hit.different, hit.relative]
        rows.append(row)
    rows.append(["average"] + sum(([None, None, report.average(v)] for v in variants), []))
    headers = ["activity"] + sum(([f"{v}: KL same", f"{v}: KL different", f"{v}: relative"] for v in variants), [])
    print(f"relative KL, representation {report.repr}, estimator {report.estimator} (run {report.run_id})")
    print_table(headers, rows)


def _runs(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    store = Store(settings.db_path)
    runs = store_q.list_runs(store, kind=args.kind, limit=args.limit)
    print_table(
        ["run", "kind", "collection", "dataset", "backend", "status", "started", "summary"],
        [[r.id, r.kind, r.collection, r.dataset, r.backend, r.status, r.started_at.strftime("%Y-%m-%d %H:%M"),
          _brief(r.summary)] for r in runs],
    )
    return 0


def _brief(summary: dict[str, Any]) -> str:
    keys = ("flagged_share", "flagged_share_first", "accepted_share", "mean_distance_before", "mean_distance_after",
            "n_contradictions", "n_texts_contradicted")
    parts = [f"{k}={summary[k]:.4g}" if isinstance(summary[k], float) else f"{k}={summary[k]}" for k in keys if k in summary]
    parts += [f"{v}: avg={s['average']:.4g}" for v, s in summary.items() if isinstance(s, dict) and "average" in s]
    return ", ".join(parts)


def _job_params(args: argparse.Namespace) -> dict[str, Any]:
    """The job parameters: the parsed arguments minus the handler."""
    return {k: v for k, v in vars(args).items() if k != "func"}
