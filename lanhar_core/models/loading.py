"""Loading saved models: a stage-1 run's text encoder with the store's embedding cache, a run's
own settings for resuming it, and recognizers with every way a file can be damaged turned into a ``ModelError``.

Kept out of ``text_encoder`` so that the encoder itself does not depend on the store
(the layer rule, ``tests/test_layers.py``). A recognizer directory can be truncated by a
full disk, overwritten by another program or copied from an older version; the libraries
then raise whatever their parser hits first (``PytorchStreamReader failed``,
``JSONDecodeError``, ``EOFError``, a ``TypeError`` for a config key this code does not
know). Users get one message naming the directory and what to do instead of a traceback.
Weights are loaded with ``weights_only=True`` by the loaders themselves, so no file here
can run code.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from lanhar_core.config import Settings
from lanhar_core.errors import ModelError
from lanhar_core.models.damage import MODEL_FILE_ERRORS, damaged_model_error
from lanhar_core.models.recognizer import Recognizer
from lanhar_core.models.text_encoder import TextEncoder
from lanhar_core.runtime import select_device
from storage import runs as run_store
from storage.db import Store
from storage.embedding_cache import StoreEmbeddingCache


def load_text_encoder(settings: Settings, store: Store | None = None, run_id: int | None = None) -> TextEncoder:
    """The encoder of stage-1 run ``run_id`` (else the configured pre-trained one), cached in ``store``.

    With a store, embeddings go through its ``embedding_cache`` table, so evaluation and
    stage 2 never encode a text twice with the same weights. It runs on ``[runtime] device``.
    """
    cache = StoreEmbeddingCache(store) if store is not None else None
    device = select_device(settings.runtime)
    if run_id is None:
        cfg = settings.text_encoder
        return TextEncoder.load(
            cfg.path or None, max_length=cfg.max_length, chunk_stride=cfg.chunk_stride, cache=cache, device=device
        )
    if store is None:
        raise ModelError("loading the encoder of a training run needs the store that recorded the run")
    found = run_store.artifacts(store, run_id)
    if "text_encoder" not in found:
        raise ModelError(f"run {run_id} has no text_encoder artifact; is it a finished stage-1 (`lanhar train text`) run?")
    return TextEncoder.load(found["text_encoder"], cache=cache, device=device)


def open_recognizer(directory: str | Path, device: torch.device | None = None) -> Recognizer:
    """``Recognizer.load`` (on ``device``, default CPU) with damaged files reported as a ``ModelError``."""
    try:
        return Recognizer.load(directory) if device is None else Recognizer.load(directory, device)
    except MODEL_FILE_ERRORS as exc:
        raise damaged_model_error(directory, exc) from exc


_RUN_SECTIONS = {"text": ("text_encoder", "data"), "sensor": ("sensor_encoder", "data")}


def resume_settings(store: Store, settings: Settings, run_id: int) -> Settings:
    """``settings`` with the sections a run stored (its epochs, batch size, learning rates, window size...).

    A resumed run must continue the run it was, not one with today's configuration: a run
    started with 300 epochs and resumed with a default of 90 would otherwise stop early.
    A stage-1 run stores its ``text_encoder`` section flat, a stage-2 run stores named
    sections. Fields the run predates keep today's values; fields today's code no longer
    has are ignored.
    """
    record = run_store.get_run(store, run_id)
    config = record.config
    for section in _RUN_SECTIONS.get(record.kind, ()):
        stored = config.get(section)
        if stored is None and record.kind == "text" and section == "text_encoder":
            stored = config
        if not isinstance(stored, dict):
            continue
        current = getattr(settings, section)
        known = {f.name for f in dataclasses.fields(current)}
        values = {k: v for k, v in stored.items() if k in known}
        settings = dataclasses.replace(settings, **{section: dataclasses.replace(current, **values)})
    return settings
