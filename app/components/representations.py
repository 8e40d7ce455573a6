"""Windows as vectors, for the embeddings and KL views: raw signals, features or text embeddings.

Sampling happens before anything expensive (feature extraction, text encoding at ~15
texts/s on a laptop CPU), a fixed number of windows per dataset with a fixed seed, so a
student's plot is reproducible and the first one arrives in seconds. Text embeddings go
through the store's embedding cache, so a text is never encoded twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from app.components.context import get_settings
from lanhar_core.errors import ModelError
from lanhar_core.jobs import Progress
from lanhar_core.models.loading import load_text_encoder
from lanhar_core.models.recognizer import Recognizer
from lanhar_core.models.text_encoder import TextEncoder
from lanhar_core.signal.features import FEATURE_KEYS, window_features
from storage import datasets as data_store
from storage import interpretations as interp_store
from storage.db import Store
from storage.embedding_cache import StoreEmbeddingCache

RAW, FEATURES, TEXT = "Raw windows", "Signal features", "Interpretation text embeddings"
SENSOR = "Sensor encoder embeddings"
REPRESENTATIONS = (TEXT, RAW, FEATURES, SENSOR)


@dataclass(frozen=True)
class Vectors:
    """One row per window: its id, dataset, activity and vector."""

    ids: np.ndarray
    datasets: np.ndarray
    labels: np.ndarray
    matrix: np.ndarray

    def by_label(self, dataset: str) -> dict[str, np.ndarray]:
        """The rows of one dataset grouped by activity (what ``relative_kl_table`` takes)."""
        mine = self.datasets == dataset
        return {str(label): self.matrix[mine & (self.labels == label)] for label in np.unique(self.labels[mine])}


def _sample(frame: pd.DataFrame, per_dataset: int, seed: int) -> pd.DataFrame:
    """At most ``per_dataset`` random rows of each dataset (seeded)."""
    return frame.sample(frac=1.0, random_state=seed).groupby("dataset").head(per_dataset)


@st.cache_resource(show_spinner="Loading the text encoder...")
def text_encoder(run_id: int | None, db_path: str, _store: Store) -> TextEncoder:
    """The encoder of stage-1 run ``run_id`` (``None``: the configured pre-trained one), loaded once per process."""
    return load_text_encoder(get_settings(), _store, run_id)


@st.cache_resource(show_spinner="Loading the text encoder...")
def text_encoder_at(path: str, db_path: str, _store: Store) -> TextEncoder:
    """The encoder saved at ``path`` (``""``: the packaged MiniLM), e.g. the one a recognizer was trained against."""
    return TextEncoder.load(path or None, cache=StoreEmbeddingCache(_store))


def window_vectors(
    store: Store,
    representation: str,
    datasets: Sequence[str],
    labels: Sequence[str],
    per_dataset: int,
    collection: str | None = None,
    progress: Progress | None = None,
    encoder_run: int | None = None,
    recognizer_dir: str | None = None,
) -> Vectors:
    """Labelled windows of ``datasets`` restricted to ``labels``, sampled, as vectors of ``representation``.

    Text embeddings come from stage-1 run ``encoder_run``, or the pre-trained encoder when ``None``;
    sensor embeddings from the recognizer saved in ``recognizer_dir`` (a stage-2 run's).
    """
    seed = get_settings().quality.seed
    if representation == TEXT:
        encoder = text_encoder(encoder_run, str(store.path), store)
        return _text_vectors(store, encoder, collection or "", datasets, labels, per_dataset, seed, progress)
    frames = []
    for dataset in datasets:
        windows = data_store.load_windows(store, dataset=dataset, labels=list(labels))
        frames.append(pd.DataFrame({"id": windows.ids, "dataset": windows.datasets, "label": windows.labels}))
    chosen = _sample(pd.concat(frames, ignore_index=True), per_dataset, seed)
    windows = data_store.load_windows(store, ids=chosen["id"].tolist())
    if representation == SENSOR:
        if not recognizer_dir:
            raise ModelError("the sensor-encoder map needs a finished stage-2 run; train one on the Training page")
        matrix = Recognizer.load(recognizer_dir).embed(windows.signals.copy())  # torch wants a writable array
    elif representation == RAW:
        matrix = windows.signals.reshape(len(windows), -1)
    else:
        rows = [window_features(w, windows.rate_hz) for w in windows.signals]
        matrix = np.array([[row[k] for k in FEATURE_KEYS] for row in rows], dtype=np.float32)
    return Vectors(windows.ids, windows.datasets.astype(str), windows.labels.astype(str), matrix)


def _text_vectors(
    store: Store,
    encoder: TextEncoder,
    collection: str,
    datasets: Sequence[str],
    labels: Sequence[str],
    per_dataset: int,
    seed: int,
    progress: Progress | None,
) -> Vectors:
    rows = pd.concat([interp_store.current_window_interpretations(store, collection, d) for d in datasets])
    rows = _sample(rows[rows["label"].isin(labels)], per_dataset, seed)
    matrix = encoder.encode(rows["text"].tolist(), progress=progress)
    return Vectors(
        rows["window_id"].to_numpy(), rows["dataset"].to_numpy(str), rows["label"].to_numpy(str), matrix
    )
