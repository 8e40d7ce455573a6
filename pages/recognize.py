"""Live recognition on a recording uploaded from a phone, with activities added by description.

Anyone can demo the recognizer here: upload a Sensor Logger or phyphox export (or any CSV
with a column mapping), see the recording cut into activity segments with per-window
scores, then describe a new activity in words and watch it being recognised without any
retraining. Nothing is written to the store.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import streamlit as st

from app.components.context import get_settings, get_store
from app.components.errors import user_errors
from app.components.plots import Band, imu_figure, segments_figure
from app.components.representations import text_encoder_at
from app.components.uploads import (
    FORMATS,
    GENERIC,
    PLATFORM_FROM_METADATA,
    PLATFORMS,
    SENSOR_LOGGER,
    UPLOAD_DATASET,
    import_upload,
    table_columns,
)
from lanhar_core.data.importers.archive import ExpansionLimits
from lanhar_core.data.importers.checks import ACC_UNITS, GYRO_UNITS, SIGNS, TIME_UNITS
from lanhar_core.data.importers.generic import ImportSpec
from lanhar_core.data.types import CHANNELS, Recording
from lanhar_core.models.loading import open_recognizer
from lanhar_core.models.recognizer import Recognizer
from lanhar_core.models.streaming import recognize_recording
from lanhar_core.models.train_sensor import RECOGNIZER_ARTIFACT
from storage import runs as run_store
from storage.db import Store

MAX_PLOTTED_SAMPLES = 20_000  # longer recordings are thinned for the plot only; recognition uses every sample
_ADDED_KEY = "recognize_added_labels"
_IMPORT_KEY = "recognize_import"


def choose_recognizer(store: Store) -> tuple[int, str] | None:
    """A finished stage-2 run with a saved recognizer: (run id, directory)."""
    available = [
        (r.id, str(path))
        for r in run_store.list_runs(store, "sensor")
        if r.status == "finished" and (path := run_store.artifacts(store, r.id).get(RECOGNIZER_ARTIFACT))
    ]
    if not available:
        st.info(
            "Recognition needs a trained sensor encoder: start a stage-2 run on the Training page "
            "(or `lanhar train sensor --source hapt`)."
        )
        return None
    return st.sidebar.selectbox("Recognizer", available, format_func=lambda a: f"stage-2 run {a[0]}")


def load_recognizer(directory: str) -> Recognizer:
    """A fresh copy per rerun (a few MB), plus the labels this session added by description."""
    recognizer = open_recognizer(directory)
    added: dict[str, list[str]] = st.session_state.get(_ADDED_KEY, {})
    if added:
        store = get_store()
        encoder = text_encoder_at(recognizer.text_encoder_ref, str(store.path), store)
        for name, descriptions in added.items():
            recognizer.add_label(name, descriptions, encoder)
    return recognizer


def generic_spec(name: str, data: bytes) -> ImportSpec | None:
    """The column-mapping form of a generic table; ``None`` until it is submitted."""
    columns = table_columns(name, data)
    if len(columns) < 6:
        st.error(f"{name}: found {len(columns)} column(s) ({', '.join(columns)}); a recording needs at least 6 (acc xyz, gyro xyz).")
        return None
    with st.form("mapping_form"):
        st.markdown("**Column mapping**")
        acc_cols = st.columns(4)
        gyro_cols = st.columns(4)
        acc = [acc_cols[i].selectbox(f"acc {a}", columns, index=_guess(columns, "acc", a, i + 1)) for i, a in enumerate("xyz")]
        acc_unit = acc_cols[3].selectbox("acc unit", list(ACC_UNITS))
        gyro = [gyro_cols[i].selectbox(f"gyro {a}", columns, index=_guess(columns, "gyro", a, i + 4)) for i, a in enumerate("xyz")]
        gyro_unit = gyro_cols[3].selectbox("gyro unit", list(GYRO_UNITS))
        timing = st.columns(4)
        time_column = timing[0].selectbox("timestamp column", ["(fixed rate)", *columns])
        time_unit = timing[1].selectbox("timestamp unit", list(TIME_UNITS))
        rate = timing[2].number_input("fixed rate (Hz)", 1.0, 1000.0, 50.0)
        sign = timing[3].selectbox("sign convention", list(SIGNS), help="iOS reports acceleration with the opposite sign")
        if not st.form_submit_button("Import"):
            return None
    timed = time_column != "(fixed rate)"
    return ImportSpec(
        dataset=UPLOAD_DATASET, acc_columns=tuple(acc), gyro_columns=tuple(gyro), acc_unit=acc_unit, gyro_unit=gyro_unit,
        sign=sign, rate_hz=None if timed else float(rate), time_column=time_column if timed else None, time_unit=time_unit,
    )


_NAME_STEMS = {"acc": ("a", "acc", "accel", "accelerometer", "acceleration"), "gyro": ("g", "w", "gyr", "gyro", "gyroscope", "rot")}


def _guess(columns: list[str], kind: str, axis: str, fallback: int) -> int:
    """Index of a column named like ``kind`` + ``axis`` (ax, acc_x, accelX, gyro_z, gz, ...), else a positional guess."""
    for i, column in enumerate(columns):
        letters = re.sub("[^a-z]", "", column.lower())
        if letters.endswith(axis) and letters[:-1] in _NAME_STEMS[kind]:
            return i
    return min(fallback, len(columns) - 1)


def upload_section() -> list[Recording] | None:
    """Format, upload and import; the imported recordings stay in the session until another upload."""
    settings = get_settings()
    fmt = st.radio("Format", list(FORMATS), horizontal=True, key="recognize_format")
    platform = (st.radio("Platform", PLATFORMS, horizontal=True, key="recognize_platform")
                if fmt == SENSOR_LOGGER else PLATFORM_FROM_METADATA)
    uploaded = st.file_uploader(
        f"Recording (up to {settings.data.max_upload_mb:g} MB)", type=FORMATS[fmt], key="recognize_upload"
    )
    if uploaded is None:
        st.session_state.pop(_IMPORT_KEY, None)
        return None
    data = uploaded.getvalue()
    identity = (uploaded.file_id, fmt, platform)
    cached = st.session_state.get(_IMPORT_KEY)
    previous = cached[1] if cached and cached[0] == identity else None
    spec = generic_spec(uploaded.name, data) if fmt == GENERIC else None
    if previous is not None and spec is None:
        return previous
    if fmt == GENERIC and spec is None:
        return None
    with user_errors(f"{uploaded.name} could not be imported"), st.spinner("Importing..."):
        recordings = import_upload(
            fmt, uploaded.name, data, settings.data.max_upload_mb, spec,
            limits=ExpansionLimits.from_settings(settings.data),
            platform=None if platform == PLATFORM_FROM_METADATA else platform,
        )
        st.session_state[_IMPORT_KEY] = (identity, recordings)
        return recordings
    return None


def add_label_form() -> None:
    """Describe a new activity; it joins the label set of this session's recognizer without retraining."""
    with st.form("add_label_form", clear_on_submit=True):
        st.markdown("**Add an activity by description**")
        name = st.text_input("Activity name", placeholder="e.g. brushing teeth")
        text = st.text_area(
            "Description(s), one per line",
            placeholder="Small fast back-and-forth hand movements at 3-5 Hz, body otherwise still, standing.",
        )
        if st.form_submit_button("Add and re-run"):
            descriptions = [line.strip() for line in text.splitlines() if line.strip()]
            if not name.strip() or not descriptions:
                st.warning("Give a name and at least one description.")
                return
            st.session_state.setdefault(_ADDED_KEY, {})[name.strip()] = descriptions
            st.rerun()
    added = st.session_state.get(_ADDED_KEY, {})
    if added:
        st.caption("Added this session: " + ", ".join(added))
        if st.button("Remove added activities", key="recognize_clear_labels"):
            st.session_state[_ADDED_KEY] = {}
            st.rerun()


def show_results(recognizer: Recognizer, recording: Recording) -> None:
    """Segments timeline, the signals with the segments as bands, and the per-window scores."""
    segments, predictions, starts = recognize_recording(recognizer, recording)
    bands = [Band(s.start_s, s.end_s, s.activity) for s in segments]
    st.plotly_chart(segments_figure(bands, title=f"{len(segments)} segments"), key="segments_timeline")
    st.dataframe(
        pd.DataFrame([{"start (s)": s.start_s, "end (s)": s.end_s, "activity": s.activity,
                       "confidence": s.confidence, "windows": s.n_windows} for s in segments]),
        hide_index=True,
    )
    step = max(1, recording.n_samples // MAX_PLOTTED_SAMPLES)
    fig = imu_figure(recording.signals[::step], recording.rate_hz / step, bands=bands, title="Recording with recognised segments")
    st.plotly_chart(fig, key="recording_plot")
    rate = recognizer.preprocessing.rate_hz
    scores = pd.DataFrame(predictions.probabilities, columns=predictions.label_names).round(3)
    scores.insert(0, "prediction", predictions.labels)
    scores.insert(0, "start (s)", np.asarray(starts) / rate)
    with st.expander("Per-window scores (probabilities over the current labels)"):
        st.dataframe(scores, hide_index=True)


def main() -> None:
    st.title("Recognize a recording")
    store = get_store()
    chosen = choose_recognizer(store)
    if chosen is None:
        return
    _, directory = chosen
    with user_errors("The recognizer could not be loaded"):
        recognizer = load_recognizer(directory)
        st.sidebar.caption("Labels: " + ", ".join(recognizer.label_names))
        with st.sidebar:
            add_label_form()
        recordings = upload_section()
        if not recordings:
            return
        recording = recordings[0]
        if len(recordings) > 1:
            index = st.selectbox("Recording", range(len(recordings)),
                                 format_func=lambda i: f"{recordings[i].key} ({recordings[i].duration_s:.0f} s)")
            recording = recordings[index]
        st.caption(f"{recording.key}: {recording.duration_s:.1f} s at {recording.rate_hz:g} Hz, channels {', '.join(CHANNELS)}")
        show_results(recognizer, recording)


main()
