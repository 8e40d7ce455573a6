"""Self-contained deployment artifact: what a phone app or another process needs, nothing more.

Layout of an artifact directory::

    sensor_encoder.onnx       ONNX: input ``windows`` (n, L, 6) float32 in raw canonical units
                              -> output ``embeddings`` (n, d) unit vectors; the input
                              normalisation is inside, so callers never standardise
    sensor_encoder.int8.onnx  optional: the same graph with int8 weights (dynamic quantisation)
    label_embeddings.npy      (k, d) float32 unit vectors, one row per label
    labels.json               label names (row order of the .npy), calibration biases
                              (subtracted from each label's cosine) and descriptions
    config.json               preprocessing (rate, window, stride, channels, units),
                              temperature, unknown threshold and criterion, embedding size,
                              the model files
    recognize_example.py      standalone loader and recogniser (numpy + onnxruntime only)
    README.md                 how to feed it and how to add a label on the device

Why ONNX and no TorchScript any more: ``torch.jit`` is deprecated (torch 2.13), and an ONNX
graph runs under onnxruntime on phones (Android/iOS packages), in browsers and on servers
without torch, which is what a deployment artifact is for; onnxruntime was also faster at
batch 1 on our 2-core CPU (bench/README.md). Artifacts of format 1 (TorchScript
``sensor_encoder.pt``) are refused with a message saying how to export them again.

The export uses torch's dynamo exporter (``torch.onnx.export(dynamo=True)``, which needs
``onnxscript``) with a dynamic batch dimension; ``verify_export`` runs the written file
under onnxruntime and reports the maximum absolute difference to the in-memory model.
"""

from __future__ import annotations

import copy
import json
import logging
import shutil
import warnings
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from lanhar_core.data.types import CHANNELS, GRAVITY
from lanhar_core.errors import ModelError
from lanhar_core.models.damage import MODEL_FILE_ERRORS, damaged_model_error
from lanhar_core.models.recognizer import Recognizer, softmax
from lanhar_core.models.sensor_encoder import SensorEncoder

ENCODER_FILE = "sensor_encoder.onnx"
INT8_FILE = "sensor_encoder.int8.onnx"
LEGACY_ENCODER_FILE = "sensor_encoder.pt"
ARTIFACT_FORMAT = 2
TOLERANCE = 1e-4
"""Largest embedding/probability difference accepted between the fp32 graph and the in-memory model.

Not bit equality: onnxruntime fuses LayerNorm, attention and GELU and sums in another
order; seen up to 2e-5 on embeddings and 5e-5 on probabilities (which scale it by 1/T)."""
OPSET = 18


class _UnitEmbedding(nn.Module):
    """The encoder followed by L2 normalisation: the exported graph."""

    def __init__(self, encoder: SensorEncoder) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(self.encoder(x), dim=-1)


def export_onnx(encoder: SensorEncoder, path: str | Path) -> Path:
    """Write the eval-mode encoder (a CPU copy of it) with output normalisation as an ONNX file.

    The batch dimension is dynamic; the window length is the encoder's. The exporter's
    notes about optional torchvision operators are silenced (the graph uses none).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    module = _UnitEmbedding(copy.deepcopy(encoder).cpu()).eval()
    example = torch.zeros(2, encoder.config.window_samples, len(CHANNELS))
    example[:, :, 2] = GRAVITY
    quiet = logging.getLogger("torch.onnx")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore", FutureWarning)
            program = torch.onnx.export(
                module, (example,), dynamo=True, opset_version=OPSET, input_names=["windows"],
                output_names=["embeddings"], dynamic_shapes=({0: torch.export.Dim("batch")},), verbose=False,
            )
    except Exception as exc:  # the exporter raises many unrelated types; all mean the same to the user
        raise ModelError(f"the sensor encoder could not be exported to ONNX ({type(exc).__name__}: {exc})") from exc
    finally:
        quiet.setLevel(level)
    if program is None:
        raise ModelError("torch.onnx.export returned no program; is onnxscript installed (requirements.txt)?")
    program.save(str(path))
    _strip_debug_info(path)
    return path


def _strip_debug_info(path: Path) -> None:
    """Drop the exporter's per-node stack traces and names of torch modules (a third of an int8 file)."""
    import onnx

    model = onnx.load(str(path))
    for node in model.graph.node:
        del node.metadata_props[:]
        node.doc_string = ""
    onnx.save(model, str(path))


def quantize_int8(source: str | Path, target: str | Path) -> Path:
    """Dynamic int8 quantisation of the weights (activations stay float, quantised on the fly).

    Dynamic rather than static: it needs no calibration windows, and the encoder's cost is
    in its linear layers, which is what it quantises.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8)
    finally:
        root.setLevel(level)
    return Path(target)


def export_artifact(recognizer: Recognizer, out_dir: str | Path, int8: bool = False) -> Path:
    """Write the artifact directory (replacing the files it owns) and return its path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / LEGACY_ENCODER_FILE).unlink(missing_ok=True)
    export_onnx(recognizer.encoder, out / ENCODER_FILE)
    if int8:
        quantize_int8(out / ENCODER_FILE, out / INT8_FILE)
    else:
        (out / INT8_FILE).unlink(missing_ok=True)
    np.save(out / "label_embeddings.npy", recognizer.label_embeddings.astype(np.float32))
    labels = {"labels": recognizer.label_names, "bias": [float(b) for b in recognizer.label_bias],
              "descriptions": recognizer.descriptions}
    (out / "labels.json").write_text(json.dumps(labels, indent=2), encoding="utf-8")
    config: dict[str, Any] = {
        "format_version": ARTIFACT_FORMAT,
        "model": ENCODER_FILE,
        "model_int8": INT8_FILE if int8 else None,
        "input": "windows",
        "output": "embeddings",
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


def _onnxruntime_errors(ort: Any) -> tuple[type[Exception], ...]:
    """What onnxruntime raises for a truncated or foreign model file (its own classes, not OSError)."""
    state = ort.capi.onnxruntime_pybind11_state
    names = ("Fail", "InvalidProtobuf", "InvalidGraph", "NoSuchFile", "InvalidArgument")
    return tuple(getattr(state, n) for n in names if hasattr(state, n))


class ArtifactModel:
    """An exported artifact run by onnxruntime (for checks here; the example file is the standalone one)."""

    def __init__(self, directory: str | Path, int8: bool = False, threads: int = 0) -> None:
        import onnxruntime as ort

        directory = Path(directory)
        if (directory / LEGACY_ENCODER_FILE).exists() and not (directory / ENCODER_FILE).exists():
            raise ModelError(
                f"{directory} is a TorchScript artifact (format 1), which this version no longer loads; "
                "export the model again with `lanhar export RUN --out DIR` to get the ONNX artifact"
            )
        if not (directory / "config.json").exists() or not (directory / ENCODER_FILE).exists():
            raise ModelError(f"{directory} is not an exported artifact (config.json and {ENCODER_FILE} are required)")
        try:
            self.config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
            if self.config.get("format_version") != ARTIFACT_FORMAT:
                raise ModelError(
                    f"{directory}: artifact format {self.config.get('format_version')} is not {ARTIFACT_FORMAT}; "
                    "export the model again with `lanhar export RUN --out DIR`"
                )
            model = self.config.get("model_int8") if int8 else self.config["model"]
            if not model or not (directory / model).exists():
                raise ModelError(f"{directory} has no int8 model; export it with `lanhar export RUN --out DIR --int8`")
            options = ort.SessionOptions()
            if threads > 0:
                options.intra_op_num_threads = threads
            self.session = ort.InferenceSession(str(directory / model), options, providers=["CPUExecutionProvider"])
            labels = json.loads((directory / "labels.json").read_text(encoding="utf-8"))
            self.labels: list[str] = labels["labels"]
            self.bias = np.asarray(labels.get("bias", [0.0] * len(self.labels)), dtype=np.float32)
            self.label_embeddings = np.load(directory / "label_embeddings.npy")
        except (*MODEL_FILE_ERRORS, *_onnxruntime_errors(ort)) as exc:
            raise damaged_model_error(directory, exc) from exc

    def embed(self, windows: np.ndarray) -> np.ndarray:
        return self.session.run(["embeddings"], {"windows": np.asarray(windows, dtype=np.float32)})[0]

    def probabilities(self, windows: np.ndarray) -> np.ndarray:
        return softmax((self.embed(windows) @ self.label_embeddings.T - self.bias) / self.config["temperature"])


def load_artifact(directory: str | Path, int8: bool = False, threads: int = 0) -> ArtifactModel:
    """The artifact's fp32 (or int8) graph in an onnxruntime session (``threads`` 0: onnxruntime's default)."""
    return ArtifactModel(directory, int8, threads)


def verify_export(artifact_dir: str | Path, recognizer: Recognizer, windows: np.ndarray) -> dict[str, float]:
    """Check that the artifact's fp32 graph reproduces the in-memory recognizer on ``windows``.

    Compares embeddings and label probabilities (max absolute difference below
    ``TOLERANCE``) and the label order; raises ``ModelError`` saying which differs,
    returns the differences. With an int8 model in the artifact, its differences and the
    share of windows whose top label changes are added (reported, not held to the tolerance:
    quantisation changes the numbers by design; ``bench/bench_onnx.py`` measures accuracy).
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
    if artifact.config.get("model_int8"):
        quantised = load_artifact(artifact_dir, int8=True)
        int8_prob = quantised.probabilities(windows)
        diffs["int8_embedding_max_abs_diff"] = float(np.abs(quantised.embed(windows) - expected_emb).max())
        diffs["int8_probability_max_abs_diff"] = float(np.abs(int8_prob - expected_prob).max())
        diffs["int8_top_label_changed_share"] = float(np.mean(int8_prob.argmax(1) != expected_prob.argmax(1)))
    return diffs
