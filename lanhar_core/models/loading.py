"""Models as the store records them: the text encoder of a stage-1 run, with the store's embedding cache.

Kept out of ``text_encoder`` so that the encoder itself does not depend on the store
(the layer rule, ``tests/test_layers.py``).
"""

from __future__ import annotations

from lanhar_core.config import Settings
from lanhar_core.errors import ModelError
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
