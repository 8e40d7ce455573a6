"""Datasets overview and IMU window viewer.

Shows what is in the store (datasets, recordings, windows per activity) and lets a user
inspect any window in canonical units, in the context of its recording, with the activity
bands the dataset's labels define.
"""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from app.components.context import get_store
from app.components.filters import pick_one, pick_optional
from app.components.plots import UNLABELED, imu_figure, label_bands_from_runs
from storage import datasets as data_store
from storage.db import Store

MAX_LISTED_WINDOWS = 500  # windows offered in the picker at once; narrower filters show the others

OVERVIEW_COLUMNS = {
    "name": "dataset",
    "title": "title",
    "placement": "placement",
    "native_rate_hz": "native Hz",
    "rate_hz": "Hz",
    "recordings": "recordings",
    "subjects": "subjects",
    "hours": "hours",
    "windows": "windows",
    "license": "licence",
}


def overview(store: Store) -> pd.DataFrame:
    """The datasets table and the windows-per-activity table and chart; returns the datasets."""
    datasets = data_store.list_datasets(store)
    st.dataframe(datasets[list(OVERVIEW_COLUMNS)].rename(columns=OVERVIEW_COLUMNS), hide_index=True)
    counts = data_store.window_counts(store)
    counts["label"] = counts["label"].fillna(UNLABELED)
    table, chart = st.columns([2, 3])
    table.markdown("**Windows per activity**")
    table.dataframe(
        counts.pivot_table(index="label", columns="dataset", values="n", fill_value=0, aggfunc="sum"),
        height=min(600, 38 + 35 * counts["label"].nunique()),
    )
    fig = px.bar(
        counts, x="label", y="n", color="dataset", barmode="group", labels={"label": "activity", "n": "windows"},
    )
    fig.update_xaxes(categoryorder="category ascending")
    fig.update_layout(height=380, margin={"l": 10, "r": 10, "t": 30, "b": 10})
    chart.plotly_chart(fig, key="window_counts_chart")
    return datasets


@st.cache_data(ttl=30, show_spinner=False)
def matching_windows(
    _store: Store, db_path: str, dataset: str, subject: str | None, label: str | None
) -> pd.DataFrame:
    """Ids and metadata (not signals) of the first windows matching the filters, for the picker."""
    windows = data_store.load_windows(
        _store,
        dataset=dataset,
        subjects=None if subject is None else [subject],
        labels=None if label is None else [None if label == UNLABELED else label],
        limit=MAX_LISTED_WINDOWS,
    )
    return pd.DataFrame(
        {
            "id": windows.ids.astype(int),
            "label": [UNLABELED if v is None else v for v in windows.labels],
            "subject": windows.subjects,
            "recording_id": windows.recording_ids.astype(int),
        }
    )


def window_viewer(store: Store, datasets: pd.DataFrame) -> None:
    """Filters (dataset, subject, activity), the window picker, its plot and its metadata."""
    st.subheader("Window viewer")
    left, middle, right = st.columns(3)
    dataset = pick_one("Dataset", datasets["name"].tolist(), key="viewer_dataset", container=left)
    if dataset is None:
        return
    recordings = data_store.list_recordings(store, dataset)
    subject = pick_optional("Subject", sorted(recordings["subject"].astype(str).unique()), "viewer_subject", middle)
    counts = data_store.window_counts(store)
    labels = counts.loc[counts["dataset"] == dataset, "label"].fillna(UNLABELED).tolist()
    label = pick_optional("Activity", labels, "viewer_label", right)
    windows = matching_windows(store, str(store.path), dataset, subject, label)
    if windows.empty:
        st.info("No window matches these filters.")
        return
    if len(windows) == MAX_LISTED_WINDOWS:
        st.caption(f"Showing the first {MAX_LISTED_WINDOWS} matching windows; narrow the filters to see others.")
    options = windows["id"].tolist()
    described = windows.set_index("id")
    window_id = st.selectbox(
        "Window",
        options,
        key="viewer_window",
        format_func=lambda i: f"#{i} · {described.at[i, 'label']} · subject {described.at[i, 'subject']}",
    )
    show_window(store, int(window_id))


def show_window(store: Store, window_id: int) -> None:
    """The window inside its recording (one window of context each side) and its metadata."""
    window = data_store.get_window(store, window_id)
    recording = data_store.get_recording_signals(store, window.recording_id)
    context = st.slider("Context around the window (s)", 0.0, 30.0, window.length / window.rate_hz, 1.0)
    pad = int(context * recording.rate_hz)
    first = max(0, window.start_sample - pad)
    last = min(len(recording.signals), window.start_sample + window.length + pad)
    start_s, end_s = window.start_sample / recording.rate_hz, (window.start_sample + window.length) / recording.rate_hz
    fig = imu_figure(
        recording.signals[first:last],
        recording.rate_hz,
        t0_s=first / recording.rate_hz,
        bands=label_bands_from_runs(recording.runs, recording.rate_hz, first, last),
        highlight=(start_s, end_s),
        title=f"Window #{window.id} · {window.label or UNLABELED} · {window.dataset} subject {window.subject}",
        gravity_removed=recording.gravity_removed,
    )
    if recording.gravity_removed:
        st.warning(
            f"{recording.dataset} published its accelerometer with gravity removed: posture and orientation "
            "cannot be read from it, and models trained on gravity-including data see it out of distribution."
        )
    plot, meta = st.columns([3, 1])
    plot.plotly_chart(fig, key="window_plot")
    meta.markdown("**Window**")
    meta.dataframe(window_metadata(window, recording), hide_index=True)


def window_metadata(window: data_store.StoredWindow, recording: data_store.RecordingSignals) -> pd.DataFrame:
    """Everything the store knows about the window and its recording, as a two-column table."""
    rows = {
        "window id": window.id,
        "dataset": window.dataset,
        "activity": window.label or UNLABELED,
        "dataset's own label": window.native_label or "",
        "subject": window.subject,
        "session": window.session or "",
        "recording": f"{recording.key} (#{recording.recording_id})",
        "device": recording.device or "",
        "placement": window.placement or "",
        "start": f"{window.start_sample / window.rate_hz:.2f} s (sample {window.start_sample})",
        "length": f"{window.length} samples = {window.length / window.rate_hz:.1f} s",
        "rate": f"{window.rate_hz:g} Hz",
        **{f"meta: {key}": value for key, value in sorted(recording.meta.items())},
    }
    return pd.DataFrame({"field": list(rows), "value": [str(v) for v in rows.values()]})


def main() -> None:
    st.title("Datasets")
    store = get_store()
    datasets = overview(store)
    if datasets.empty:
        st.info("The store holds no dataset yet. Ingest one with `lanhar data ingest NAME PATH`.")
        return
    st.divider()
    window_viewer(store, datasets)


main()
