"""Relative KL divergence, UCI (HAPT) vs MotionSense, beside the paper's Table 1.

For walk, sit, upstairs, downstairs and their average, in the representations the store
allows: raw windows and feature records always; text embeddings of interpretations for
each collection that covers both datasets (pre-trained MiniLM, or [text_encoder].path);
and, for the newest re-generation run on such a collection, the texts before that run
next to the current ones. Both estimators (Gaussian on PCA, k-NN) for raw and features.
Every table is also stored as a `kl` quality run.

Run: .venv/bin/python bench/bench_kl.py [--home DIR] [--a sample_hapt] [--b sample_motionsense]
(ingest first: `lanhar data sample`, or `lanhar data ingest hapt ...` for the full datasets).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lanhar_core.config import load_settings  # noqa: E402
from lanhar_core.quality.runs import KLReport, default_embed, run_kl  # noqa: E402
from lanhar_core.vocab import COMMON_ACTIVITIES  # noqa: E402
from storage import interpretations as store_it  # noqa: E402
from storage import quality as store_q  # noqa: E402
from storage.db import Store  # noqa: E402

PAPER = {  # Table 1: raw data, self-supervised (BERT), semantic interpretations (GPT-4 + BERT)
    "walk": (0.4965, 0.2331, 0.1633),
    "sit": (0.1669, 0.1983, 0.1541),
    "upstairs": (0.2444, 0.1875, 0.0420),
    "downstairs": (0.1753, 0.1518, 0.0995),
    "average": (0.2708, 0.1926, 0.1147),
}


def _column(report: KLReport, variant: str = "current") -> dict[str, float]:
    values = {r.label: r.relative for r in report.rows[variant]}
    values["average"] = report.average(variant)
    return values


def _collections_covering(store: Store, a: str, b: str) -> list[str]:
    names = []
    for name in store_it.list_collections(store)["collection"]:
        frame = store_it.current_window_interpretations(store, name)
        if {a, b} <= set(frame["dataset"]):
            names.append(str(name))
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path)
    parser.add_argument("--a", default="sample_hapt")
    parser.add_argument("--b", default="sample_motionsense")
    parser.add_argument("--no-text", action="store_true", help="skip text representations (no encoder needed)")
    args = parser.parse_args()
    settings = load_settings(args.home)
    store = Store(settings.db_path)
    columns: dict[str, dict[str, float]] = {}
    for rep in ("raw", "features"):
        for estimator in ("gaussian", "knn"):
            report = run_kl(store, settings, args.a, args.b, rep, labels=COMMON_ACTIVITIES, estimator=estimator)
            columns[f"{rep} ({estimator})"] = _column(report)
    if not args.no_text:
        embed = default_embed(store, settings)
        for name in _collections_covering(store, args.a, args.b):
            runs = [r for r in store_q.list_runs(store, kind="regenerate", collection=name) if r.status == "finished"]
            before = runs[0].id if runs else None
            report = run_kl(store, settings, args.a, args.b, "text", name, embed, labels=COMMON_ACTIVITIES, before_run=before)
            if before is not None:
                columns[f"text {name} before run {before}"] = _column(report, f"before_run:{before}")
            columns[f"text {name}" + (" after" if before is not None else "")] = _column(report)
    labels = [*COMMON_ACTIVITIES, "average"]
    print(f"relative KL, {args.a} vs {args.b} (estimator gaussian unless noted); paper: UCI vs Motion, Table 1")
    width = max(len(c) for c in columns) + 2
    print(f"{'representation':<{width}}" + "".join(f"{lab:>12}" for lab in labels))
    for name, values in columns.items():
        print(f"{name:<{width}}" + "".join(f"{values.get(lab, float('nan')):>12.4f}" for lab in labels))
    for i, name in enumerate(("paper raw", "paper self-supervised", "paper interpretations")):
        print(f"{name:<{width}}" + "".join(f"{PAPER[lab][i]:>12.4f}" for lab in labels))


if __name__ == "__main__":
    main()
