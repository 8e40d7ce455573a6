"""Datasets overview and IMU window viewer.

Shows what is in the store (datasets, recordings, windows per activity), imports a user's
own dataset (a CSV/Parquet table, or a zip of them: one recording per file) exactly as
``lanhar data import`` does, with the same dry-run preview before anything is written, and
lets a user inspect any window in canonical units, in the context of its recording, with
the activity bands the dataset's labels define.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import plotly.express as px
import streamlit as st

from app.components.context import get_settings, get_store
from app.components.errors import user_errors
from app.components.filters import option_index, pick_one, pick_optional
from app.components.plots import UNLABELED, imu_figure, label_bands_from_runs
from app.components.uploads import check_size, first_table, read_table_head, table_columns, with_upload
from lanhar_core.data.importers.archive import ExpansionLimits
from lanhar_core.data.importers.checks import ACC_UNITS, GYRO_UNITS, SIGNS, TIME_UNITS
from lanhar_core.data.importers.generic import parse_label_map
from lanhar_core.data.importers.guess import guess_table
from lanhar_core.data.ingest import (
    RECORDING_PREVIEW_COLUMNS,
    DryRunReport,
    IngestReport,
    import_source,
    ingest_source,
    preview_source,
)
from lanhar_core.tracking import tracked_job
from storage import datasets as data_store
from storage.db import Store

IMPORT_TYPES = ["csv", "txt", "tsv", "parquet", "zip"]
GUESS_ROWS = 5000  # rows read to guess units and rate for the form's defaults
MIN_RATE_HZ, MAX_RATE_HZ = 1.0, 1000.0  # the form's range for a fixed rate
MIN_SCALE = 0.001  # counts per unit must be positive; the form refuses 0 itself
_NONE = "(none)"
_NO_TIME = "(fixed rate)"
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


def import_options(columns: list[str], guess_head: pd.DataFrame, default_name: str) -> tuple[str, dict, str] | None:
    """The import form (``lanhar data import``'s options); ``(dataset, options, action)`` once a button is pressed."""
    guess = guess_table(guess_head)
    acc_guess = guess.acc_columns or tuple(columns[1:4])
    gyro_guess = guess.gyro_columns or tuple(columns[4:7])
    optional = [_NONE, *columns]
    with st.form("import_form"):
        top = st.columns(3)
        name = top[0].text_input("Dataset name", default_name, key="import_name")
        placement = top[1].text_input("Placement", key="import_placement", help="Where the device was worn (pocket, wrist, ...)")
        subject = top[2].text_input("Subject", "unknown", key="import_subject", help="Used when no subject column is chosen")
        acc_cols, gyro_cols = st.columns(5), st.columns(5)
        acc = [acc_cols[i].selectbox(f"acc {a}", columns, index=option_index(columns, acc_guess[i], i + 1), key=f"import_acc_{a}")
               for i, a in enumerate("xyz")]
        acc_unit = acc_cols[3].selectbox("acc unit", list(ACC_UNITS), index=option_index(list(ACC_UNITS), guess.acc_unit.value),
                                         key="import_acc_unit")
        acc_scale = acc_cols[4].number_input(
            "acc counts per unit", min_value=MIN_SCALE, value=1.0, key="import_acc_scale",
            help="Raw integer counts per acc unit (e.g. 16384 per g for a +/-2 g int16 accelerometer); 1 for real values")
        gyro = [gyro_cols[i].selectbox(f"gyro {a}", columns, index=option_index(columns, gyro_guess[i], i + 4),
                                       key=f"import_gyro_{a}") for i, a in enumerate("xyz")]
        gyro_unit = gyro_cols[3].selectbox("gyro unit", list(GYRO_UNITS),
                                           index=option_index(list(GYRO_UNITS), guess.gyro_unit.value), key="import_gyro_unit")
        gyro_scale = gyro_cols[4].number_input(
            "gyro counts per unit", min_value=MIN_SCALE, value=1.0, key="import_gyro_scale",
            help="Raw integer counts per gyro unit (e.g. 131 per deg/s); 1 for real values")
        timing = st.columns(4)
        time_options = [_NO_TIME, *columns]
        time_column = timing[0].selectbox("timestamp column", time_options, index=option_index(time_options, guess.time_column),
                                          key="import_time_col")
        time_unit = timing[1].selectbox("timestamp unit", list(TIME_UNITS),
                                        index=option_index(list(TIME_UNITS), guess.time_unit.value), key="import_time_unit")
        guessed_rate = min(max(float(guess.rate_hz.value or 50.0), MIN_RATE_HZ), MAX_RATE_HZ)
        rate = timing[2].number_input("fixed rate (Hz)", MIN_RATE_HZ, MAX_RATE_HZ, guessed_rate, key="import_rate")
        sign = timing[3].selectbox("sign convention", list(SIGNS), key="import_sign",
                                   help="iOS reports acceleration with the opposite sign")
        grouping = st.columns(3)
        label_column = grouping[0].selectbox("label column", optional, index=option_index(optional, guess.label_column),
                                             key="import_label_col")
        subject_column = grouping[1].selectbox("subject column", optional, key="import_subject_col",
                                               help="One recording per subject")
        recording_column = grouping[2].selectbox(
            "recording column", optional, key="import_recording_col",
            help="One recording per id (per subject and id with a subject column); each file of a zip is one at least")
        labels = st.columns([3, 1])
        label_map = labels[0].text_input("Label map", key="import_label_map",
                                         placeholder="native=canonical, comma-separated (e.g. walking=walk,sitting=sit)")
        new_labels = labels[1].checkbox("Keep unmapped labels as new activities", value=True, key="import_new_labels")
        buttons = st.columns(2)
        preview = buttons[0].form_submit_button("Preview (dry run)")
        do_import = buttons[1].form_submit_button("Import")
    if not (preview or do_import):
        return None
    timed = time_column != _NO_TIME
    options = {
        "acc_columns": tuple(acc), "gyro_columns": tuple(gyro), "acc_unit": acc_unit, "gyro_unit": gyro_unit,
        "acc_scale": float(acc_scale), "gyro_scale": float(gyro_scale), "sign": sign, "placement": placement.strip(),
        "subject": subject.strip() or "unknown", "label_map": parse_label_map(label_map), "allow_new_labels": new_labels,
        **({"time_column": time_column, "time_unit": time_unit} if timed else {"rate_hz": float(rate)}),
        **{key: value for key, value in (("label_column", label_column), ("subject_column", subject_column),
                                         ("recording_column", recording_column)) if value != _NONE},
    }
    return name.strip(), options, "preview" if preview else "import"


def show_preview(report: DryRunReport) -> None:
    """The dry run as ``lanhar data import --dry-run`` prints it: recordings, windows per activity, magnitudes."""
    total = sum(report.windows_per_label.values())
    st.markdown(f"**{report.dataset}** (dry run, nothing written): {len(report.recordings)} recordings -> {total} windows")
    metrics = st.columns(3)
    metrics[0].metric("median |acc| (m/s²)", f"{report.median_acc_mps2:.2f}", help="Gravity is 9.81: far from it, check the unit or scale")
    metrics[1].metric("|gyro| 99th percentile (rad/s)", f"{report.p99_gyro_rad_s:.2f}")
    metrics[2].metric("|gyro| peak (rad/s)", f"{report.max_gyro_rad_s:.2f}")
    counts, recordings = st.columns([1, 3])
    counts.dataframe(pd.DataFrame(sorted(report.windows_per_label.items()), columns=["activity", "windows"]),
                     hide_index=True, key="import_preview_labels")
    recordings.dataframe(pd.DataFrame(report.recording_rows(), columns=list(RECORDING_PREVIEW_COLUMNS)),
                         hide_index=True, key="import_preview_recordings")
    if report.skipped:
        st.warning("Would skip: " + "; ".join(f"{s.item}: {s.reason}" for s in report.skipped))


def import_section(store: Store) -> None:
    """Upload a table or a zip of tables, map its columns, preview it (dry run), then import it into the store."""
    settings = get_settings()
    uploaded = st.file_uploader(
        f"Table (CSV, TSV, Parquet) or a zip of tables, one recording per file (up to {settings.data.max_upload_mb:g} MB)",
        type=IMPORT_TYPES, key="import_upload",
    )
    if uploaded is None:
        st.caption("The same as `lanhar data import PATH --format csv ...`; the preview is its `--dry-run`.")
        return
    data = uploaded.getvalue()
    limits = ExpansionLimits.from_settings(settings.data)
    with user_errors(f"{uploaded.name} could not be read"):
        check_size(uploaded.name, len(data), settings.data.max_upload_mb)
        table_name, table = first_table(uploaded.name, data, limits)
        columns = table_columns(table_name, table)
        if len(columns) < 6:
            st.error(f"{table_name}: found {len(columns)} column(s); a recording needs at least 6 (acc xyz, gyro xyz).")
            return
        chosen = import_options(columns, read_table_head(table_name, table, GUESS_ROWS), Path(uploaded.name).stem)
        if chosen is None:
            return
        name, options, action = chosen
        fmt = "parquet" if table_name.lower().endswith((".parquet", ".pq")) else "csv"

        def run(path: Path) -> DryRunReport | IngestReport:
            source = import_source(settings, name, path, fmt, **options)
            if action == "preview":
                with st.spinner("Reading (dry run)..."):
                    return preview_source(settings, source)
            params = {"dataset": name, "reader": source.reader, "path": uploaded.name, **options}
            with st.spinner(f"Importing {name}..."), tracked_job(store, "import", params) as progress:
                return ingest_source(store, settings, source, progress)

        report = with_upload(uploaded.name, data, run)
        if isinstance(report, DryRunReport):
            show_preview(report)
        else:
            st.cache_data.clear()
            st.success(report.summary())


def main() -> None:
    st.title("Datasets")
    store = get_store()
    with st.expander("Import a dataset", expanded=data_store.list_datasets(store).empty):
        import_section(store)
    datasets = overview(store)
    if datasets.empty:
        st.info("The store holds no dataset yet. Import one above, or ingest one with `lanhar data ingest NAME PATH`.")
        return
    st.divider()
    window_viewer(store, datasets)


main()
