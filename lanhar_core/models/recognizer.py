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

Placement: a label's vector is embedded from the descriptions written for the recording's
body segment (``activity_profiles.select_descriptions``); ``use_placement`` switches all
vectors at once. Calibration: a label the sensor encoder was not trained on gets a bias
subtracted from its cosine, the smallest that lets it take at most ``steal_rate`` of the
stored validation windows of the trained labels (``calibrate``), so that describing a new
activity cannot silently take windows from the activities the model knows.

Two paths into the same label space: ``predict`` reads windows through the sensor encoder;
``predict_texts`` reads the embeddings of the windows' own interpretations (the text path,
``models.text_path``), with biases calibrated on the texts of the same held-out windows
(``calibrate_texts``). ``calibration_bias`` is the one calibration rule of both.
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
from lanhar_core.llm.activity_profiles import select_descriptions
from lanhar_core.models.sensor_encoder import SensorEncoder, SensorEncoderConfig, encode_windows
from lanhar_core.models.text_views import description_view
from lanhar_core.placement import SEGMENTS, segment_of

UNKNOWN = "unknown"
"""The answer when no label is similar enough; a reserved name that cannot be a label."""

FORMAT_VERSION = 1
_META = "recognizer.json"
_WEIGHTS = "sensor_encoder.pt"
_LABELS = "label_embeddings.npy"
_SEGMENTS_FILE = "label_vectors.npz"
_SEGMENT_KEYS: tuple[str, ...] = ("unknown", *SEGMENTS)
"""Label vectors are kept per body segment; "unknown" uses the placement-independent descriptions."""


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
    frame: str = "device"
    channels: tuple[str, ...] = CHANNELS
    units: dict[str, str] = field(
        default_factory=lambda: {"acc": "m/s^2, including gravity", "gyro": "rad/s", "time": "s"}
    )

    @classmethod
    def from_settings(cls, settings: Settings) -> Preprocessing:
        d = settings.data
        return cls(d.rate_hz, d.window_samples, d.stride_samples, d.max_gap_s, d.frame)

    @classmethod
    def for_windows(cls, rate_hz: float, window_samples: int, data: DataSettings, frame: str = "device") -> Preprocessing:
        """The preprocessing of a model trained on windows of this rate, length and frame.

        Rate, length and frame (device axes or the body-segment frame) are facts of the
        training windows; only the streaming choices come from the settings: the overlap, as
        the configured share of a window, and the gap that splits a recording.
        """
        stride = max(1, min(window_samples, round(window_samples * data.stride_samples / data.window_samples)))
        return cls(float(rate_hz), int(window_samples), stride, data.max_gap_s, frame)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["channels"] = list(self.channels)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Preprocessing:
        return cls(**{**data, "channels": tuple(data["channels"])})


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Each row scaled to unit length (float32; an all-zero row stays zero)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(1e-12)


def label_embedding(descriptions: Sequence[str], text_encoder: TextEmbedder) -> np.ndarray:
    """Mean of the normalised embeddings of the descriptions' sensor patterns
    (``text_views.description_view``), renormalised to unit length."""
    if not descriptions or not all(d.strip() for d in descriptions):
        raise ConfigError("a label needs at least one non-empty description")
    vectors = unit_rows(text_encoder.encode([description_view(d) for d in descriptions]))
    mean = vectors.mean(axis=0)
    return (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)


@dataclass
class Predictions:
    """Per-window answers. ``labels`` may hold ``UNKNOWN``; ``probabilities``/``cosine`` are (n, k).

    ``upright_known`` (set by ``streaming.recognize_recording`` for a segment-frame model):
    False when the recording had no gait to find the worn segment's axis from, so postures
    were judged in device axes and are unreliable.
    """

    labels: np.ndarray
    confidence: np.ndarray
    probabilities: np.ndarray
    cosine: np.ndarray
    label_names: list[str]
    upright_known: bool | None = None

    def __len__(self) -> int:
        return int(self.labels.shape[0])


def calibration_bias(
    embeddings: np.ndarray, labels: Sequence[str] | np.ndarray, vectors: np.ndarray, label_names: Sequence[str],
    trained: set[str], steal_rate: float,
) -> np.ndarray:
    """Per-label bias: 0 for a trained label; for any other, the smallest that lets it take at most
    ``steal_rate`` of the labelled ``embeddings`` of trained labels (cosines against ``vectors``).

    The one calibration rule of both recognition paths (sensor embeddings here, window-text
    embeddings in ``models.text_path``)."""
    bias = np.zeros(len(label_names), dtype=np.float32)
    if steal_rate <= 0 or not len(labels):
        return bias
    cosine = np.asarray(embeddings, dtype=np.float32) @ vectors.T
    own_index = {name: i for i, name in enumerate(label_names)}
    rows = np.array([own_index.get(str(lab), -1) for lab in labels])
    known = rows >= 0
    trained_columns = [own_index[n] for n in label_names if n in trained]
    if not known.any() or not trained_columns:
        return bias
    best_known = cosine[known][:, trained_columns].max(axis=1)
    for i, name in enumerate(label_names):
        if name not in trained:
            bias[i] = max(0.0, float(np.quantile(cosine[known, i] - best_known, 1.0 - steal_rate)))
    return bias


def top_labels(cosine: np.ndarray, probs: np.ndarray, label_names: Sequence[str], threshold: float, threshold_on: str,
               allow_unknown: bool) -> Predictions:
    """Top label per row, its probability, and ``UNKNOWN`` where the evidence is below ``threshold``."""
    top = probs.argmax(axis=1)
    rows = np.arange(len(top))
    labels = np.asarray(label_names, dtype=object)[top]
    if allow_unknown and threshold > 0:
        evidence = probs[rows, top] if threshold_on == "probability" else cosine[rows, top]
        labels = np.where(evidence < threshold, UNKNOWN, labels).astype(object)
    return Predictions(labels, probs[rows, top], probs, cosine, list(label_names))


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
        self.segment = "unknown"
        self._vectors: dict[str, np.ndarray] = {seg: self._empty() for seg in _SEGMENT_KEYS}
        self.descriptions: dict[str, list[str]] = {}
        self.trained_labels: set[str] = set()
        self.steal_rate = 0.0
        self.calibration_segment = "unknown"
        self._calibration: tuple[np.ndarray, np.ndarray] | None = None
        self._text_calibration: tuple[np.ndarray, np.ndarray] | None = None
        self.label_bias = np.zeros(0, dtype=np.float32)
        self.text_label_bias = np.zeros(0, dtype=np.float32)

    def _empty(self) -> np.ndarray:
        return np.zeros((0, self.encoder.config.embed_dim), dtype=np.float32)

    def _no_calibration(self) -> tuple[np.ndarray, np.ndarray]:
        return self._empty(), np.zeros(0, dtype=object)

    @property
    def embed_dim(self) -> int:
        return int(self.encoder.config.embed_dim)

    @property
    def label_embeddings(self) -> np.ndarray:
        """(k, d) unit vectors of the labels for the current placement's segment."""
        return self._vectors[self.segment]

    def use_placement(self, placement: str) -> None:
        """Recognise recordings worn at ``placement`` (a name or a segment) with its segment's label vectors."""
        self.segment = segment_of(placement) if placement not in _SEGMENT_KEYS else placement

    def calibrate(
        self, embeddings: np.ndarray, labels: Sequence[str] | np.ndarray, trained: Sequence[str], steal_rate: float,
        placement: str = "",
    ) -> None:
        """Keep labelled validation embeddings of the trained labels and bias every other label.

        ``embeddings``: unit sensor embeddings of held-out windows of ``trained`` labels (the
        source's validation subjects, worn at ``placement``, whose segment's label vectors
        the biases are measured with, whatever placement is recognised later);
        ``steal_rate``: the share of them an untrained label may take (0 disables calibration).
        """
        self.calibration_segment = segment_of(placement) if placement not in _SEGMENT_KEYS else placement
        if not 0 <= steal_rate < 1:
            raise ConfigError(f"steal_rate must be in [0, 1), got {steal_rate}")
        names = np.asarray([str(x) for x in labels], dtype=object)
        keep = np.isin(names, list(trained))
        self.trained_labels = set(trained)
        self.steal_rate = float(steal_rate)
        self._calibration = (np.asarray(embeddings, dtype=np.float32)[keep], names[keep])
        self._rebias()

    def calibrate_texts(self, text_embeddings: np.ndarray, labels: Sequence[str] | np.ndarray) -> None:
        """The text path's calibration: unit embeddings of the window texts of the same held-out windows
        ``calibrate`` was given (same trained labels, steal rate and segment)."""
        names = np.asarray([str(x) for x in labels], dtype=object)
        keep = np.isin(names, list(self.trained_labels))
        self._text_calibration = (np.asarray(text_embeddings, dtype=np.float32)[keep], names[keep])
        self._rebias()

    @property
    def text_uncalibrated_labels(self) -> list[str]:
        """Labels the model was not trained on that the text path cannot keep in check: no text calibration
        was stored (models saved before it existed), so they carry no bias there."""
        if self._text_calibration is not None or not self.trained_labels:
            return []
        return [n for n in self.label_names if n not in self.trained_labels]

    def _bias(self, calibration: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
        if calibration is None:
            return np.zeros(len(self.label_names), dtype=np.float32)
        return calibration_bias(calibration[0], calibration[1], self._vectors[self.calibration_segment], self.label_names,
                                self.trained_labels, self.steal_rate)

    def _rebias(self) -> None:
        self.label_bias = self._bias(self._calibration)
        self.text_label_bias = self._bias(self._text_calibration)

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
        self._set_vectors(name, {seg: vector for seg in _SEGMENT_KEYS}, descriptions)

    def _set_vectors(self, name: str, vectors: dict[str, np.ndarray], descriptions: Sequence[str]) -> None:
        unit = {seg: v / max(float(np.linalg.norm(v)), 1e-12) for seg, v in vectors.items()}
        if name in self.label_names:
            i = self.label_names.index(name)
            for seg in _SEGMENT_KEYS:
                self._vectors[seg][i] = unit[seg]
        else:
            self.label_names.append(name)
            for seg in _SEGMENT_KEYS:
                self._vectors[seg] = np.vstack([self._vectors[seg], unit[seg][None, :]]).astype(np.float32)
        self.descriptions[name] = list(descriptions)
        self._rebias()

    def add_label(self, name: str, descriptions: Sequence[str], text_encoder: TextEmbedder) -> None:
        """A new (or re-described) activity from its descriptions; no retraining involved.

        Each body segment gets the vector of the descriptions written for it (or the
        placement-independent ones), so a description set written per segment is used as such.
        """
        name = name.strip()
        if not name or name == UNKNOWN:
            raise ConfigError(f"{name!r} cannot be a label name ({UNKNOWN!r} is reserved for rejected windows)")
        vectors = {seg: label_embedding(select_descriptions(descriptions, seg), text_encoder) for seg in _SEGMENT_KEYS}
        if next(iter(vectors.values())).shape[0] != self.embed_dim:
            raise ModelError(f"label {name!r}: the text encoder's embeddings do not match the sensor encoder's {self.embed_dim}")
        self._set_vectors(name, vectors, descriptions)

    def remove_label(self, name: str) -> None:
        if name not in self.label_names:
            raise NotFoundError(f"no label {name!r}; labels: {', '.join(self.label_names) or '(none)'}")
        i = self.label_names.index(name)
        self.label_names.pop(i)
        for seg in _SEGMENT_KEYS:
            self._vectors[seg] = np.delete(self._vectors[seg], i, axis=0)
        self.descriptions.pop(name, None)
        self._rebias()

    def embed(self, signals: np.ndarray) -> np.ndarray:
        """Unit-length sensor embeddings of (n, window_samples, 6) windows in canonical units."""
        return encode_windows(self.encoder, np.asarray(signals, dtype=np.float32))

    def scores(self, embeddings: np.ndarray, bias: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(cosine, probabilities), each (n, k), for unit-length embeddings; probabilities after calibration
        ``bias`` (default: the sensor path's ``label_bias``)."""
        if not self.label_names:
            raise ModelError("the recognizer has no labels; add some with add_label (or `lanhar labels add`)")
        cosine = embeddings @ self.label_embeddings.T
        bias = self.label_bias if bias is None else bias
        return cosine, softmax((cosine - bias[None, :]) / self.temperature)

    def predict(self, signals: np.ndarray, allow_unknown: bool = True) -> Predictions:
        """Top label per window, its probability, and ``UNKNOWN`` below the threshold."""
        cosine, probs = self.scores(self.embed(signals))
        return top_labels(cosine, probs, self.label_names, self.threshold, self.threshold_on, allow_unknown)

    def predict_texts(self, text_embeddings: np.ndarray, allow_unknown: bool = True) -> Predictions:
        """The text path: windows recognised from unit embeddings of their interpretations (``models.text_path``).

        The same label vectors, temperature and threshold as ``predict``, with the text
        calibration's biases; the sensor encoder is not used."""
        embeddings = np.asarray(text_embeddings, dtype=np.float32)
        if embeddings.ndim != 2 or embeddings.shape[1] != self.embed_dim:
            raise ModelError(f"text embeddings must be (n, {self.embed_dim}); got {embeddings.shape}: "
                             "use the text encoder this recognizer's labels were embedded with")
        cosine, probs = self.scores(embeddings, self.text_label_bias)
        return top_labels(cosine, probs, self.label_names, self.threshold, self.threshold_on, allow_unknown)

    def save_label_state(self, directory: Path) -> dict[str, Any]:
        """Write the per-segment label vectors and the calibration windows; returns what goes in the metadata."""
        calibration = self._calibration or self._no_calibration()
        text_calibration = self._text_calibration or self._no_calibration()
        arrays: dict[str, Any] = {f"vectors_{seg}": v for seg, v in self._vectors.items()}
        np.savez(directory / _SEGMENTS_FILE, calibration=calibration[0], calibration_labels=calibration[1].astype(str),
                 text_calibration=text_calibration[0], text_calibration_labels=text_calibration[1].astype(str), **arrays)
        return {"segment": self.segment, "trained_labels": sorted(self.trained_labels), "steal_rate": self.steal_rate,
                "calibration_segment": self.calibration_segment}

    def load_label_state(self, directory: Path, meta: dict[str, Any]) -> None:
        """Restore what ``save_label_state`` wrote (nothing to do for a model saved before it existed)."""
        if not (directory / _SEGMENTS_FILE).exists():
            return
        with np.load(directory / _SEGMENTS_FILE, allow_pickle=False) as stored:
            self._vectors = {seg: stored[f"vectors_{seg}"].astype(np.float32) for seg in _SEGMENT_KEYS}
            calibration = (stored["calibration"], stored["calibration_labels"].astype(object))
            text_calibration = ((stored["text_calibration"], stored["text_calibration_labels"].astype(object))
                                if "text_calibration" in stored.files else self._no_calibration())
        self.segment = meta.get("segment", "unknown")
        self.trained_labels = set(meta.get("trained_labels", []))
        self.steal_rate = float(meta.get("steal_rate", 0.0))
        self.calibration_segment = meta.get("calibration_segment", "unknown")
        self._calibration = calibration if len(calibration[1]) else None
        self._text_calibration = text_calibration if len(text_calibration[1]) else None
        self._rebias()

    def save_labels(self, directory: Path) -> dict[str, Any]:
        """Write the label vectors and label state; returns the metadata every saved form of a recognizer shares
        (``save`` and the shipped artifact, which stores its weights differently)."""
        np.save(directory / _LABELS, self.label_embeddings)
        return {
            "encoder": self.encoder.config.to_dict(),
            "preprocessing": self.preprocessing.to_dict(),
            "temperature": self.temperature,
            "threshold": self.threshold,
            "threshold_on": self.threshold_on,
            "labels": self.label_names,
            "descriptions": self.descriptions,
            **self.save_label_state(directory),
        }

    def save(self, directory: str | Path) -> Path:
        """Weights, label vectors and everything else in ``recognizer.json``; ``load`` restores it."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        torch.save({k: v.detach().cpu() for k, v in self.encoder.state_dict().items()}, directory / _WEIGHTS)
        meta = {"format_version": FORMAT_VERSION, "text_encoder_ref": self.text_encoder_ref, **self.save_labels(directory)}
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
        return cls.from_saved(encoder, meta, directory / _LABELS, directory, meta.get("text_encoder_ref", ""))

    @classmethod
    def from_saved(cls, encoder: SensorEncoder, meta: dict[str, Any], labels_file: Path, directory: Path,
                   text_encoder_ref: str) -> Recognizer:
        """A recognizer around a loaded ``encoder`` from saved metadata, label vectors and label state.

        Shared by ``load`` and the shipped artifact (``models.shipped``), which store weights differently.
        """
        recognizer = cls(encoder, Preprocessing.from_dict(meta["preprocessing"]), meta["temperature"], meta["threshold"],
                         meta["threshold_on"], text_encoder_ref)
        for name, vector in zip(meta["labels"], np.load(labels_file)):
            recognizer.set_label(name, vector, meta["descriptions"].get(name, []))
        recognizer.load_label_state(directory, meta)
        return recognizer
