"""Self-contained deployment artifact: what a phone app or another process needs, nothing more.

Layout of an artifact directory::

    sensor_encoder.pt        TorchScript: (n, L, 6) raw canonical units -> (n, d) unit vectors;
                             the input normalisation is inside, so callers never standardise
    label_embeddings.npy     (k, d) float32 unit vectors, one row per label
    labels.json              label names (row order of the .npy) and their descriptions
    config.json              preprocessing (rate, window, stride, channels, units),
                             temperature, unknown threshold and criterion, embedding size
    recognize_example.py     standalone loader and recogniser (torch + numpy only)
    README.md                how to feed it and how to add a label on the device

TorchScript (``torch.jit.script``) is used rather than ONNX because it needs nothing beyond
torch, which the app already has, and it is what PyTorch's mobile runtimes load (the paper
deployed a ``.pt`` file on a Pixel 7). ``torch.jit`` is deprecated in recent torch releases
but still loads and runs; its deprecation warning is silenced here and nowhere else.
"""

from __future__ import annotations

import json
import shutil
import warnings
from importlib import resources
from pathlib import Path

import numpy as np
import torch
from torch import nn

from lanhar_core.errors import ModelError
from lanhar_core.models.loading import MODEL_FILE_ERRORS, damaged_model_error
from lanhar_core.models.recognizer import Recognizer, softmax
from lanhar_core.models.sensor_encoder import SensorEncoder

ENCODER_FILE = "sensor_encoder.pt"
ARTIFACT_FORMAT = 1
TOLERANCE = 1e-5


class _UnitEmbedding(nn.Module):
    """The encoder followed by L2 normalisation: the exported graph."""

    def __init__(self, encoder: SensorEncoder) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(self.encoder(x), dim=-1)


def script_encoder(encoder: SensorEncoder) -> torch.jit.ScriptModule:
    """TorchScript of the eval-mode encoder with output normalisation."""
    module = _UnitEmbedding(encoder).eval()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*torch\.jit.*deprecated.*")
        return torch.jit.script(module)


def export_artifact(recognizer: Recognizer, out_dir: str | Path) -> Path:
    """Write the artifact directory (replacing the files it owns) and return its path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    scripted = script_encoder(recognizer.encoder)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*torch\.jit.*deprecated.*")
        scripted.save(str(out / ENCODER_FILE))
    np.save(out / "label_embeddings.npy", recognizer.label_embeddings.astype(np.float32))
    labels = {"labels": recognizer.label_names, "descriptions": recognizer.descriptions}
    (out / "labels.json").write_text(json.dumps(labels, indent=2), encoding="utf-8")
    config = {
        "format_version": ARTIFACT_FORMAT,
        "preprocessing": recognizer.preprocessing.to_dict(),
        "temperature": recognizer.temperature,
        "unknown_threshold": recognizer.threshold,
        "unknown_on": recognizer.threshold_on,
        "unknown_label": "unknown",
        "embed_dim": recognizer.embed_dim,
        "encoder": recognizer.encoder.config.to_dict(),
        "text_encoder": recognizer.text_encoder_ref,
    }
    (out / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    template = resources.files("lanhar_core.models") / "artifact_template"
    for name in ("recognize_example.py", "README.md"):
        with resources.as_file(template / name) as src:
            shutil.copyfile(src, out / name)
    return out


class ArtifactModel:
    """An exported artifact loaded back (for checks in this repository; the example file is the standalone one)."""

    def __init__(self, directory: str | Path) -> None:
        directory = Path(directory)
        if not (directory / "config.json").exists() or not (directory / ENCODER_FILE).exists():
            raise ModelError(f"{directory} is not an exported artifact (config.json and {ENCODER_FILE} are required)")
        try:
            self.config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
            if self.config.get("format_version") != ARTIFACT_FORMAT:
                raise ModelError(f"{directory}: artifact format {self.config.get('format_version')} is not {ARTIFACT_FORMAT}")
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=r".*torch\.jit.*deprecated.*")
                self.encoder = torch.jit.load(str(directory / ENCODER_FILE))
            self.encoder.eval()
            self.labels: list[str] = json.loads((directory / "labels.json").read_text(encoding="utf-8"))["labels"]
            self.label_embeddings = np.load(directory / "label_embeddings.npy")
        except MODEL_FILE_ERRORS as exc:
            raise damaged_model_error(directory, exc) from exc

    def embed(self, windows: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return self.encoder(torch.as_tensor(np.asarray(windows, dtype=np.float32))).numpy()

    def probabilities(self, windows: np.ndarray) -> np.ndarray:
        return softmax(self.embed(windows) @ self.label_embeddings.T / self.config["temperature"])


def load_artifact(directory: str | Path) -> ArtifactModel:
    return ArtifactModel(directory)


def verify_export(artifact_dir: str | Path, recognizer: Recognizer, windows: np.ndarray) -> dict[str, float]:
    """Check that the artifact reproduces the in-memory recognizer on ``windows``.

    Compares embeddings and label probabilities (max absolute difference below 1e-5) and
    the label order; raises ``ModelError`` saying which differs, returns the differences.
    """
    artifact = load_artifact(artifact_dir)
    if artifact.labels != recognizer.label_names:
        raise ModelError(f"exported labels {artifact.labels} differ from the recognizer's {recognizer.label_names}")
    expected_emb = recognizer.embed(windows)
    _, expected_prob = recognizer.scores(expected_emb)
    diffs = {
        "embedding_max_abs_diff": float(np.abs(artifact.embed(windows) - expected_emb).max()),
        "probability_max_abs_diff": float(np.abs(artifact.probabilities(windows) - expected_prob).max()),
    }
    bad = {k: v for k, v in diffs.items() if not v < TOLERANCE}
    if bad:
        raise ModelError(f"the exported model does not reproduce the in-memory one (tolerance {TOLERANCE}): {bad}")
    return diffs
