"""Open-vocabulary recognition: sensor encoder + label embeddings (paper 3.6, inference).

A label is nothing but a unit vector in the text space: the mean of the normalised
embeddings of its descriptions, renormalised. Recognising a window is cosine similarity to
every label vector; a new activity is a new vector, so labels can be added or removed at
run time without touching the encoder.

Scores are calibrated with the temperature the encoder learned in stage 2:
``p = softmax(cos / T)`` over the current labels. When the best probability (or, with
``threshold_on='cosine'``, the best cosine) is below ``threshold`` the answer is
``UNKNOWN``: the window is not close enough to any described activity. Probabilities
depend on the label set (adding a similar label lowers both); the cosine criterion does
not, at the price of a threshold that depends on the encoder.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from lanhar_core.config import DataSettings, Settings
from lanhar_core.data.types import CHANNELS
from lanhar_core.errors import ConfigError, ModelError, NotFoundError
from lanhar_core.models.sensor_encoder import SensorEncoder, SensorEncoderConfig, encode_windows

UNKNOWN = "unknown"
"""The answer when no label is similar enough; a reserved name that cannot be a label."""

FORMAT_VERSION = 1
_META = "recognizer.json"
_WEIGHTS = "sensor_encoder.pt"
_LABELS = "label_embeddings.npy"


class TextEmbedder(Protocol):
    """What the recognizer needs from a text encoder: unit-length embeddings of texts."""

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class Preprocessing:
    """How raw recordings become model input; travels with every saved or exported model."""

    rate_hz: float
    window_samples: int
    stride_samples: int
    max_gap_s: float = 1.0
    channels: tuple[str, ...] = CHANNELS
    units: dict[str, str] = field(
        default_factory=lambda: {"acc": "m/s^2, including gravity", "gyro": "rad/s", "time": "s"}
    )

    @classmethod
    def from_settings(cls, settings: Settings) -> Preprocessing:
        d = settings.data
        return cls(d.rate_hz, d.window_samples, d.stride_samples, d.max_gap_s)

    @classmethod
    def for_windows(cls, rate_hz: float, window_samples: int, data: DataSettings) -> Preprocessing:
        """The preprocessing of a model trained on windows of this rate and length.

        Rate and length are facts of the training windows; only the streaming choices come
        from the settings: the overlap, as the configured share of a window, and the gap
        that splits a recording.
        """
        stride = max(1, min(window_samples, round(window_samples * data.stride_samples / data.window_samples)))
        return cls(float(rate_hz), int(window_samples), stride, data.max_gap_s)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["channels"] = list(self.channels)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Preprocessing:
        return cls(**{**data, "channels": tuple(data["channels"])})


def label_embedding(descriptions: Sequence[str], text_encoder: TextEmbedder) -> np.ndarray:
    """Mean of the normalised description embeddings, renormalised to unit length."""
    if not descriptions or not all(d.strip() for d in descriptions):
        raise ConfigError("a label needs at least one non-empty description")
    vectors = np.asarray(text_encoder.encode(list(descriptions)), dtype=np.float32)
    vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(1e-12)
    mean = vectors.mean(axis=0)
    return (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)


@dataclass
class Predictions:
    """Per-window answers. ``labels`` may hold ``UNKNOWN``; ``probabilities``/``cosine`` are (n, k)."""

    labels: np.ndarray
    confidence: np.ndarray
    probabilities: np.ndarray
    cosine: np.ndarray
    label_names: list[str]

    def __len__(self) -> int:
        return int(self.labels.shape[0])


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


class Recognizer:
    """Sensor encoder + preprocessing + label vectors + calibration; see the module docstring."""

    def __init__(
        self,
        encoder: SensorEncoder,
        preprocessing: Preprocessing,
        temperature: float,
        threshold: float = 0.0,
        threshold_on: str = "probability",
        text_encoder_ref: str = "",
    ) -> None:
        if threshold_on not in ("probability", "cosine"):
            raise ConfigError(f"threshold_on must be 'probability' or 'cosine', got {threshold_on!r}")
        if temperature <= 0:
            raise ConfigError(f"temperature must be positive, got {temperature}")
        if encoder.config.window_samples != preprocessing.window_samples:
            raise ModelError(
                f"encoder expects windows of {encoder.config.window_samples} samples but preprocessing "
                f"makes {preprocessing.window_samples}"
            )
        self.encoder = encoder.eval()
        self.preprocessing = preprocessing
        self.temperature = float(temperature)
        self.threshold = float(threshold)
        self.threshold_on = threshold_on
        self.text_encoder_ref = text_encoder_ref
        self.label_names: list[str] = []
        self.label_embeddings = np.zeros((0, encoder.config.embed_dim), dtype=np.float32)
        self.descriptions: dict[str, list[str]] = {}

    @property
    def embed_dim(self) -> int:
        return int(self.encoder.config.embed_dim)

    def set_label(self, name: str, embedding: np.ndarray, descriptions: Sequence[str] = ()) -> None:
        """Add or replace a label by its vector (normalised here)."""
        name = name.strip()
        if not name or name == UNKNOWN:
            raise ConfigError(f"{name!r} cannot be a label name ({UNKNOWN!r} is reserved for rejected windows)")
        vector = np.asarray(embedding, dtype=np.float32).reshape(-1)
        if vector.shape[0] != self.embed_dim:
            raise ModelError(
                f"label {name!r}: embedding of size {vector.shape[0]} does not match the encoder's "
                f"{self.embed_dim}; use the text encoder the sensor encoder was trained against"
            )
        vector = vector / max(float(np.linalg.norm(vector)), 1e-12)
        if name in self.label_names:
            self.label_embeddings[self.label_names.index(name)] = vector
        else:
            self.label_names.append(name)
            self.label_embeddings = np.vstack([self.label_embeddings, vector[None, :]])
        self.descriptions[name] = list(descriptions)

    def add_label(self, name: str, descriptions: Sequence[str], text_encoder: TextEmbedder) -> None:
        """A new (or re-described) activity from its descriptions; no retraining involved."""
        self.set_label(name, label_embedding(descriptions, text_encoder), descriptions)

    def remove_label(self, name: str) -> None:
        if name not in self.label_names:
            raise NotFoundError(f"no label {name!r}; labels: {', '.join(self.label_names) or '(none)'}")
        i = self.label_names.index(name)
        self.label_names.pop(i)
        self.label_embeddings = np.delete(self.label_embeddings, i, axis=0)
        self.descriptions.pop(name, None)

    def embed(self, signals: np.ndarray) -> np.ndarray:
        """Unit-length sensor embeddings of (n, window_samples, 6) windows in canonical units."""
        return encode_windows(self.encoder, np.asarray(signals, dtype=np.float32))

    def scores(self, embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(cosine, probabilities), each (n, k), for unit-length embeddings."""
        if not self.label_names:
            raise ModelError("the recognizer has no labels; add some with add_label (or `lanhar labels add`)")
        cosine = embeddings @ self.label_embeddings.T
        return cosine, softmax(cosine / self.temperature)

    def predict(self, signals: np.ndarray, allow_unknown: bool = True) -> Predictions:
        """Top label per window, its probability, and ``UNKNOWN`` below the threshold."""
        cosine, probs = self.scores(self.embed(signals))
        top = probs.argmax(axis=1)
        rows = np.arange(len(top))
        labels = np.asarray(self.label_names, dtype=object)[top]
        if allow_unknown and self.threshold > 0:
            evidence = probs[rows, top] if self.threshold_on == "probability" else cosine[rows, top]
            labels = np.where(evidence < self.threshold, UNKNOWN, labels).astype(object)
        return Predictions(labels, probs[rows, top], probs, cosine, list(self.label_names))

    def save(self, directory: str | Path) -> Path:
        """Weights, label vectors and everything else in ``recognizer.json``; ``load`` restores it."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        torch.save({k: v.detach().cpu() for k, v in self.encoder.state_dict().items()}, directory / _WEIGHTS)
        np.save(directory / _LABELS, self.label_embeddings)
        meta = {
            "format_version": FORMAT_VERSION,
            "encoder": self.encoder.config.to_dict(),
            "preprocessing": self.preprocessing.to_dict(),
            "temperature": self.temperature,
            "threshold": self.threshold,
            "threshold_on": self.threshold_on,
            "text_encoder_ref": self.text_encoder_ref,
            "labels": self.label_names,
            "descriptions": self.descriptions,
        }
        (directory / _META).write_text(json.dumps(meta, indent=2), encoding="utf-8")
        return directory

    @classmethod
    def load(cls, directory: str | Path, device: torch.device | str = "cpu") -> Recognizer:
        """A saved recognizer, its encoder on ``device`` (``runtime.select_device`` gives the configured one)."""
        directory = Path(directory)
        if not (directory / _META).exists():
            raise ModelError(f"{directory} is not a saved recognizer (no {_META}); pass a recognizer directory or a run id")
        meta = json.loads((directory / _META).read_text(encoding="utf-8"))
        if meta.get("format_version") != FORMAT_VERSION:
            raise ModelError(f"{directory}: recognizer format {meta.get('format_version')} is not {FORMAT_VERSION}")
        encoder = SensorEncoder(SensorEncoderConfig.from_dict(meta["encoder"]))
        encoder.load_state_dict(torch.load(directory / _WEIGHTS, map_location="cpu", weights_only=True))
        encoder.to(device)
        recognizer = cls(
            encoder,
            Preprocessing.from_dict(meta["preprocessing"]),
            meta["temperature"],
            meta["threshold"],
            meta["threshold_on"],
            meta.get("text_encoder_ref", ""),
        )
        vectors = np.load(directory / _LABELS)
        for name, vector in zip(meta["labels"], vectors):
            recognizer.set_label(name, vector, meta["descriptions"].get(name, []))
        return recognizer
