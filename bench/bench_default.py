"""Measure the shipped default recognizer on full recordings of subjects it never saw.

For every dataset of the build, the held-out subjects' recordings are read with the
dataset's reader at their native rate (whole recordings, not stored windows) and
recognised as a user's upload would be: resampling, windows, prediction, smoothing. Each
recording is scored as it is ("native"), and after a round trip through the Sensor Logger
(Android: TotalAcceleration.csv, Gyroscope.csv, Metadata.csv, ns timestamps) and phyphox
("Acceleration with g" and gyroscope CSVs, seconds) export layouts and their importers,
with the labels carried over by time. Labels offered: the dataset's own activities.
Also timed, for a 10-minute Sensor Logger export: upload bytes to segments in the library,
and upload to rendered timeline on the Recognize page (headless ``AppTest`` on a fresh data
directory; its first run, which ingests the sample, is not timed). Writes
``measurements.json`` beside the artifact and re-renders MODEL_CARD.md. Run from the
repository root, single-threaded:

    OMP_NUM_THREADS=1 PYTHONPATH=. .venv/bin/python bench/bench_default.py [--data ../shared/data] [--max-recordings 40]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import tempfile
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from app.components.uploads import PHYPHOX, SENSOR_LOGGER, import_upload
from lanhar_core.config import DataSettings, SensorEncoderSettings
from lanhar_core.data import registry
from lanhar_core.data.types import Recording
from lanhar_core.errors import InsufficientDataError, RecordingTooShortError
from lanhar_core.eval.recording import score_recording
from lanhar_core.models import shipped
from lanhar_core.models.choice import keep_labels
from lanhar_core.models.model_card import MEASUREMENTS_FILE, rewrite_card
from lanhar_core.models.recognizer import Recognizer
from lanhar_core.models.streaming import recognize_recording
from lanhar_core.vocab import EXCLUDED_LABELS

T0_NS = 1_700_000_000_000_000_000
LAYOUTS = ("native", "sensorlogger", "phyphox")


def sensorlogger_zip(recording: Recording) -> bytes:
    """An Android Sensor Logger export of a recording (total acceleration with gravity, rad/s, ns clock)."""
    t_ns = T0_NS + np.round(np.arange(recording.n_samples) * 1e9 / recording.rate_hz).astype(np.int64)
    elapsed = (t_ns - T0_NS) / 1e9
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, block in (("TotalAcceleration.csv", recording.signals[:, :3]), ("Gyroscope.csv", recording.signals[:, 3:])):
            table = pd.DataFrame({"time": t_ns, "seconds_elapsed": elapsed, "z": block[:, 2], "y": block[:, 1], "x": block[:, 0]})
            archive.writestr(name, table.to_csv(index=False))
        archive.writestr("Metadata.csv", "version,device name,platform\n1.0,bench,android\n")
    return buffer.getvalue()


def phyphox_zip(recording: Recording) -> bytes:
    """A phyphox export ("Acceleration with g" + gyroscope) of a recording, seconds since start."""
    t = np.arange(recording.n_samples) / recording.rate_hz
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, header, block in (("Accelerometer.csv", "Acceleration {} (m/s^2)", recording.signals[:, :3]),
                                    ("Gyroscope.csv", "Gyroscope {} (rad/s)", recording.signals[:, 3:])):
            table = pd.DataFrame({"Time (s)": t, **{header.format(a): block[:, i] for i, a in enumerate("xyz")}})
            archive.writestr(name, table.to_csv(index=False))
    return buffer.getvalue()


def round_trip(recording: Recording, layout: str) -> list[Recording]:
    """The recording exported in ``layout`` and imported back, with its labels carried over by time."""
    if layout == "native":
        return [recording]
    fmt, data = (SENSOR_LOGGER, sensorlogger_zip(recording)) if layout == "sensorlogger" else (PHYPHOX, phyphox_zip(recording))
    imported = import_upload(fmt, f"{layout}.zip", data, DataSettings().max_upload_mb, placement=recording.placement)
    for part in imported:
        start = float(part.meta.get("start_s", 0.0)) if part.meta else 0.0
        index = np.clip(np.round((start + np.arange(part.n_samples) / part.rate_hz) * recording.rate_hz).astype(int),
                        0, recording.n_samples - 1)
        part.labels = recording.labels[index]
        part.native_labels = recording.native_labels[index]
    return imported


def dataset_recognizer(dataset: str) -> Recognizer:
    """The shipped recognizer offering only the dataset's own activities."""
    recognizer = shipped.load_shipped()
    labels = {v for v in registry.info(dataset).label_map.values() if v and v not in EXCLUDED_LABELS}
    return keep_labels(recognizer, sorted(labels & set(recognizer.label_names)))


def measure(data_root: Path, max_recordings: int) -> dict:
    meta = shipped.load_meta()
    cfg = SensorEncoderSettings()
    rows = []
    for part in meta["datasets"]:
        name = part["name"]
        options = {"placements": [part["placement"]]} if name == "dsads" else {}
        recordings = list(registry.get(name).read(data_root / name, subjects=part["held_out_subjects"], **options))
        recordings = [r for r in recordings if any(lab is not None and lab not in EXCLUDED_LABELS for lab in r.labels)]
        picked = [recordings[i] for i in np.unique(np.linspace(0, len(recordings) - 1, min(max_recordings, len(recordings))).astype(int))]
        recognizer = dataset_recognizer(name)
        for layout in LAYOUTS:
            correct_w = total_w = 0
            correct_s = total_s = 0.0
            n_recordings = 0
            for original in picked:
                for recording in round_trip(original, layout):
                    try:
                        segments, predictions, starts = recognize_recording(recognizer, recording, cfg.smooth_windows,
                                                                            cfg.min_segment_s)
                        scored = score_recording(recording, recognizer.preprocessing, segments, predictions, starts)
                    except (RecordingTooShortError, InsufficientDataError) as exc:
                        print(f"skip {name} {recording.key} ({layout}): {exc}")
                        continue
                    n_recordings += 1
                    correct_w += int(round(scored.window_accuracy * scored.windows.n)) if scored.windows.n else 0
                    total_w += scored.windows.n
                    correct_s += scored.segment_accuracy * scored.labelled_s
                    total_s += scored.labelled_s
            row = {"dataset": part["spec"], "layout": layout, "recordings": n_recordings, "windows": total_w,
                   "window_accuracy": correct_w / total_w if total_w else float("nan"),
                   "segment_accuracy": correct_s / total_s if total_s else float("nan")}
            print(row, flush=True)
            rows.append(row)
    return {"rows": rows, "timing": timing(data_root, meta, shipped.load_shipped())}


def timing(data_root: Path, meta: dict, recognizer: Recognizer, minutes: float = 10.0) -> dict:
    """Upload bytes of a 10-minute Sensor Logger export to segments (import + recognition + smoothing)."""
    part = meta["datasets"][0]
    recordings = list(registry.get(part["name"]).read(data_root / part["name"], subjects=part["held_out_subjects"]))
    signals = np.concatenate([r.signals for r in recordings])
    rate = recordings[0].rate_hz
    n = int(minutes * 60 * rate)
    signals = np.resize(signals, (n, signals.shape[1])) if len(signals) < n else signals[:n]
    none = np.full(n, None, dtype=object)
    long = Recording(part["name"], "ten-minutes", "bench", signals, rate, none, none.copy(), placement=part["placement"])
    data = sensorlogger_zip(long)
    cfg = SensorEncoderSettings()
    started = time.perf_counter()
    for imported in import_upload(SENSOR_LOGGER, "ten-minutes.zip", data, DataSettings().max_upload_mb):
        recognize_recording(recognizer, imported, cfg.smooth_windows, cfg.min_segment_s)
    seconds = time.perf_counter() - started
    page = page_seconds(data)
    machine = f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch thread(s)"
    return {"duration_s": minutes * 60, "layout": f"Sensor Logger zip, {len(data) / 1e6:.1f} MB at {rate:g} Hz",
            "seconds": seconds, "page_seconds": page, "machine": machine}


def page_seconds(data: bytes) -> float:
    """Seconds from handing the Recognize page a Sensor Logger upload to its rendered timeline."""
    from streamlit.testing.v1 import AppTest

    main = Path(__file__).resolve().parents[1] / "app" / "main.py"
    previous = os.environ.get("LANHAR_HOME")
    with tempfile.TemporaryDirectory(prefix="lanhar-bench-") as home:
        os.environ["LANHAR_HOME"] = home
        try:
            AppTest.from_file(str(main), default_timeout=900).run()
            at = AppTest.from_file(str(main), default_timeout=600).switch_page("../pages/recognize.py").run()
            at.radio(key="recognize_format").set_value(SENSOR_LOGGER).run()
            started = time.perf_counter()
            at.file_uploader(key="recognize_upload").set_value(("ten-minutes.zip", data, "application/zip")).run()
            elapsed = time.perf_counter() - started
            if at.exception or at.error or not any("segments_timeline" in e.proto.id for e in at.get("plotly_chart")):
                raise SystemExit(f"the Recognize page did not show a timeline: {[e.value for e in at.error]}")
            return elapsed
        finally:
            if previous is None:
                os.environ.pop("LANHAR_HOME", None)
            else:
                os.environ["LANHAR_HOME"] = previous


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parents[2] / "shared" / "data"
    parser.add_argument("--data", type=Path, default=default, help="folder holding the build's datasets")
    parser.add_argument("--max-recordings", type=int, default=40, help="recordings per dataset (spread over the held-out ones)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message="A single label was found")  # sklearn, on one-activity recordings
    results = measure(args.data, args.max_recordings)
    results["command"] = f"OMP_NUM_THREADS=1 python bench/bench_default.py --max-recordings {args.max_recordings}"
    (shipped.SHIPPED_DIR / MEASUREMENTS_FILE).write_text(json.dumps(results, indent=2), encoding="utf-8")
    rewrite_card(shipped.SHIPPED_DIR, shipped.load_meta())
    print(f"wrote {shipped.SHIPPED_DIR / MEASUREMENTS_FILE} and the model card")


if __name__ == "__main__":
    main()
