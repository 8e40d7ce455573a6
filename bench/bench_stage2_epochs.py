"""Which stage-2 epoch to keep: source-validation selection against the last epoch and the target's best.

    LANHAR_HOME=DIR python bench/bench_stage2_epochs.py --pairs hapt:motionsense,motionsense:hapt \\
        --variant both --epochs 20

For each pair and variant, ours is trained exactly as ``lanhar bench cross`` trains it (same
split, budgets, cached stage-1 encoder, texts of the evaluation collection, which must
already hold the windows' interpretations: run the benchmark once first). After every
stage-2 epoch two figures are taken: macro-F1 on the source's held-out subjects (what
``[sensor_encoder] keep_best_epoch`` selects on) and macro-F1 on the target (read here only
to judge that choice; no training code sees it). The table compares the last epoch, the
epoch selected on the source, and the best target epoch (an oracle no method may use).
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np

from lanhar_core.cli.common import print_table
from lanhar_core.config import Settings, load_settings
from lanhar_core.eval.pipeline import VARIANTS, labelled_set, run_ours, stage1_encoder
from lanhar_core.eval.protocols import cross_dataset_task
from lanhar_core.eval.runner import BenchOptions, ours_config
from lanhar_core.eval.texts import eval_collection, load_texts
from lanhar_core.jobs import Progress
from lanhar_core.vocab import COMMON_ACTIVITIES
from storage.db import Store


def run_pair(store: Store, settings: Settings, source: str, target: str, variant: str, epochs: int, seed: int) -> dict:
    """Per-epoch source-validation and target macro-F1 of one training of ours."""
    task = cross_dataset_task(store, source, target, seed, settings.eval.val_fraction, COMMON_ACTIVITIES, 0, settings.data.frame)
    datasets = sorted({str(d) for ws in (task.train, task.test) for d in np.unique(ws.datasets)})
    texts = load_texts(store, eval_collection(settings, None), datasets)
    cfg = dataclasses.replace(ours_config(settings, BenchOptions(seeds=1), variant), sensor_epochs=epochs,
                              keep_best_epoch=True)
    encoder, _ = stage1_encoder(store, settings, task, texts, cfg, seed, Progress())
    on_target = labelled_set(task.test, task.eval_labels, texts, encoder)
    target_f1: list[float] = []
    result = run_ours(store, settings, task, texts, cfg, seed, Progress(),
                      lambda epoch, model, entry: target_f1.append(on_target.macro_f1(model)))
    val_f1 = [e["val_macro_f1"] for e in result.info["stage2_epochs"]]
    return {"val": val_f1, "target": target_f1, "kept": result.info["stage2_kept_epoch"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", required=True, help="comma-separated SOURCE:TARGET pairs")
    parser.add_argument("--variant", choices=(*VARIANTS, "both"), default="both")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    settings = load_settings()
    store = Store(settings.db_path)
    variants = VARIANTS if args.variant == "both" else (args.variant,)
    rows, curves = [], []
    for pair in args.pairs.split(","):
        source, target = pair.split(":")
        for variant in variants:
            r = run_pair(store, settings, source, target, variant, args.epochs, args.seed)
            t = r["target"]
            oracle = int(np.argmax(t))
            rows.append((f"{source}->{target}", variant, t[-1], r["kept"], t[r["kept"] - 1], oracle + 1, t[oracle]))
            curves.append((f"{source}->{target}", variant, " ".join(f"{v:.2f}" for v in r["val"]),
                           " ".join(f"{v:.2f}" for v in t)))
            print(f"{rows[-1]}", flush=True)
    print_table(["pair", "variant", "target F1 last", "kept epoch", "target F1 kept", "oracle epoch", "target F1 oracle"], rows)
    for pair, variant, val, tgt in curves:
        print(f"\n{pair} {variant}\n  source val macro-F1 by epoch: {val}\n  target macro-F1 by epoch:     {tgt}")
    if rows:
        last, kept = np.mean([r[2] for r in rows]), np.mean([r[4] for r in rows])
        print(f"\naverage target macro-F1: last epoch {last:.3f}, kept epoch {kept:.3f}")


if __name__ == "__main__":
    main()
