"""Stage-1 losses (paper section 3.4), each a small function on unit-length embeddings.

Notation as in the paper: ``Z`` embeds interpretations of sensor windows, ``H`` embeds
label descriptions, ``s(a, b) = a . b`` on unit vectors (cosine similarity).

Group ids (labels, categories) are integer tensors; ``-1`` means "unknown" and excludes the
row from the comparisons that need it (a user label without a category, for example).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.nn import functional as F

from lanhar_core.errors import ConfigError


def align_loss(
    z: torch.Tensor,
    h: torch.Tensor,
    z_labels: torch.Tensor,
    h_labels: torch.Tensor,
    logit_scale: torch.Tensor,
) -> torch.Tensor:
    """Symmetric InfoNCE between window interpretations and label descriptions, multi-positive.

    Paper: L_align = -log exp(s(H_i,Z_i)/tau) / sum_j exp(s(H_i,Z_j)/tau)
                     -log exp(s(H_i,Z_i)/tau) / sum_j exp(s(H_j,Z_i)/tau).

    The paper's batch holds N distinct pairs. Ours holds several windows per label (and
    several descriptions per label), so row i has every column of its own label as a
    positive: the target is the label-equality matrix normalised per row (soft targets,
    the supervised-contrastive form). Without that, windows of the same label would be
    pushed apart as false negatives. With one positive per row it is exactly CLIP's loss.
    The two directions are averaged, as in open_clip (the paper's sum is twice this).
    ``logit_scale`` is ln(1/tau) (learned, clamped by the caller).
    """
    logits = logit_scale.exp() * z @ h.T
    positives = (z_labels[:, None] == h_labels[None, :]).to(logits.dtype)
    z_rows = positives.sum(dim=1) > 0
    h_rows = positives.sum(dim=0) > 0
    z_to_h = _soft_cross_entropy(logits[z_rows], positives[z_rows])
    h_to_z = _soft_cross_entropy(logits.T[h_rows], positives.T[h_rows])
    return (z_to_h + h_to_z) / 2


def _soft_cross_entropy(logits: torch.Tensor, positives: torch.Tensor) -> torch.Tensor:
    targets = positives / positives.sum(dim=1, keepdim=True)
    return -(targets * F.log_softmax(logits, dim=1)).sum(dim=1).mean()


def bpr_loss(emb: torch.Tensor, groups: torch.Tensor) -> torch.Tensor:
    """Mean of -ln sigmoid(s(e_i, e_j) - s(e_i, e_k)) over all triplets of the batch.

    (i, j) share a group (i != j), k is in another group; rows with group -1 take no part.
    Every valid triplet of the batch is used (at batch 16 that is a few thousand, cheap),
    which is the paper's sum over comparison pairs, divided by their number so that the
    term's scale does not grow with the batch. A batch without any valid triplet gives 0.
    """
    sims = emb @ emb.T
    known = groups >= 0
    same = (groups[:, None] == groups[None, :]) & known[:, None] & known[None, :]
    pos = same & ~torch.eye(len(groups), dtype=torch.bool, device=emb.device)
    neg = ~same & known[:, None] & known[None, :]
    valid = pos[:, :, None] & neg[:, None, :]
    if not bool(valid.any()):
        return emb.sum() * 0.0
    diff = sims[:, :, None] - sims[:, None, :]
    return -F.logsigmoid(diff[valid]).mean()


def category_loss(emb: torch.Tensor, categories: torch.Tensor) -> torch.Tensor:
    """Ca1 (on H) and Ca2 (on Z): same category closer than different category.

    Paper: L_Ca1 = -sum_{P_a1} ln sigma(s(H_i^cm, H_j^cm) - s(H_i^cm, H_k^cn)), and L_Ca2 the
    same on Z; categories: {walk, jog, bike}, {sit, stand, lie}, {upstairs, downstairs}.
    """
    return bpr_loss(emb, categories)


def multi_description_loss(h: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Ca3: two descriptions of one label closer than descriptions of different labels.

    Paper: L_Ca3 = -sum_{P_a3} ln sigma(s(H_i^lm, H_j^lm) - s(H_i^lm, H_j^ln)).
    """
    return bpr_loss(h, labels)


def reconstruction_loss(logits: torch.Tensor, targets: torch.Tensor, pad_id: int) -> torch.Tensor:
    """Token cross-entropy of the decoder's reconstruction, padding ignored.

    Paper: L_re = 1/N sum_i CE(S^z_i, S^z_i hat) + 1/N sum_i CE(S^l_i, S^l_i hat); the caller
    passes the window and the label texts together. ``logits`` is (batch, length, vocab).
    """
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=pad_id)


def geometry_loss(emb: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Mean squared difference between the batch's cosine-similarity matrices under two encoders.

    Not in the paper. Fine-tuning on a few labels pulls every text toward one of them, and
    a label added later by its description then lands on the nearest trained one; keeping
    the pairwise similarities of the pre-trained encoder (``reference``, no gradient)
    preserves distinctions the training labels do not need (relational distillation).
    """
    return F.mse_loss(emb @ emb.T, reference @ reference.T)


@dataclass(frozen=True)
class LossWeights:
    """Which terms are on and how they are weighted: L = align + alpha*(Ca1+Ca2+Ca3) + beta*re + gamma*geo."""

    alpha: float
    beta: float
    align: bool = True
    category: bool = True
    multidesc: bool = True
    recon: bool = True
    gamma: float = 0.0


def total_loss(terms: dict[str, torch.Tensor], weights: LossWeights) -> torch.Tensor:
    """Combine the computed terms (keys align, ca1, ca2, ca3, re, geo); switched-off terms are absent."""
    total = terms["align"] if weights.align else None
    extra = [terms[k] for k in ("ca1", "ca2") if weights.category] + ([terms["ca3"]] if weights.multidesc else [])
    if extra:
        part = weights.alpha * torch.stack(extra).sum()
        total = part if total is None else total + part
    if weights.recon:
        part = weights.beta * terms["re"]
        total = part if total is None else total + part
    if weights.gamma > 0 and total is not None:
        total = total + weights.gamma * terms["geo"]
    if total is None:
        raise ConfigError("every stage-1 loss term is switched off; enable at least one of align, category, multidesc, recon")
    return total
