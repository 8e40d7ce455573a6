"""TextEncoder: loading the packaged MiniLM offline, pooling, chunking, the embedding cache, save/load."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from lanhar_core.errors import ModelError
from lanhar_core.models.text_encoder import TextEncoder
from storage.db import Store
from storage.embedding_cache import StoreEmbeddingCache

LONG = " ".join(["the vertical acceleration rises and falls with every step of the walk"] * 8)


@pytest.fixture(scope="module")
def encoder() -> TextEncoder:
    return TextEncoder.load(max_length=32)


def variant(base: TextEncoder, **kw: int) -> TextEncoder:
    """Another encoder over the same weights (the module fixture stays untouched)."""
    args = {"max_length": base.max_length, "chunk_stride": 0} | kw
    return TextEncoder(base.model, base.tokenizer, weights_version=base.weights_version, **args)


class CountingEncoder:
    """Counts the texts that reach the model."""

    def __init__(self, encoder: TextEncoder, monkeypatch: pytest.MonkeyPatch) -> None:
        self.texts: list[str] = []
        forward = encoder.forward

        def counting(texts):
            self.texts.extend(texts)
            return forward(texts)

        monkeypatch.setattr(encoder, "forward", counting)


def test_loads_offline_and_embeds_unit_vectors(encoder: TextEncoder) -> None:
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    vectors = encoder.encode(["a person walks briskly", "someone lies still in bed"])
    assert vectors.shape == (2, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert encoder.encode([]).shape == (0, 384)


def test_similar_meaning_is_closer(encoder: TextEncoder) -> None:
    walk, stroll, lie = encoder.encode(["a person is walking", "someone strolls along the street", "a person lies in bed"])
    assert walk @ stroll > walk @ lie


def test_batching_and_padding_do_not_change_embeddings(encoder: TextEncoder) -> None:
    texts = ["short", "a somewhat longer sentence about climbing the stairs quickly"]
    together = encoder.encode(texts, batch_size=2)
    alone = np.concatenate([encoder.encode([t]) for t in texts])
    assert np.allclose(together, alone, atol=1e-5)


def test_chunking_covers_long_texts_and_leaves_short_ones_alone(encoder: TextEncoder) -> None:
    chunked = variant(encoder, max_length=32, chunk_stride=8)
    short = "a person sits on a chair"
    assert np.allclose(chunked.encode([short]), encoder.encode([short]), atol=1e-5)
    batch, owner = chunked.tokenize([LONG, short])
    assert batch["input_ids"].shape[1] <= 32
    assert owner.tolist().count(0) > 1 and owner.tolist().count(1) == 1
    assert not np.allclose(chunked.encode([LONG]), encoder.encode([LONG]), atol=1e-3)
    assert chunked.version != encoder.version


def test_version_depends_on_what_changes_embeddings(encoder: TextEncoder) -> None:
    assert variant(encoder, max_length=64).version != encoder.version
    assert variant(encoder).version == encoder.version


def test_duplicates_are_encoded_once(encoder: TextEncoder, monkeypatch: pytest.MonkeyPatch) -> None:
    local = variant(encoder)
    counter = CountingEncoder(local, monkeypatch)
    vectors = local.encode(["same text", "other", "same text"])
    assert sorted(counter.texts) == ["other", "same text"]
    assert np.array_equal(vectors[0], vectors[2])


def test_store_cache_means_nothing_is_encoded_twice(
    encoder: TextEncoder, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = StoreEmbeddingCache(store)
    first = variant(encoder)
    first.cache = cache
    expected = first.encode(["walking upstairs", "sitting down"])
    second = variant(encoder)
    second.cache = cache
    counter = CountingEncoder(second, monkeypatch)
    again = second.encode(["sitting down", "walking upstairs", "standing"])
    assert counter.texts == ["standing"]
    assert np.allclose(again[:2], expected[::-1], atol=1e-6)
    other_version = variant(encoder, max_length=16)
    assert cache.get(other_version.version, list(cache.get(first.version, []))) == {}
    assert cache.clear(first.version) == 3


def test_save_and_load_round_trip(encoder: TextEncoder, tmp_path: Path) -> None:
    local = variant(encoder, max_length=24)
    local.logit_scale.data.fill_(3.0)
    texts = ["jogging in the park", "lying on the sofa"]
    saved = local.save(tmp_path / "enc")
    loaded = TextEncoder.load(saved)
    assert loaded.max_length == 24
    assert loaded.version == local.version
    assert loaded.temperature == pytest.approx(local.temperature, rel=1e-6)
    assert np.allclose(loaded.encode(texts), local.encode(texts), atol=1e-5)


def test_freeze_lower_layers(encoder: TextEncoder) -> None:
    local = variant(encoder)
    local.freeze_lower_layers(3)
    layers = local.model.encoder.layer
    assert not any(p.requires_grad for p in local.model.embeddings.parameters())
    assert not any(p.requires_grad for layer in layers[:3] for p in layer.parameters())
    assert all(p.requires_grad for layer in layers[3:] for p in layer.parameters())
    local.freeze_lower_layers(0)
    assert all(p.requires_grad for p in local.model.parameters())
    with pytest.raises(ModelError, match="freeze_layers"):
        local.freeze_lower_layers(7)


def test_missing_model_directory_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="config.json"):
        TextEncoder.load(tmp_path)


def test_load_text_encoder_attaches_the_store_cache(settings, store: Store) -> None:
    from lanhar_core.config import with_overrides
    from lanhar_core.models.loading import load_text_encoder
    from storage import runs

    encoder = load_text_encoder(with_overrides(settings, "text_encoder", max_length=16), store)
    assert encoder.max_length == 16 and isinstance(encoder.cache, StoreEmbeddingCache)
    run_id = runs.create_run(store, "text", {}, 0, {}, "v1")
    with pytest.raises(ModelError, match="no text_encoder artifact"):
        load_text_encoder(settings, store, run_id)
