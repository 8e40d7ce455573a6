"""Stage 2: duplicate texts in a batch, label-free training, recorded runs, interrupt and resume."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest
import torch

from lanhar_core.config import Settings, with_overrides
from lanhar_core.data.types import WindowSet
from lanhar_core.errors import CancelledError
from lanhar_core.jobs import Progress
from lanhar_core.models import train_sensor
from lanhar_core.models.losses import align_loss
from lanhar_core.models.recognizer import Recognizer
from lanhar_core.models.stage2 import AlignmentData, alignment_recall_at_1, unique_text_ids
from lanhar_core.models.synthetic import ACTIVITIES, synthetic_windows
from storage import runs
from storage.db import Store

pytestmark = pytest.mark.usefixtures("one_thread")


class HashTextEncoder:
    """A fast stand-in for the text encoder: a fixed random unit vector per distinct text."""

    dim = 32

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = []
        for t in texts:
            seed = int(hashlib.sha256(t.encode()).hexdigest()[:8], 16)
            v = np.random.default_rng(seed).normal(size=self.dim)
            out.append(v / np.linalg.norm(v))
        return np.asarray(out, dtype=np.float32)


def _window_set(n_per_class: int = 12, seed: int = 0) -> tuple[WindowSet, list[str]]:
    signals, labels, texts = synthetic_windows(ACTIVITIES[:4], n_per_class, seed)
    n = len(signals)
    return (
        WindowSet(
            ids=np.arange(1, n + 1),
            signals=signals,
            rate_hz=20.0,
            datasets=np.full(n, "synth", dtype=object),
            subjects=np.array([f"s{i % 3}" for i in range(n)], dtype=object),
            recording_ids=np.arange(n) % 6,
            placements=np.full(n, "waist", dtype=object),
            labels=labels,
            native_labels=labels.copy(),
        ),
        texts,
    )


@pytest.fixture
def synthetic_store(monkeypatch: pytest.MonkeyPatch, store: Store) -> tuple[WindowSet, Store]:
    """Interpretations served from memory (the interpretation store is tested on its own)."""
    windows, texts = _window_set()
    frame = pd.DataFrame(
        {"window_id": windows.ids, "text": texts, "valid": True, "review_status": "unreviewed", "label": "must-not-be-read"}
    )
    labels = pd.DataFrame(
        {
            "label": [a.name for a in ACTIVITIES[:4]],
            "index": 0,
            "text": [a.description() for a in ACTIVITIES[:4]],
            "valid": True,
            "review_status": "accepted",
        }
    )
    monkeypatch.setattr(train_sensor, "current_window_interpretations", lambda s, c, d=None: frame)
    monkeypatch.setattr(train_sensor, "current_label_interpretations", lambda s, c: labels)
    return windows, store


def _small(settings: Settings, epochs: int = 2) -> Settings:
    return with_overrides(settings, "sensor_encoder", epochs=epochs, batch_size=16, val_fraction=0.34)


def _weights(result_dir) -> dict[str, torch.Tensor]:
    return Recognizer.load(result_dir).encoder.state_dict()


def test_duplicate_texts_are_never_negatives() -> None:
    """With the distinct texts as candidates a perfectly aligned batch reaches a lower loss
    than with duplicate columns (whose floor is ln 2 for a pair), and the pull of a window
    toward its own text is stronger."""
    from lanhar_core.models.sensor_encoder import create_sensor_encoder
    from lanhar_core.models.stage2 import batch_loss

    torch.manual_seed(0)
    model = create_sensor_encoder("patch", 8, width=16, layers=1)
    text = torch.nn.functional.normalize(torch.randn(3, 8), dim=1)
    ids = torch.tensor([0, 0, 1, 2])
    scale = torch.tensor(np.log(20.0))
    sensor = text[ids].clone().requires_grad_(True)
    deduped = align_loss(sensor, text, ids, torch.arange(3), scale)
    columns = align_loss(sensor, text[ids], torch.arange(4), torch.arange(4), scale)
    assert float(deduped.detach()) < float(columns.detach())
    assert float(columns.detach()) > np.log(2) / 2
    pull = []
    for loss in (deduped, columns):
        (grad,) = torch.autograd.grad(loss, sensor)
        pull.append(float(-(grad[0] @ text[0])))
    assert pull[0] > pull[1]
    x = torch.randn(4, 120, 6)
    assert torch.isfinite(batch_loss(model, x, ids, text))


def test_unique_text_ids_and_recall_counts_duplicates_as_hits() -> None:
    ids, unique = unique_text_ids(["a", "b", "a", "c"])
    assert ids.tolist() == [0, 1, 0, 2] and unique == ["a", "b", "c"]
    from lanhar_core.models.sensor_encoder import create_sensor_encoder

    model = create_sensor_encoder("patch", 4, width=16, layers=1)
    signals = np.zeros((4, 120, 6), dtype=np.float32)
    signals[..., 2] = 9.8
    same_embedding = np.tile(np.array([[1.0, 0, 0, 0]], dtype=np.float32), (3, 1))
    assert alignment_recall_at_1(model, AlignmentData(signals, ids, same_embedding, 20.0)) in (0.5, 1.0)


def test_training_records_a_run_and_never_reads_labels(synthetic_store, settings: Settings) -> None:
    windows, store = synthetic_store
    small = _small(settings)
    first = train_sensor.train_sensor_encoder(store, small, HashTextEncoder(), [windows], "rules:test", seed=3)
    shuffled = windows.subset(np.arange(len(windows)))
    shuffled.labels = np.random.default_rng(0).permutation(shuffled.labels)
    second = train_sensor.train_sensor_encoder(store, small, HashTextEncoder(), [shuffled], "rules:test", seed=3)
    removed = windows.subset(np.arange(len(windows)))
    removed.labels = np.full(len(windows), None, dtype=object)
    third = train_sensor.train_sensor_encoder(store, small, HashTextEncoder(), [removed], "rules:test", seed=3)
    a, b, c = (_weights(r.artifacts["recognizer"]) for r in (first, second, third))
    for key in a:
        assert torch.equal(a[key], b[key]) and torch.equal(a[key], c[key]), key
    record = runs.get_run(store, first.run_id)
    assert record.kind == "sensor" and record.status == "finished" and record.epochs_done == 2
    epochs = runs.epoch_records(store, first.run_id)
    assert [e.epoch for e in epochs] == [1, 2]
    assert {"val_loss", "val_recall_at_1", "val_zero_shot_accuracy", "temperature"} <= set(epochs[-1].val_metrics)
    assert np.isnan(third.metrics["val_zero_shot_accuracy"])
    recognizer = Recognizer.load(first.artifacts["recognizer"])
    assert recognizer.label_names == [a.name for a in ACTIVITIES[:4]]
    recognizer.set_label("described_only", recognizer.label_embeddings[0] + 0.1)
    assert recognizer.text_uncalibrated_labels == []  # the run stored the text path's calibration too


def test_interrupted_run_resumes_to_the_uninterrupted_result(synthetic_store, settings: Settings) -> None:
    windows, store = synthetic_store
    small = _small(settings, epochs=2)
    cancel = threading.Event()

    def stop_after_epoch_1(done: int, total: int | None, message: str) -> None:
        if message.startswith("epoch 1/"):
            cancel.set()

    with pytest.raises(CancelledError):
        train_sensor.train_sensor_encoder(
            store, small, HashTextEncoder(), [windows], "rules:test", Progress(stop_after_epoch_1, cancel), seed=5
        )
    interrupted = runs.list_runs(store, "sensor")[0]
    assert interrupted.status == "interrupted" and interrupted.epochs_done == 1
    resumed = train_sensor.train_sensor_encoder(
        store, small, HashTextEncoder(), [windows], "rules:test", resume_run_id=interrupted.id
    )
    assert resumed.run_id == interrupted.id and resumed.status == "finished" and resumed.epochs == 2
    straight = train_sensor.train_sensor_encoder(store, small, HashTextEncoder(), [windows], "rules:test", seed=5)
    a, b = _weights(resumed.artifacts["recognizer"]), _weights(straight.artifacts["recognizer"])
    for key in a:
        assert torch.allclose(a[key], b[key], atol=1e-6), key


def test_rotation_augments_source_only_training_and_not_training_with_target_windows(
    synthetic_store, settings: Settings
) -> None:
    windows, store = synthetic_store
    small = with_overrides(_small(settings, epochs=1), "data", frame="device")
    source_only = train_sensor.train_sensor_encoder(store, small, HashTextEncoder(), [windows], "rules:test", seed=1)
    half = len(windows) // 2
    source, target = windows.subset(np.arange(half)), windows.subset(np.arange(half, len(windows)))
    with_target = train_sensor.train_sensor_encoder(
        store, small, HashTextEncoder(), [source], "rules:test", target_datasets=[target], seed=1
    )
    applied = [runs.get_run(store, r.run_id).config["augmentation"]["rotation_deg"] for r in (source_only, with_target)]
    assert applied == [small.sensor_encoder.source_only_rotation_deg, small.sensor_encoder.augment_rotation_deg] == [180.0, 0.0]
    unrotated = train_sensor.train_sensor_encoder(
        store, with_overrides(small, "sensor_encoder", source_only_rotation_deg=0.0), HashTextEncoder(), [windows],
        "rules:test", seed=1,
    )
    a, b = _weights(source_only.artifacts["recognizer"]), _weights(unrotated.artifacts["recognizer"])
    assert any(not torch.equal(a[key], b[key]) for key in a)


def test_segment_frame_training_turns_windows_about_the_segment_axis_only(synthetic_store, settings: Settings) -> None:
    windows, store = synthetic_store
    result = train_sensor.train_sensor_encoder(store, _small(settings, epochs=1), HashTextEncoder(), [windows], "rules:test", seed=1)
    run = runs.get_run(store, result.run_id)
    assert run.config["augmentation"] == {"rotation_deg": 180.0, "scale": 0.0, "warp": 0.0, "about_z": True}
    assert run.config["data"]["frame"] == "segment"
    assert Recognizer.load(result.artifacts["recognizer"]).preprocessing.frame == "segment"
