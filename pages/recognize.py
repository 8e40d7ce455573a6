"""Live recognition on a recording uploaded from a phone, with activities added by description.

Anyone can demo the recognizer here, on a fresh machine too: without a trained model the
default recognizer shipped with the package is used. Upload a Sensor Logger or phyphox
export or any CSV (columns, units, clock and rate are guessed from the numbers and shown
for correction), or press "try an example"; see the recording cut into activity segments,
and, when the file carries labels, truth against prediction. Describe a new activity in
words and it is recognised without retraining. Nothing is written to the store.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from app.components.context import get_settings, get_store
from app.components.errors import user_errors
from app.components.filters import option_index
from app.components.plots import Band, imu_figure, segments_figure
from app.components.uploads import (
    FORMATS,
    GENERIC,
    PLATFORM_FROM_METADATA,
    PLATFORMS,
    SENSOR_LOGGER,
    UPLOAD_DATASET,
    import_upload,
    read_table_head,
    table_columns,
)
from lanhar_core.data.importers.archive import ExpansionLimits
from lanhar_core.data.importers.checks import ACC_UNITS, GYRO_UNITS, SIGNS, TIME_UNITS
from lanhar_core.data.importers.generic import ImportSpec
from lanhar_core.data.importers.guess import TableGuess, guess_table
from lanhar_core.data.sample import example_path
from lanhar_core.data.types import CHANNELS, Recording
from lanhar_core.errors import DataFormatError, LanharError
from lanhar_core.eval.recording import score_recording
from lanhar_core.models.choice import ModelChoice, available_models, keep_labels
from lanhar_core.models.recognizer import Recognizer
from lanhar_core.models.shipped import available, load_meta, text_encoder_for
from lanhar_core.models.streaming import NO_UPRIGHT_REFERENCE, recognize_recording, segments_frame
from lanhar_core.models.text_path import TEXT_PATH_NEEDS_PLACEMENT, reader_for, uncalibrated_note
from storage.embedding_cache import StoreEmbeddingCache

MAX_PLOTTED_SAMPLES = 20_000  # longer recordings are thinned for the plot only; recognition uses every sample
GUESS_ROWS = 5000  # rows read to guess units and rate; enough for a stable median at any phone rate
PLACEMENTS = ("(not set)", "waist", "pocket", "hip", "torso", "wrist", "hand", "arm", "bag", "other")
_ADDED_KEY = "recognize_added_labels"
_IMPORT_KEY = "recognize_import"
_EXAMPLE_KEY = "recognize_example"
_PLACEMENT_KEY = "recognize_placement"
EXAMPLE_PLACEMENT = "waist"  # HAPT's phone was worn on the waist
_NO_TIME = "(fixed rate)"
_NO_LABEL = "(none)"


def choose_model() -> ModelChoice | None:
    """The model selector: trained stage-2 runs (newest first), then the shipped default."""
    available = available_models(get_store())
    if not available:
        st.info(
            "No recognizer yet: this checkout has no default recognizer (`lanhar models build-default`) and the "
            "store has no trained one (Training page, or `lanhar train sensor --source hapt`)."
        )
        return None
    by_key = {c.key: c for c in available}
    key = st.sidebar.selectbox("Recognizer", list(by_key), format_func=lambda k: by_key[k].title, key="recognize_model")
    return by_key[key]


@st.cache_resource(show_spinner="Loading the text encoder...")
def _text_encoder(reference: str, db_path: str):
    """The text encoder a recognizer was trained against, once per process (for labels added by description)."""
    return text_encoder_for(reference, StoreEmbeddingCache(get_store()))


def label_set(choice: ModelChoice, recognizer: Recognizer, placement: str) -> list[str]:
    """The labels to recognise: by default what the model was trained on (at ``placement`` when it covers it);
    the other described labels can be switched on."""
    trained = [n for n in choice.default_labels(placement) if n in recognizer.label_names] or list(recognizer.label_names)
    return st.sidebar.multiselect(
        "Labels", recognizer.label_names, default=trained, key=f"recognize_labels_{choice.key}_{placement}",
        help="Default: the activities this model was trained on (at the chosen placement, if it was trained there). "
             "The others are only described in words.",
    )


def load_recognizer(choice: ModelChoice, placement: str) -> Recognizer:
    """A fresh copy per rerun, narrowed to the chosen labels, plus the labels this session added by description."""
    recognizer = choice.load()
    keep_labels(recognizer, label_set(choice, recognizer, placement))
    added: dict[str, list[str]] = st.session_state.get(_ADDED_KEY, {})
    if added:
        encoder = _text_encoder(recognizer.text_encoder_ref, str(get_store().path))
        for name, descriptions in added.items():
            recognizer.add_label(name, descriptions, encoder)
    return recognizer


def _guessed(label: str, value: object, reason: str) -> str:
    return f"**{label}: {value}** (guessed, change if wrong: {reason})"


def guessed_spec(guess: TableGuess, placement: str) -> ImportSpec | None:
    """The spec the guesses alone give, or ``None`` when they are not enough (columns not found)."""
    if guess.acc_columns is None or guess.gyro_columns is None or (guess.time_column is None and guess.rate_hz.value is None):
        return None
    return ImportSpec(
        dataset=UPLOAD_DATASET, acc_columns=guess.acc_columns, gyro_columns=guess.gyro_columns,
        acc_unit=str(guess.acc_unit.value), gyro_unit=str(guess.gyro_unit.value), time_column=guess.time_column,
        time_unit=str(guess.time_unit.value), label_column=guess.label_column, allow_new_labels=True, placement=placement,
        rate_hz=None if guess.time_column else float(guess.rate_hz.value),  # type: ignore[arg-type]
    )


def generic_spec(name: str, data: bytes, placement: str) -> ImportSpec | None:
    """The column-mapping form of a generic table, filled with guesses; ``None`` until it is submitted."""
    columns = table_columns(name, data)
    if len(columns) < 6:
        st.error(f"{name}: found {len(columns)} column(s) ({', '.join(columns)}); a recording needs at least 6 (acc xyz, gyro xyz).")
        return None
    guess = guess_table(read_table_head(name, data, GUESS_ROWS))
    acc_guess = guess.acc_columns or tuple(columns[1:4])
    gyro_guess = guess.gyro_columns or tuple(columns[4:7])
    with st.form("mapping_form"):
        st.markdown("**Column mapping**")
        acc_cols, gyro_cols = st.columns(4), st.columns(4)
        acc = [acc_cols[i].selectbox(f"acc {a}", columns, index=option_index(columns, acc_guess[i], i + 1)) for i, a in enumerate("xyz")]
        acc_unit = acc_cols[3].selectbox("acc unit", list(ACC_UNITS), index=option_index(list(ACC_UNITS), guess.acc_unit.value))
        gyro = [gyro_cols[i].selectbox(f"gyro {a}", columns, index=option_index(columns, gyro_guess[i], i + 4)) for i, a in enumerate("xyz")]
        gyro_unit = gyro_cols[3].selectbox("gyro unit", list(GYRO_UNITS), index=option_index(list(GYRO_UNITS), guess.gyro_unit.value))
        timing = st.columns(5)
        time_options = [_NO_TIME, *columns]
        time_column = timing[0].selectbox("timestamp column", time_options, index=option_index(time_options, guess.time_column))
        time_unit = timing[1].selectbox("timestamp unit", list(TIME_UNITS), index=option_index(list(TIME_UNITS), guess.time_unit.value))
        rate = timing[2].number_input("fixed rate (Hz)", 1.0, 1000.0, 50.0)
        sign = timing[3].selectbox("sign convention", list(SIGNS), help="iOS reports acceleration with the opposite sign")
        label_options = [_NO_LABEL, *columns]
        label_column = timing[4].selectbox("label column", label_options, index=option_index(label_options, guess.label_column),
                                           help="Activity per row: the page then shows truth against prediction")
        st.caption("  \n".join([
            _guessed("acc unit", guess.acc_unit.value, guess.acc_unit.reason),
            _guessed("gyro unit", guess.gyro_unit.value, guess.gyro_unit.reason),
            _guessed("timestamp unit", guess.time_unit.value, guess.time_unit.reason),
            _guessed("sampling rate", f"{guess.rate_hz.value} Hz" if guess.rate_hz.value else "unknown", guess.rate_hz.reason),
            *guess.notes,
        ]))
        if not st.form_submit_button("Import"):
            return None
    timed = time_column != _NO_TIME
    return ImportSpec(
        dataset=UPLOAD_DATASET, acc_columns=tuple(acc), gyro_columns=tuple(gyro), acc_unit=acc_unit, gyro_unit=gyro_unit,
        sign=sign, rate_hz=None if timed else float(rate), time_column=time_column if timed else None, time_unit=time_unit,
        label_column=None if label_column == _NO_LABEL else label_column, allow_new_labels=True, placement=placement,
    )


def example_recordings(placement: str) -> list[Recording]:
    """The shipped example (a phone-style CSV), imported with the guessed settings like any upload."""
    path = example_path()
    data = path.read_bytes()
    guess = guess_table(read_table_head(path.name, data, GUESS_ROWS))
    spec = guessed_spec(guess, placement)
    held_out = available() and any(d["name"] == "hapt" and "2" in d["held_out_subjects"] for d in load_meta()["datasets"])
    st.caption(
        f"Example: {path.name}, HAPT subject 2 (waist-worn phone"
        + ("; not in the shipped default recognizer's training data" if held_out else "")
        + "), exported like a phone logger app. "
        + "; ".join(_guessed(k, g.value, g.reason) for k, g in
                    (("acc unit", guess.acc_unit), ("gyro unit", guess.gyro_unit), ("timestamp unit", guess.time_unit)))
    )
    if spec is None:
        raise DataFormatError(f"the example {path.name} has columns the guesser does not recognise; rebuild it (bench/build_sample.py)")
    return import_upload(GENERIC, path.name, data, get_settings().data.max_upload_mb, spec)


def _start_example() -> None:
    """Button callback (runs before the rerun, so it may still set the placement widget)."""
    st.session_state[_EXAMPLE_KEY] = True
    st.session_state[_PLACEMENT_KEY] = EXAMPLE_PLACEMENT


def upload_section(placement: str) -> list[Recording] | None:
    """Example button, format, upload and import; the imported recordings stay in the session until another upload."""
    settings = get_settings()
    st.button("Try an example", key="recognize_try_example", on_click=_start_example,
              help="A real recording with its labels (a waist-worn phone), shipped with the sample")
    fmt = st.radio("Format", list(FORMATS), horizontal=True, key="recognize_format")
    platform = (st.radio("Platform", PLATFORMS, horizontal=True, key="recognize_platform")
                if fmt == SENSOR_LOGGER else PLATFORM_FROM_METADATA)
    uploaded = st.file_uploader(
        f"Recording (up to {settings.data.max_upload_mb:g} MB)", type=FORMATS[fmt], key="recognize_upload"
    )
    if uploaded is None:
        st.session_state.pop(_IMPORT_KEY, None)
        if st.session_state.get(_EXAMPLE_KEY):
            with user_errors("The example could not be imported"):
                return example_recordings(placement)
        return None
    st.session_state[_EXAMPLE_KEY] = False
    data = uploaded.getvalue()
    identity = (uploaded.file_id, fmt, platform, placement)
    cached = st.session_state.get(_IMPORT_KEY)
    previous = cached[1] if cached and cached[0] == identity else None
    spec = generic_spec(uploaded.name, data, placement) if fmt == GENERIC else None
    if previous is not None and spec is None:
        return previous
    if fmt == GENERIC and spec is None:
        return None
    with user_errors(f"{uploaded.name} could not be imported"), st.spinner("Importing..."):
        recordings = import_upload(
            fmt, uploaded.name, data, settings.data.max_upload_mb, spec,
            limits=ExpansionLimits.from_settings(settings.data),
            platform=None if platform == PLATFORM_FROM_METADATA else platform, placement=placement,
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


def show_truth(recognizer: Recognizer, recording: Recording, segments, predictions, starts) -> list[Band] | None:
    """Accuracy, per-class recall and the confusion matrix of a labelled recording; the truth bands for the timeline."""
    if not any(label is not None for label in recording.labels):
        return None
    result = score_recording(recording, recognizer.preprocessing, segments, predictions, starts)
    cols = st.columns(3)
    cols[0].metric("Window accuracy", f"{result.window_accuracy:.0%}", help="Share of windows predicted right, before smoothing")
    cols[1].metric("Segment accuracy", f"{result.segment_accuracy:.0%}", help="Share of labelled time the timeline gets right")
    cols[2].metric("Labelled time", f"{result.labelled_s:.0f} s")
    missing = sorted(set(result.recall) - set(recognizer.label_names))
    if missing:
        st.warning(f"Labels in the file that the recognizer does not offer: {', '.join(missing)} (switch them on or add them).")
    left, right = st.columns(2)
    left.markdown("**Per-class recall**")
    left.dataframe(pd.DataFrame({"activity": list(result.recall), "recall": list(result.recall.values())}).round(3),
                   hide_index=True)
    scores = result.windows
    right.markdown("**Confusion matrix** (rows: truth, columns: prediction; windows)")
    right.dataframe(pd.DataFrame(scores.confusion, index=list(scores.labels), columns=list(scores.labels)))
    return [Band(b.start_s, b.end_s, b.label) for b in result.truth]


_PATHS = {"sensor": "Sensor encoder", "text": "Interpretations (text path)"}


def choose_path() -> str:
    return st.sidebar.radio(
        "Read windows through", list(_PATHS), format_func=_PATHS.get, key="recognize_path",
        help="Sensor encoder: the model's stage-2 network (fast; best on devices like those it was trained on). "
             "Interpretations: the rules writer describes each window and the model's text encoder matches the "
             "description to the labels (better on a phone or placement the model never saw; needs the placement).",
    )


def show_results(recognizer: Recognizer, recording: Recording, path: str) -> None:
    """Segments timeline (with truth when labelled), the segments table and CSV, the signals and per-window scores."""
    settings = get_settings()
    cfg = settings.sensor_encoder
    reader = None
    if path == "text":
        reader = reader_for(settings, recognizer,
                            _text_encoder(recognizer.text_encoder_ref or settings.text_encoder.path, str(get_store().path)))
        if not recording.placement:
            st.warning(TEXT_PATH_NEEDS_PLACEMENT.replace("--placement", "the placement in the sidebar"))
        if uncalibrated_note(recognizer):
            st.warning(uncalibrated_note(recognizer).capitalize())
    segments, predictions, starts = recognize_recording(recognizer, recording, cfg.smooth_windows, cfg.min_segment_s,
                                                        reader=reader)
    if predictions.upright_known is False:
        st.warning(NO_UPRIGHT_REFERENCE.capitalize(), icon=":material/accessibility_new:")
    bands = [Band(s.start_s, s.end_s, s.activity) for s in segments]
    truth = show_truth(recognizer, recording, segments, predictions, starts)
    title = f"{len(segments)} segments" + (": truth against prediction" if truth is not None else "")
    st.plotly_chart(segments_figure(bands, title=title, truth=truth), key="segments_timeline")
    table = segments_frame(segments)
    st.dataframe(
        table.rename(columns={"start_s": "start (s)", "end_s": "end (s)", "n_windows": "windows"}),
        hide_index=True,
    )
    table.insert(0, "recording", recording.key)
    st.download_button("Download segments (CSV)", table.to_csv(index=False), file_name=f"{recording.key.replace('/', '_')}_segments.csv",
                       mime="text/csv", key="recognize_download")
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
    choice = choose_model()
    if choice is None:
        return
    placement = st.sidebar.selectbox("Placement", PLACEMENTS, key=_PLACEMENT_KEY,
                                     help="Where the phone was worn; checked against the placements the model was trained on")
    placement = "" if placement == PLACEMENTS[0] else placement
    note = choice.placement_note(placement)
    if note:
        st.sidebar.warning(note)
    try:
        recognizer = load_recognizer(choice, placement)
    except LanharError as exc:
        st.error(f"The recognizer could not be loaded: {exc}")
        return
    with st.sidebar:
        add_label_form()
    if not recognizer.label_names:
        st.warning("Choose at least one label in the sidebar (or add one by description).")
        return
    path = choose_path()
    recordings = upload_section(placement)
    if not recordings:
        return
    recording = recordings[0]
    if len(recordings) > 1:
        index = st.selectbox("Recording", range(len(recordings)),
                             format_func=lambda i: f"{recordings[i].key} ({recordings[i].duration_s:.0f} s)")
        recording = recordings[index]
    st.caption(f"{recording.key}: {recording.n_samples} rows, {recording.duration_s:.1f} s at {recording.rate_hz:g} Hz, "
               f"channels {', '.join(CHANNELS)}; model: {choice.title}")
    with user_errors(f"{recording.key} could not be recognised"):
        show_results(recognizer, recording, path)


main()
