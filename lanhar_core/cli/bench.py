"""`lanhar bench`: the paper's evaluation protocols, stored and printed as tables.

`cross`, `new`, `complex` and `ablation` run a benchmark (ours and the baselines on the
same splits) and store every result; `results` re-prints a stored benchmark. Budgets
come from the `[eval]` settings; `--quick` runs one pair of the built-in sample with the
`eval.quick_*` budgets and one seed.
"""

from __future__ import annotations

import argparse
import itertools
import time
from datetime import datetime

from lanhar_core.cli.common import print_table, progress_bar, settings_from
from lanhar_core.config import Settings
from lanhar_core.errors import ConfigError, NotFoundError
from lanhar_core.eval.pipeline import VARIANTS
from lanhar_core.eval.protocols import split_spec
from lanhar_core.eval.report import confusion_tables, tables
from lanhar_core.eval.runner import (
    ABLATION_PROTOCOLS,
    ABLATIONS,
    QUICK_PAIR,
    REAL_DATASETS,
    BenchOptions,
    check_ablations,
    default_options,
    run_ablation,
    run_complex,
    run_pairs,
)
from lanhar_core.tracking import tracked_job
from storage import results as result_store
from storage.datasets import list_datasets
from storage.db import Store


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("bench", help="evaluation protocols of the paper: cross-dataset, new activities, complex, ablations")
    area = parser.add_subparsers(dest="bench_command", required=True)

    for name, help_text in (
        ("cross", "cross-dataset recognition of the four common activities (paper 4.2, 4.5)"),
        ("new", "new activities: train on the four common ones, recognise all of the target's (paper 4.3)"),
        ("ablation", "ours without stage-1 subtasks / stage-1 training / re-generation / designed prompt (paper 4.6)"),
    ):
        cmd = area.add_parser(name, help=help_text)
        _pair_options(cmd)
        _common_options(cmd, variants=name != "ablation")
        cmd.set_defaults(func=_run_pairs_command, protocol=name)
        if name == "ablation":
            cmd.add_argument("--on", choices=tuple(ABLATION_PROTOCOLS), default="cross",
                             help="the tasks to ablate on: cross-dataset (default) or new activities")
            cmd.add_argument("--ablations", default=",".join(ABLATIONS),
                             help=f"comma-separated subset of {','.join(ABLATIONS)} (default: all)")

    complex_cmd = area.add_parser("complex", help="one dataset split into its most divergent subject halves (paper 4.4)")
    complex_cmd.add_argument("--dataset", help="dataset in the store (e.g. dsads, uschad, pamap2)")
    _common_options(complex_cmd, variants=True)
    complex_cmd.set_defaults(func=_run_complex_command)

    show = area.add_parser("results", help="re-print the tables of a stored benchmark (default: the newest)")
    show.add_argument("--benchmark", help="benchmark id")
    show.add_argument("--list", action="store_true", help="list the stored benchmarks instead")
    show.add_argument("--confusion", default="lanhar",
                      help="print the confusion matrices of this method (default lanhar), 'all' or 'none'")
    show.set_defaults(func=_results)


def _pair_options(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("--pairs", help="comma-separated SOURCE:TARGET pairs; a dataset is NAME or NAME@PLACEMENT (default: every ordered pair of --datasets)")
    cmd.add_argument("--datasets", help=f"datasets to pair (default: {','.join(REAL_DATASETS)})")


def _common_options(cmd: argparse.ArgumentParser, variants: bool) -> None:
    cmd.add_argument("--seeds", type=int, help="seeds per configuration (default: [eval].seeds; 1 with --quick)")
    cmd.add_argument("--collection", help="interpretation collection (default: the [eval].backend's own, created if missing)")
    cmd.add_argument("--quick", action="store_true", help="built-in sample, small subsets, one seed, few steps")
    if variants:
        cmd.add_argument("--variant", choices=(*VARIANTS, "both", "all", "none"), default="all",
                         help="transductive (stage 2 also sees unlabeled target windows), inductive (source only), text "
                              "(the inductive recognizer reading each window's interpretation); both: transductive and "
                              "inductive; all (default): the three; none: the baselines only")


def parse_pairs(text: str | None, datasets: str | None) -> list[tuple[str, str]]:
    """``S:T,...`` pairs, or every ordered pair of the ``datasets`` list."""
    if text:
        pairs = []
        for item in text.split(","):
            parts = item.strip().split(":")
            if len(parts) != 2 or not all(parts) or parts[0] == parts[1]:
                raise ConfigError(f"--pairs expects SOURCE:TARGET with two different datasets, got {item!r}")
            pairs.append((parts[0], parts[1]))
        return pairs
    names = [d.strip() for d in (datasets or ",".join(REAL_DATASETS)).split(",") if d.strip()]
    if len(names) < 2:
        raise ConfigError(f"--datasets needs at least two datasets, got {names}")
    return list(itertools.permutations(names, 2))


def _check_datasets(store: Store, names: set[str]) -> None:
    known = set(list_datasets(store)["name"])
    missing = sorted(name for name in names if split_spec(name)[0] not in known)
    if missing:
        raise NotFoundError(
            f"dataset(s) {missing} are not in the store ({', '.join(sorted(known)) or 'empty'}); "
            "ingest them with `lanhar data ingest NAME PATH`"
        )


def _options(args: argparse.Namespace, settings: Settings) -> BenchOptions:
    variant = getattr(args, "variant", "transductive")
    variants = {"all": VARIANTS, "both": ("transductive", "inductive"), "none": ()}.get(variant, (variant,))
    return default_options(settings, args.seeds, args.quick, args.collection, variants)


def _prepare(args: argparse.Namespace) -> tuple[Settings, Store]:
    settings = settings_from(args)
    store = Store(settings.db_path)
    if args.quick:
        from lanhar_core.data.sample import ensure_sample

        ensure_sample(store, settings)
    return settings, store


def _run_pairs_command(args: argparse.Namespace) -> int:
    settings, store = _prepare(args)
    pairs = [QUICK_PAIR] if args.quick else parse_pairs(args.pairs, args.datasets)
    _check_datasets(store, {d for p in pairs for d in p})
    options = _options(args, settings)
    if args.protocol == "ablation":
        chosen = check_ablations([a.strip() for a in args.ablations.split(",") if a.strip()])
    params = {"protocol": args.protocol, "pairs": pairs, "quick": args.quick}
    started = time.monotonic()
    with progress_bar(f"bench {args.protocol}") as callback, tracked_job(store, f"bench_{args.protocol}", params, callback) as progress:
        if args.protocol == "ablation":
            benchmark_id = run_ablation(store, settings, pairs, options, progress, args.on, chosen)
        else:
            benchmark_id = run_pairs(store, settings, args.protocol, pairs, options, progress)
    _print(store, benchmark_id, time.monotonic() - started)
    return 0


def _run_complex_command(args: argparse.Namespace) -> int:
    settings, store = _prepare(args)
    dataset = "sample_motionsense" if args.quick and not args.dataset else args.dataset
    if not dataset:
        raise ConfigError("name the dataset with --dataset (e.g. dsads, uschad, pamap2)")
    _check_datasets(store, {dataset})
    options = _options(args, settings)
    started = time.monotonic()
    with progress_bar("bench complex") as callback, tracked_job(store, "bench_complex", {"dataset": dataset}, callback) as progress:
        benchmark_id = run_complex(store, settings, dataset, options, progress)
    _print(store, benchmark_id, time.monotonic() - started)
    return 0


def _print(store: Store, benchmark_id: str, wall_s: float | None = None) -> None:
    record = result_store.get_benchmark(store, benchmark_id)
    frame = result_store.results(store, benchmark_id)
    if wall_s is not None:
        timing = f"wall {wall_s:.0f} s"
    elif record.status == "running":
        timing = f"running for {(datetime.now() - record.created_at).total_seconds():.0f} s"
    else:
        timing = f"wall {record.wall_s:.0f} s"
    print(f"benchmark {benchmark_id} ({record.protocol}, {record.status}, {len(frame)} results, {timing})")
    for table in tables(frame, record.protocol):
        print()
        print(table.title)
        print_table(table.headers, table.rows)
    notes = sorted({str(c["note"]) for c in frame["config"] if c.get("note")}) if len(frame) else []
    for note in notes:
        print(f"\nnote: {note}")


def _results(args: argparse.Namespace) -> int:
    store = Store(settings_from(args).db_path)
    if args.list:
        frame = result_store.list_benchmarks(store)
        print_table(list(frame.columns), frame.values.tolist())
        return 0
    benchmark_id = args.benchmark or result_store.latest_benchmark(store)
    if benchmark_id is None:
        raise NotFoundError("no benchmark results stored yet; run `lanhar bench cross --quick` first")
    _print(store, benchmark_id)
    if args.confusion != "none":
        for table in confusion_tables(result_store.results(store, benchmark_id), args.confusion):
            print()
            print(table.title)
            print_table(table.headers, table.rows)
    return 0
