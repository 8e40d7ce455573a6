"""Plotly figures of IMU signals in canonical units, with activity bands.

Accelerometer (m/s^2, gravity included) and gyroscope (rad/s) have different units and
scales, so they get one panel each on a shared time axis. Activity bands are shaded
behind the traces; each activity keeps the same colour on every page.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lanhar_core.data.types import CHANNELS
from lanhar_core.vocab import BUILTIN_ACTIVITIES

_AXIS_COLORS = ("#d62728", "#2ca02c", "#1f77b4")
_PALETTE = px.colors.qualitative.Pastel + px.colors.qualitative.Set3
_BUILTIN_ORDER = {a.name: i for i, a in enumerate(BUILTIN_ACTIVITIES)}
UNLABELED = "unlabeled"
UNKNOWN = "unknown"  # the recognizer's answer below its threshold (lanhar_core.models.recognizer.UNKNOWN)


@dataclass(frozen=True)
class Band:
    """A stretch of time (seconds) with one activity."""

    start_s: float
    end_s: float
    label: str


def activity_color(label: str) -> str:
    """A stable colour per activity: built-in labels by vocabulary order, others by name."""
    if label == UNLABELED:
        return "#e5e5e5"
    if label == UNKNOWN:
        return "#bdbdbd"
    index = _BUILTIN_ORDER.get(label)
    if index is None:
        index = sum(label.encode()) + len(_BUILTIN_ORDER)
    return _PALETTE[index % len(_PALETTE)]


def label_bands_from_runs(runs: pd.DataFrame, rate_hz: float, first: int, last: int) -> list[Band]:
    """Bands of the activity runs (start_sample, end_sample, label) that overlap samples ``[first, last)``."""
    bands = []
    for row in runs.itertuples(index=False):
        start, end = max(int(row.start_sample), first), min(int(row.end_sample), last)
        if start < end:
            label = UNLABELED if row.label is None or pd.isna(row.label) else str(row.label)
            bands.append(Band(start / rate_hz, end / rate_hz, label))
    return bands


def imu_figure(
    signals: np.ndarray,
    rate_hz: float,
    *,
    t0_s: float = 0.0,
    bands: Sequence[Band] = (),
    highlight: tuple[float, float] | None = None,
    title: str = "",
    height: int = 460,
    gravity_removed: bool = False,
) -> go.Figure:
    """Six channels of an ``(n, 6)`` array on two panels, with activity bands and an optional highlighted span."""
    signals = np.asarray(signals, dtype=float)
    t = t0_s + np.arange(signals.shape[0]) / rate_hz
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.08,
        subplot_titles=(f"Accelerometer (m/s², {'gravity removed' if gravity_removed else 'with gravity'})", "Gyroscope (rad/s)"),
    )
    for c, name in enumerate(CHANNELS):
        row = 1 if c < 3 else 2
        fig.add_trace(
            go.Scatter(
                x=t,
                y=signals[:, c],
                name=name,
                mode="lines",
                line={"width": 1.4, "color": _AXIS_COLORS[c % 3]},
            ),
            row=row,
            col=1,
        )
    _add_bands(fig, bands)
    if highlight is not None:
        fig.add_vrect(
            x0=highlight[0], x1=highlight[1], line={"color": "#444", "width": 2, "dash": "dash"},
            fillcolor="rgba(0,0,0,0)", row="all", col=1,
        )
    fig.update_xaxes(title_text="time (s)", row=2, col=1)
    fig.update_yaxes(title_text="m/s²", row=1, col=1)
    fig.update_yaxes(title_text="rad/s", row=2, col=1)
    fig.update_layout(
        title={"text": title},
        height=height,
        margin={"l": 50, "r": 10, "t": 70 if title else 30, "b": 40},
        legend={"orientation": "v", "yanchor": "top", "y": 1.0, "x": 1.01, "xanchor": "left"},
    )
    return fig


def _add_bands(fig: go.Figure, bands: Sequence[Band]) -> None:
    for band in bands:
        fig.add_vrect(
            x0=band.start_s, x1=band.end_s, fillcolor=activity_color(band.label), opacity=0.35,
            layer="below", line_width=0, row="all", col=1,
        )
        fig.add_annotation(
            x=(band.start_s + band.end_s) / 2, y=0.99, xref="x", yref="y domain", text=band.label,
            showarrow=False, font={"size": 11, "color": "#333"}, yanchor="top", row=1, col=1,
        )


def segments_figure(segments: Sequence[Band], title: str = "", height: int = 220,
                    truth: Sequence[Band] | None = None) -> go.Figure:
    """A timeline of recognised segments (one coloured bar per segment); with ``truth``, a second row
    of the true activities above it, so a labelled recording shows where the two disagree."""
    rows = {"truth": truth, "predicted": segments} if truth is not None else {"activity": segments}
    fig = go.Figure()
    shown: set[str] = set()
    for row, bands in rows.items():
        for band in bands:
            fig.add_trace(
                go.Bar(
                    x=[band.end_s - band.start_s], y=[row], base=[band.start_s], orientation="h",
                    marker={"color": activity_color(band.label), "line": {"color": "#555", "width": 0.5}},
                    name=band.label, legendgroup=band.label, showlegend=band.label not in shown,
                    hovertemplate=f"{row}: {band.label}<br>%{{base:.1f}}–{band.end_s:.1f} s<extra></extra>",
                )
            )
            shown.add(band.label)
    fig.update_layout(
        title={"text": title}, barmode="overlay", height=height + (60 if truth is not None else 0), xaxis_title="time (s)",
        yaxis={"visible": truth is not None, "categoryorder": "array", "categoryarray": list(rows)[::-1]},
        margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 40},
        legend={"orientation": "h", "yanchor": "top", "y": -0.45, "x": 0, "xanchor": "left"},
    )
    return fig


METRIC_GROUPS = ("losses", "scores (0-1)", "counts", "other")


def metric_group(name: str, values: Sequence[float]) -> str:
    """Which axis a per-epoch metric belongs on: a loss, a 0-1 score, a count, or anything else (temperature)."""
    lowered = name.lower()
    if "loss" in lowered:
        return "losses"
    if lowered.endswith("_n") or "count" in lowered or lowered.startswith("n_") or "epoch" in lowered or "step" in lowered:
        return "counts"
    if re.search(r"acc|recall|f1|precision|share|rate|r@", lowered) and all(0.0 <= v <= 1.0 for v in values):
        return "scores (0-1)"
    return "other"


def epoch_table(epochs: Sequence[Any]) -> pd.DataFrame:
    """epoch, metric, value, group rows of training-run epoch records (losses and numeric validation metrics)."""
    rows = [{"epoch": e.epoch, "metric": f"loss: {k}", "value": float(v)} for e in epochs for k, v in e.losses.items()]
    rows += [
        {"epoch": e.epoch, "metric": k, "value": float(v)}
        for e in epochs for k, v in e.val_metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)
    ]
    frame = pd.DataFrame(rows, columns=["epoch", "metric", "value"])
    groups = {m: metric_group(m, list(g["value"])) for m, g in frame.groupby("metric")}
    return frame.assign(group=frame["metric"].map(groups))


def epoch_figure(table: pd.DataFrame, color: str = "metric", height_per_panel: int = 190) -> go.Figure:
    """One panel per metric group, each with its own y axis, on a shared epoch axis (a count never squashes a loss).

    ``color`` is the column that picks the colour: ``metric`` for one run, ``run`` to compare
    runs (then the metrics of a panel differ by dash).
    """
    groups = [g for g in METRIC_GROUPS if (table["group"] == g).any()] or ["losses"]
    fig = make_subplots(rows=len(groups), cols=1, shared_xaxes=True, vertical_spacing=0.07, subplot_titles=groups)
    palette = px.colors.qualitative.Plotly
    dashes = ("solid", "dash", "dot", "dashdot", "longdash")
    keys = list(dict.fromkeys(table[color])) if color in table else []
    for row, group in enumerate(groups, start=1):
        part = table[table["group"] == group]
        metrics = list(dict.fromkeys(part["metric"]))
        for (key, metric), line in part.groupby([color, "metric"], sort=False):
            fig.add_trace(go.Scatter(
                x=line["epoch"], y=line["value"], mode="lines+markers",
                name=str(metric) if color == "metric" else f"{key} · {metric}",
                line={"color": palette[keys.index(key) % len(palette)],
                      "dash": "solid" if color == "metric" else dashes[metrics.index(metric) % len(dashes)]},
            ), row=row, col=1)
        if group == "scores (0-1)":
            fig.update_yaxes(range=[0, 1.02], row=row, col=1)
    fig.update_xaxes(title_text="epoch", row=len(groups), col=1)
    fig.update_layout(height=80 + height_per_panel * len(groups), margin={"l": 10, "r": 10, "t": 30, "b": 10})
    return fig
