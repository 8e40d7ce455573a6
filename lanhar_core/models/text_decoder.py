"""The small Transformer decoder behind the reconstruction loss (paper section 3.4.4).

It reads one sentence embedding as its memory and predicts the text's tokens with teacher
forcing over the encoder's own vocabulary. Its only job is to keep the embedding
informative about the wording (the paper: "retain the characteristics of the language
model"); it is thrown away after stage 1. Targets are the first ``length`` tokens of each
text: the output layer spans the whole vocabulary (30k for BERT), so reconstructing full
256-token texts would cost more than the encoder itself on a CPU.
"""

from __future__ import annotations

import torch
from torch import nn

from lanhar_core.errors import ModelError


class TextDecoder(nn.Module):
    """``layers`` Transformer decoder layers, causal self-attention, the embedding as memory."""

    def __init__(self, vocab_size: int, width: int, pad_id: int, layers: int = 2, heads: int = 4, max_length: int = 64) -> None:
        super().__init__()
        self.pad_id = pad_id
        self.token = nn.Embedding(vocab_size, width, padding_idx=pad_id)
        self.position = nn.Embedding(max_length, width)
        layer = nn.TransformerDecoderLayer(width, heads, dim_feedforward=2 * width, dropout=0.1, batch_first=True)
        self.layers = nn.TransformerDecoder(layer, layers)
        self.norm = nn.LayerNorm(width)
        self.out = nn.Linear(width, vocab_size, bias=False)
        self.out.weight = self.token.weight

    def forward(self, memory: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Logits ``(batch, length, vocab)`` predicting ``targets`` from ``memory`` ``(batch, width)``.

        Teacher forcing: the input is ``targets[:, :-1]`` (starting with [CLS]) under a
        causal mask, so ``logits[:, t]`` predicts ``targets[:, t + 1]``; score them against
        ``loss_targets(targets)``.
        """
        inputs = targets[:, :-1]
        length = inputs.shape[1]
        if length > self.position.num_embeddings:
            raise ModelError(f"decoder targets of {length + 1} tokens exceed its maximum {self.position.num_embeddings + 1}")
        positions = torch.arange(length, device=targets.device)
        x = self.token(inputs) + self.position(positions)[None]
        causal = torch.ones(length, length, dtype=torch.bool, device=targets.device).triu(1)
        hidden = self.layers(
            x, memory[:, None, :], tgt_mask=causal, tgt_is_causal=True, tgt_key_padding_mask=inputs == self.pad_id
        )
        return self.out(self.norm(hidden))

    def loss_targets(self, targets: torch.Tensor) -> torch.Tensor:
        """What the logits of ``forward`` are scored against: the targets without their first token."""
        return targets[:, 1:]
