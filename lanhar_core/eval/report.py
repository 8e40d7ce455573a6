"""Tables from stored results, beside the paper's numbers where a comparable one exists.

Rows are aggregated over seeds as mean +/- sample std. The paper's per-pair numbers are
only shown for pairs of the datasets it used under their names in this store (HAPT is the
paper's UCI, MotionSense its Motion; HHAR and Shoaib when a user ingests them); the
built-in samples are excerpts and get no paper column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lanhar_core.eval.metrics import mean_std

PAPER_NAMES: dict[str, str] = {"hapt": "UCI", "motionsense": "Motion", "hhar": "HHAR", "shoaib": "Shoaib"}

PAPER_LANHAR: dict[tuple[str, str], tuple[float, float]] = {
    ("HHAR", "UCI"): (0.830, 0.804), ("HHAR", "Motion"): (0.812, 0.795), ("HHAR", "Shoaib"): (0.730, 0.693),
    ("UCI", "HHAR"): (0.855, 0.808), ("UCI", "Motion"): (0.811, 0.765), ("UCI", "Shoaib"): (0.782, 0.718),
    ("Motion", "HHAR"): (0.697, 0.617), ("Motion", "UCI"): (0.764, 0.713), ("Motion", "Shoaib"): (0.730, 0.724),
    ("Shoaib", "HHAR"): (0.717, 0.687), ("Shoaib", "UCI"): (0.789, 0.730), ("Shoaib", "Motion"): (0.768, 0.721),
}
"""Paper Table 2, LanHAR (accuracy, F1) per source -> target."""

PAPER_DCNN: dict[tuple[str, str], tuple[float, float]] = {("UCI", "Motion"): (0.122, 0.069), ("Motion", "UCI"): (0.605, 0.424)}
PAPER_TRANSFORMER: dict[tuple[str, str], tuple[float, float]] = {
    ("UCI", "Motion"): (0.451, 0.155), ("Motion", "UCI"): (0.449, 0.279),
}

PAPER_AVERAGE: dict[str, tuple[float, float]] = {"lanhar": (0.774, 0.731), "dcnn": (0.392, 0.266), "transformer": (0.449, 0.231)}
"""Paper Table 2, average over its 12 pairs (accuracy, F1)."""

_PAPER_PER_PAIR = {"lanhar": PAPER_LANHAR, "dcnn": PAPER_DCNN, "transformer": PAPER_TRANSFORMER}


NEW_ACTIVITY_PROTOCOLS = ("new", "ablation_new")
"""Protocols whose tables lead with the accuracy on the new-activity windows."""


@dataclass(frozen=True)
class Table:
    title: str
    headers: list[str]
    rows: list[list[object]]


def paper_pair(method: str, source: str, target: str) -> tuple[float, float] | None:
    """The paper's (accuracy, F1) for this method on this pair, if it reported one."""
    key = (PAPER_NAMES.get(source, ""), PAPER_NAMES.get(target, ""))
    return _PAPER_PER_PAIR.get(method, {}).get(key)


def _fmt(values: Sequence[float]) -> str:
    clean = [float(v) for v in values if v is not None and not np.isnan(v)]
    if not clean:
        return "-"
    mean, std = mean_std(clean)
    return f"{mean:.3f} ± {std:.3f}" if len(clean) > 1 else f"{mean:.3f}"


def _paper(value: tuple[float, float] | None) -> str:
    return f"{value[0]:.3f} / {value[1]:.3f}" if value else ""


def flatten(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per result with the metric columns pulled out of the JSON."""
    rows = []
    for rec in frame.to_dict("records"):
        m = rec["metrics"]
        rows.append({
            "source": rec["source"], "target": rec["target"], "method": rec["method"], "variant": rec["variant"],
            "seed": rec["seed"], "wall_s": rec["wall_s"], "not_run": m.get("not_run"),
            **{k: m.get(k) for k in ("accuracy", "macro_f1", "weighted_f1", "category_accuracy",
                                     "new_accuracy", "common_accuracy", "n")},
        })
    return pd.DataFrame(rows)


def per_pair_table(frame: pd.DataFrame, protocol: str) -> Table:
    """Per (pair, method, variant): metrics over seeds, wall time, and the paper's number."""
    flat = flatten(frame)
    metrics = ["accuracy", "macro_f1", "weighted_f1", "category_accuracy"]
    if protocol in NEW_ACTIVITY_PROTOCOLS:
        metrics = ["new_accuracy", "accuracy", "macro_f1", "common_accuracy", "category_accuracy"]
    headers = ["source", "target", "method", "variant", "seeds", *metrics, "wall s", "paper acc / F1"]
    rows: list[list[object]] = []
    for (source, target, method, variant), group in flat.groupby(["source", "target", "method", "variant"], sort=False):
        if group["not_run"].notna().all():
            rows.append([source, target, method, variant, 0, f"not run: {group['not_run'].iloc[0]}",
                         *[""] * (len(metrics) - 1), "", ""])
            continue
        paper = paper_pair(method, source, target) if protocol == "cross" else None
        rows.append([source, target, method, variant, len(group), *[_fmt(group[m].tolist()) for m in metrics],
                     f"{group['wall_s'].mean():.0f}", _paper(paper)])
    return Table(f"{protocol}: per pair (mean ± std over seeds)", headers, rows)


def average_table(frame: pd.DataFrame, protocol: str) -> Table:
    """Per (method, variant): the mean over pairs of the per-pair means."""
    flat = flatten(frame)
    flat = flat[flat["not_run"].isna()]
    metrics = ["new_accuracy", "accuracy", "macro_f1"] if protocol in NEW_ACTIVITY_PROTOCOLS else ["accuracy", "macro_f1", "weighted_f1", "category_accuracy"]
    pair_means = flat.groupby(["method", "variant", "source", "target"], sort=False)[metrics].mean().reset_index()
    headers = ["method", "variant", "pairs", *[f"avg {m}" for m in metrics]]
    if protocol == "cross":
        headers.append("paper avg acc / F1")
    rows: list[list[object]] = []
    for (method, variant), group in pair_means.groupby(["method", "variant"], sort=False):
        row: list[object] = [method, variant, len(group), *[float(group[m].mean()) for m in metrics]]
        if protocol == "cross":
            row.append(_paper(PAPER_AVERAGE.get(method)))
        rows.append(row)
    return Table(f"{protocol}: average over pairs", headers, rows)


BASELINE_VARIANTS = ("supervised", "pretrained")
"""Variants of the comparison methods (trained on the source, or the untrained MiniLM)."""

STAIRS = ("upstairs", "downstairs")


def _recalls(metrics: dict) -> dict[str, float]:
    """Recall per true label of one scored result (labels without true windows are left out)."""
    confusion = np.asarray(metrics["confusion"], dtype=np.float64)
    support = confusion.sum(axis=1)
    return {str(label): float(confusion[i, i] / support[i]) for i, label in enumerate(metrics["labels"]) if support[i] > 0}


def recall_table(frame: pd.DataFrame, protocol: str) -> Table:
    """Per (method, variant): recall of each true label, mean over seeds then over the pairs that have it.

    The last column is the mean of upstairs and downstairs recall (the issue-12 stairs figure)."""
    scored = frame[[("confusion" in m and not m.get("not_run")) for m in frame["metrics"]]]
    per_pair: dict[tuple[str, str], dict[str, list[float]]] = {}
    for (_, _, method, variant), group in scored.groupby(["source", "target", "method", "variant"], sort=False):
        pair: dict[str, list[float]] = {}
        for metrics in group["metrics"]:
            for label, value in _recalls(metrics).items():
                pair.setdefault(label, []).append(value)
        into = per_pair.setdefault((method, variant), {})
        for label, values in pair.items():
            into.setdefault(label, []).append(float(np.mean(values)))
    labels = sorted({label for by_label in per_pair.values() for label in by_label})
    has_stairs = all(s in labels for s in STAIRS)
    headers = ["method", "variant", *labels, *(["stairs"] if has_stairs else [])]
    rows: list[list[object]] = []
    for (method, variant), by_label in per_pair.items():
        row: list[object] = [method, variant, *[f"{np.mean(by_label[lab]):.3f}" if lab in by_label else "-" for lab in labels]]
        if has_stairs:
            stairs = [np.mean(by_label[s]) for s in STAIRS if s in by_label]
            row.append(f"{np.mean(stairs):.3f}" if stairs else "-")
        rows.append(row)
    return Table(f"{protocol}: recall per true activity (mean over pairs)", headers, rows)


def baseline_gap_table(frame: pd.DataFrame, metric: str = "macro_f1") -> Table:
    """Ours against the best comparison method of the same pair and run: mean gap and pairs won."""
    flat = flatten(frame)
    flat = flat[flat["not_run"].isna()]
    means = flat.groupby(["source", "target", "method", "variant"], sort=False)[metric].mean().reset_index()
    others = means[means["variant"].isin(BASELINE_VARIANTS)]
    best = others.loc[others.groupby(["source", "target"])[metric].idxmax()].set_index(["source", "target"]) if len(others) else None
    rows: list[list[object]] = []
    for variant, group in means[means["method"] == "lanhar"].groupby("variant", sort=False):
        gaps, wins, losses = [], 0, []
        for rec in group.to_dict("records"):
            key = (rec["source"], rec["target"])
            if best is None or key not in best.index:
                continue
            gap = float(rec[metric]) - float(best.loc[key, metric])
            gaps.append(gap)
            if gap > 0:
                wins += 1
            else:
                losses.append(f"{key[0]}->{key[1]} ({best.loc[key, 'method']})")
        if gaps:
            rows.append([variant, len(gaps), f"{100 * np.mean(gaps):+.1f}", f"{wins}/{len(gaps)}", ", ".join(losses) or "-"])
    return Table(f"ours vs the best other method of each pair ({metric}, points)",
                 ["variant", "pairs", "mean gap", "pairs won", "pairs lost (winner)"], rows)


def tables(frame: pd.DataFrame, protocol: str) -> list[Table]:
    """The tables ``lanhar bench`` prints for one benchmark's results."""
    if frame.empty:
        return []
    found = [per_pair_table(frame, protocol), average_table(frame, protocol)]
    if protocol == "cross":
        found += [recall_table(frame, protocol), baseline_gap_table(frame)]
    return found


def confusion_tables(frame: pd.DataFrame, method: str = "lanhar") -> list[Table]:
    """Confusion matrices (rows true, columns predicted), summed over seeds, per pair and variant.

    ``method`` picks the results ('all' for every method); results that were not run, or whose
    seeds scored different label sets, are left out of a sum rather than misaligned.
    """
    if frame.empty:
        return []
    chosen = frame if method == "all" else frame[frame["method"] == method]
    found: list[Table] = []
    for (source, target, name, variant), group in chosen.groupby(["source", "target", "method", "variant"], sort=False):
        scored = [m for m in group["metrics"] if "confusion" in m and not m.get("not_run")]
        if not scored:
            continue
        labels = list(scored[0]["labels"])
        same = [m for m in scored if list(m["labels"]) == labels]
        total = np.sum([np.asarray(m["confusion"], dtype=np.int64) for m in same], axis=0)
        title = f"confusion {source} -> {target} · {name}/{variant} (rows true, columns predicted; {len(same)} seed(s))"
        found.append(Table(title, ["true \\ predicted", *labels], [[label, *map(int, row)] for label, row in zip(labels, total)]))
    return found
