"""Stage-1 loss terms on hand-made embeddings: values, gradient direction, masking, multi-positives."""

from __future__ import annotations

import math

import pytest
import torch
from torch.nn import functional as F

from lanhar_core.errors import ConfigError
from lanhar_core.models import losses
from lanhar_core.models.text_decoder import TextDecoder

SCALE = torch.tensor(math.log(1 / 0.07))


def unit(rows: list[list[float]], requires_grad: bool = False) -> torch.Tensor:
    return F.normalize(torch.tensor(rows, dtype=torch.float32), dim=1).requires_grad_(requires_grad)


def test_align_low_for_matching_pairs_high_for_swapped() -> None:
    z = unit([[1, 0, 0], [0, 1, 0], [0, 0, 1]])
    labels = torch.tensor([0, 1, 2])
    aligned = losses.align_loss(z, z.clone(), labels, labels, SCALE)
    swapped = losses.align_loss(z, z[[1, 2, 0]], labels, labels, SCALE)
    assert aligned < 1e-5
    assert swapped > 10


def test_align_with_one_positive_per_row_equals_clip() -> None:
    torch.manual_seed(0)
    z, h = F.normalize(torch.randn(5, 8), dim=1), F.normalize(torch.randn(5, 8), dim=1)
    labels = torch.arange(5)
    logits = SCALE.exp() * z @ h.T
    clip = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2
    assert torch.allclose(losses.align_loss(z, h, labels, labels, SCALE), clip, atol=1e-6)


def test_align_counts_windows_of_the_same_label_as_positives() -> None:
    # Two windows of label 0 identical to label 0's description, one window of label 1.
    z = unit([[1, 0], [1, 0], [0, 1]])
    h = unit([[1, 0], [0, 1]])
    multi = losses.align_loss(z, h, torch.tensor([0, 0, 1]), torch.tensor([0, 1]), SCALE)
    # Perfect embeddings: windows -> labels costs nothing; label 0 -> windows has two equally
    # good positives, so only the soft target's entropy ln 2 remains (1 of 2 rows, halved).
    assert multi == pytest.approx(math.log(2) / 4, abs=1e-3)
    # Single-positive CLIP on the same embeddings treats the duplicate as a negative:
    # ln 2 on 2 of 3 rows in each direction.
    single = losses.align_loss(z, z.clone(), torch.arange(3), torch.arange(3), SCALE)
    assert single == pytest.approx(2 / 3 * math.log(2), abs=1e-3)


def test_align_gradient_step_brings_positives_closer() -> None:
    torch.manual_seed(1)
    z = F.normalize(torch.randn(6, 8), dim=1).requires_grad_(True)
    h = F.normalize(torch.randn(3, 8), dim=1)
    z_labels, h_labels = torch.tensor([0, 0, 1, 1, 2, 2]), torch.tensor([0, 1, 2])
    positive = z_labels[:, None] == h_labels[None, :]
    before_loss = losses.align_loss(z, h, z_labels, h_labels, SCALE)
    before_loss.backward()
    moved = F.normalize(z.detach() - 0.01 * z.grad, dim=1)
    before, after = z.detach() @ h.T, moved @ h.T
    assert after[positive].mean() > before[positive].mean()
    assert after[~positive].mean() < before[~positive].mean()
    assert losses.align_loss(moved, h, z_labels, h_labels, SCALE) < before_loss


def test_bpr_equals_the_formula_on_one_triplet() -> None:
    emb = unit([[1, 0], [0.8, 0.6], [0, 1]])
    groups = torch.tensor([0, 0, 1])
    sims = emb @ emb.T
    # Valid triplets (i, j, k): (0,1,2), (1,0,2).
    expected = -(F.logsigmoid(sims[0, 1] - sims[0, 2]) + F.logsigmoid(sims[1, 0] - sims[1, 2])) / 2
    assert torch.allclose(losses.bpr_loss(emb, groups), expected)


def test_bpr_ignores_unknown_groups_and_is_zero_without_triplets() -> None:
    emb = unit([[1, 0], [0.8, 0.6], [0, 1], [0.5, 0.5]])
    with_unknown = losses.bpr_loss(emb, torch.tensor([0, 0, 1, -1]))
    without = losses.bpr_loss(emb[:3], torch.tensor([0, 0, 1]))
    assert torch.allclose(with_unknown, without)
    assert float(losses.bpr_loss(emb, torch.tensor([0, 0, 0, 0]))) == 0.0


def test_category_loss_gradient_pulls_same_category_together() -> None:
    emb = unit([[1, 0.2, 0], [0.2, 1, 0], [0.9, 0, 0.4]], requires_grad=True)
    categories = torch.tensor([0, 0, 1])  # rows 0 and 1 share a category, row 2 does not
    before = emb.detach() @ emb.detach().T
    losses.category_loss(emb, categories).backward()
    moved = F.normalize(emb.detach() - 0.05 * emb.grad, dim=1)
    after = moved @ moved.T
    assert after[0, 1] > before[0, 1]
    assert after[0, 2] < before[0, 2]


def test_multi_description_loss_prefers_grouped_descriptions() -> None:
    labels = torch.tensor([0, 0, 1, 1])
    grouped = unit([[1, 0], [0.95, 0.3], [0, 1], [0.3, 0.95]])
    mixed = grouped[[0, 2, 1, 3]]
    assert losses.multi_description_loss(grouped, labels) < losses.multi_description_loss(mixed, labels)


def test_reconstruction_ignores_padding() -> None:
    torch.manual_seed(2)
    logits = torch.randn(2, 4, 10)
    targets = torch.tensor([[3, 4, 0, 0], [5, 6, 7, 0]])
    value = losses.reconstruction_loss(logits, targets, pad_id=0)
    keep = targets != 0
    expected = F.cross_entropy(logits[keep], targets[keep])
    assert torch.allclose(value, expected)
    changed = logits.clone()
    changed[0, 2:] = 100.0  # whatever the model says at padded positions does not count
    assert torch.allclose(losses.reconstruction_loss(changed, targets, pad_id=0), value)


def test_decoder_shapes_causality_and_padding_mask() -> None:
    torch.manual_seed(3)
    decoder = TextDecoder(vocab_size=50, width=16, pad_id=0, layers=2, heads=2, max_length=8).eval()
    memory = torch.randn(2, 16)
    targets = torch.tensor([[1, 5, 6, 7, 2, 0, 0, 0], [1, 9, 2, 0, 0, 0, 0, 0]])
    logits = decoder(memory, targets)
    assert logits.shape == (2, 7, 50)
    assert decoder.loss_targets(targets).shape == (2, 7)
    # Causal: changing a later token leaves the earlier positions' predictions unchanged.
    later = targets.clone()
    later[0, 4] = 11
    assert torch.allclose(decoder(memory, later)[0, :4], logits[0, :4], atol=1e-5)
    # The memory matters: another embedding gives other predictions.
    assert not torch.allclose(decoder(memory.flip(0), targets), logits)


def test_total_loss_switches_terms_and_weights_them() -> None:
    terms = {k: torch.tensor(v) for k, v in {"align": 1.0, "ca1": 2.0, "ca2": 3.0, "ca3": 4.0, "re": 5.0}.items()}
    full = losses.LossWeights(alpha=0.5, beta=0.1)
    assert float(losses.total_loss(terms, full)) == pytest.approx(1 + 0.5 * 9 + 0.1 * 5)
    no_category = losses.LossWeights(alpha=0.5, beta=0.1, category=False, recon=False)
    assert float(losses.total_loss(terms, no_category)) == pytest.approx(1 + 0.5 * 4)
    with pytest.raises(ConfigError):
        losses.total_loss(terms, losses.LossWeights(0.5, 0.1, False, False, False, False))


def test_geometry_loss_is_zero_for_the_same_geometry_and_counts_in_the_total() -> None:
    emb = F.normalize(torch.randn(6, 8), dim=-1)
    rotation, _ = torch.linalg.qr(torch.randn(8, 8))
    assert float(losses.geometry_loss(emb @ rotation, emb)) == pytest.approx(0.0, abs=1e-6)
    assert float(losses.geometry_loss(F.normalize(torch.randn(6, 8), dim=-1), emb)) > 0.01
    terms = {"align": torch.tensor(1.0), "geo": torch.tensor(2.0)}
    weights = losses.LossWeights(alpha=0.5, beta=0.1, category=False, multidesc=False, recon=False, gamma=0.25)
    assert float(losses.total_loss(terms, weights)) == pytest.approx(1.5)
