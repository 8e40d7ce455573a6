"""Sensor encoder: presets, shapes, the normalisation inside the model, augmentation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lanhar_core.errors import ConfigError, ModelError
from lanhar_core.models.augment import augment, random_rotations
from lanhar_core.models.sensor_encoder import (
    FRAME_FEATURES,
    count_parameters,
    create_sensor_encoder,
    encode_windows,
    window_features,
)
from lanhar_core.models.synthetic import ACTIVITIES, synthetic_windows


@pytest.mark.parametrize("preset, tokens", [("paper", 120), ("patch", 12)])
def test_presets_shapes_and_unit_embeddings(preset: str, tokens: int) -> None:
    model = create_sensor_encoder(preset, embed_dim=384).eval()
    assert model.n_tokens == tokens
    x = torch.randn(3, 120, 6)
    assert model(x).shape == (3, 384)
    norms = model.embed(x).norm(dim=1)
    assert torch.allclose(norms, torch.ones(3), atol=1e-5)


def test_patch_preset_is_much_smaller_than_paper() -> None:
    paper = count_parameters(create_sensor_encoder("paper", 384))
    patch = count_parameters(create_sensor_encoder("patch", 384))
    assert patch * 5 < paper


def test_invalid_presets_and_inputs_are_explained() -> None:
    with pytest.raises(ConfigError, match="unknown sensor encoder preset"):
        create_sensor_encoder("huge", 384)
    with pytest.raises(ConfigError, match="not a multiple"):
        create_sensor_encoder("patch", 384, window_samples=125)
    model = create_sensor_encoder("patch", 16, width=32, layers=1)
    with pytest.raises(ModelError, match=r"expects \(n, 120, 6\)"):
        encode_windows(model, np.zeros((2, 100, 6), dtype=np.float32))


def test_magnitude_features_do_not_depend_on_orientation() -> None:
    signals, _, _ = synthetic_windows(ACTIVITIES[1:2], 4, seed=0)
    x = torch.as_tensor(signals)
    rot = random_rotations(4, 180.0, torch.Generator().manual_seed(0)).transpose(1, 2)
    turned = torch.cat([x[:, :, :3] @ rot, x[:, :, 3:] @ rot], dim=2)
    a, b = window_features(x), window_features(turned)
    assert a.shape == (4, 120, FRAME_FEATURES["device"])
    assert torch.allclose(a[:, :, 6:8], b[:, :, 6:8], atol=1e-4)
    assert not torch.allclose(a[:, :, 8:], b[:, :, 8:], atol=1e-2)


def _turned(x: torch.Tensor, seed: int) -> torch.Tensor:
    rot = random_rotations(len(x), 180.0, torch.Generator().manual_seed(seed)).transpose(1, 2)
    return torch.cat([x[:, :, :3] @ rot, x[:, :, 3:] @ rot], dim=2)


def test_gravity_frame_features_do_not_depend_on_how_the_device_is_held() -> None:
    signals, _, _ = synthetic_windows(ACTIVITIES[1:2], 4, seed=0)
    x = torch.as_tensor(signals)
    a, b = window_features(x, frame="gravity"), window_features(_turned(x, 1), frame="gravity")
    assert a.shape == (4, 120, FRAME_FEATURES["gravity"])
    assert torch.allclose(a[:, :, :6], b[:, :, :6], atol=1e-3)
    assert not torch.allclose(a[:, :, 6:], b[:, :, 6:], atol=1e-2)
    assert not torch.allclose(window_features(x)[:, :, :6], window_features(_turned(x, 1))[:, :, :6], atol=1e-2)


def test_gravity_frame_splits_a_vertical_bounce_from_a_horizontal_sway() -> None:
    t = torch.arange(120) / 20.0
    x = torch.zeros(1, 120, 6)
    x[0, :, 1] = 9.81 + 2 * torch.sin(2 * torch.pi * 1.8 * t)
    x[0, :, 0] = 0.5 * torch.sin(2 * torch.pi * 1.0 * t)
    x[0, :, 4] = 0.7
    feats = window_features(x, frame="gravity")[0]
    acc_v, acc_h, gyro_v, gyro_h = feats[:, 0], feats[:, 1], feats[:, 2], feats[:, 3]
    assert acc_v.std() == pytest.approx(2 / 2**0.5, rel=0.05)
    assert acc_h.max() == pytest.approx(0.5, rel=0.02)
    assert torch.allclose(gyro_v, torch.full_like(gyro_v, 0.7), atol=1e-4) and gyro_h.abs().max() < 1e-3


def test_unknown_input_frame_is_explained() -> None:
    with pytest.raises(ConfigError, match="unknown sensor encoder input frame 'world'"):
        create_sensor_encoder("patch", 16, input_frame="world")


def test_normalizer_standardises_training_features() -> None:
    signals, _, _ = synthetic_windows(ACTIVITIES[:4], 10, seed=1)
    model = create_sensor_encoder("patch", 16, width=32, layers=1)
    model.normalizer.fit(signals)
    feats = model.normalizer(torch.as_tensor(signals)).reshape(-1, FRAME_FEATURES["device"])
    assert torch.allclose(feats.mean(dim=0), torch.zeros(FRAME_FEATURES["device"]), atol=1e-3)
    varying = feats.std(dim=0) > 0.5
    assert varying[:8].all()


def test_rotations_are_proper_and_augment_keeps_acc_gyro_frame() -> None:
    gen = torch.Generator().manual_seed(3)
    rot = random_rotations(5, 180.0, gen)
    assert torch.allclose(rot @ rot.transpose(1, 2), torch.eye(3).expand(5, 3, 3), atol=1e-5)
    assert torch.allclose(torch.linalg.det(rot), torch.ones(5), atol=1e-5)
    x = torch.randn(5, 120, 6)
    y = augment(x, torch.Generator().manual_seed(1), rotation_deg=90.0)
    assert torch.allclose(x[:, :, :3].norm(dim=2), y[:, :, :3].norm(dim=2), atol=1e-4)
    assert torch.allclose(x[:, :, 3:].norm(dim=2), y[:, :, 3:].norm(dim=2), atol=1e-4)
    warped = augment(x, torch.Generator().manual_seed(1), scale=0.1, warp=0.1)
    assert warped.shape == x.shape and not torch.equal(warped, x)


def test_best_epoch_keeps_the_best_weights_and_restores_them() -> None:
    from lanhar_core.models.stage2 import BestEpoch

    model = create_sensor_encoder("patch", 8)
    best = BestEpoch()
    assert best.offer(1, 0.5, model)
    kept = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    assert not best.offer(2, 0.5, model), "a tie keeps the earlier epoch"
    assert not best.offer(3, float("nan"), model)
    best.restore(model)
    assert best.epoch == 1
    assert all(torch.equal(kept[k], v) for k, v in model.state_dict().items())


def test_labelled_validation_scores_nearest_label_macro_f1() -> None:
    from lanhar_core.models.sensor_encoder import encode_windows
    from lanhar_core.models.stage2 import LabelledValidation

    torch.manual_seed(0)
    model = create_sensor_encoder("patch", 8)
    signals = np.random.default_rng(0).normal(size=(6, 120, 6)).astype(np.float32)
    emb = encode_windows(model, signals)
    labels = np.array(["a", "a", "a", "b", "b", "b"])
    perfect = LabelledValidation(signals[[0, 3]], labels[[0, 3]], ["a", "b"], emb[[0, 3]])
    assert perfect.macro_f1(model) == 1.0
    swapped = LabelledValidation(signals[[0, 3]], labels[[0, 3]], ["a", "b"], emb[[3, 0]])
    assert swapped.macro_f1(model) == 0.0
    with pytest.raises(Exception, match="2 label names but 1 vectors"):
        LabelledValidation(signals, labels, ["a", "b"], emb[:1])
