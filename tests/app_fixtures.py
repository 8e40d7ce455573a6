"""Store contents the app tests (AppTest and real-browser) share: an untrained recognizer and a phone recording."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from lanhar_core.config import load_settings
from lanhar_core.models.recognizer import Preprocessing, Recognizer
from lanhar_core.models.sensor_encoder import create_sensor_encoder
from lanhar_core.models.train_sensor import KIND as SENSOR_KIND
from lanhar_core.models.train_sensor import RECOGNIZER_ARTIFACT
from storage import runs as run_store
from storage.db import Store

DATASET = "sample_hapt"


def register_recognizer(store: Store, home: Path) -> None:
    """An untrained recognizer saved like stage 2 saves one: enough to drive the page."""
    settings = load_settings(home)
    encoder = create_sensor_encoder(settings.sensor_encoder.preset, 16, settings.data.window_samples)
    recognizer = Recognizer(encoder, Preprocessing.from_settings(settings), temperature=0.1)
    rng = np.random.default_rng(0)
    for name in ("walk", "sit"):
        recognizer.set_label(name, rng.normal(size=16), [f"{name} description"])
    directory = recognizer.save(home / "models" / "test-recognizer")
    run_id = run_store.create_run(store, SENSOR_KIND, {}, 0, {"sources": [DATASET]}, "test")
    run_store.add_artifact(store, run_id, RECOGNIZER_ARTIFACT, directory)
    run_store.finish_run(store, run_id, "finished", 0.0)


def phone_csv(rate_hz: float = 50.0, seconds: float = 30.0) -> bytes:
    """A 30 s walking-like phone recording as a generic CSV (time, ax..gz)."""
    t = np.arange(int(rate_hz * seconds)) / rate_hz
    table = pd.DataFrame(
        {"time": t, "ax": 0.1 * np.sin(t), "ay": 0.0, "az": 9.81 + 2 * np.sin(2 * np.pi * 1.8 * t),
         "gx": 0.4 * np.sin(2 * np.pi * 1.8 * t), "gy": 0.0, "gz": 0.0}
    )
    return table.to_csv(index=False).encode()
