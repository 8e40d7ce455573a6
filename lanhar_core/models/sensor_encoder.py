"""Stage-2 sensor encoder: IMU window -> embedding in the text encoder's space (paper 3.5.1).

Structure, as in the paper: input normalisation, linear projection + LayerNorm, positional
encoding, a post-norm Transformer encoder, pooling, and a projection into the text space.

Normalisation (``InputNormalizer``, part of the module so that an exported model takes raw
canonical units). Each sample of a window becomes 11 features, then every feature is
standardised with mean/std fitted on the training windows and stored as buffers:

- ``acc - mean_window(acc)`` (3): dynamic acceleration. Subtracting the window mean removes
  the gravity offset, whose split over the device axes depends on how the phone is held or
  where it is worn, the main thing that does *not* transfer across placements.
- ``gyro`` (3): angular rate, already zero-mean for a device at rest.
- ``|acc| - g`` (1) and ``|gyro|`` (1): orientation-invariant magnitudes; ``|acc|`` keeps the
  gravity magnitude (impact peaks, free fall) that the mean subtraction would lose.
- ``mean_window(acc) / g`` (3): the gravity direction in the device frame, constant over the
  window. It is the only posture cue (sit vs stand vs lie for one placement); it is kept as
  separate channels so the model can learn how much to trust it, and the rotation
  augmentation in training varies it together with the signals.

With ``input_frame = "gravity"`` the device-frame channels are replaced by their projections
on the window's gravity direction, which do not depend on how the device is held: vertical
dynamic acceleration and the magnitude of its horizontal part, vertical angular rate (turning
about the vertical) and the magnitude of the horizontal one; the magnitudes and the gravity
direction stay (9 features). This trades the device-frame detail for placement invariance,
the main obstacle across datasets (pocket vs waist), like the rules writer's features do.

Tokens: the 'paper' preset uses one token per sample (120 tokens, width 384, 3 layers,
2 heads). The 'patch' preset groups ``patch`` consecutive samples into one token (120/10 = 12
tokens), which cuts attention cost by (120/12)^2 and the width to 128; a final linear
projection maps to the text width. Pooling is the mean over tokens.

The learnable temperature of the stage-2 InfoNCE lives here (``logit_scale``, as in CLIP),
so that a checkpoint carries it and the recognizer can calibrate its scores with it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import torch
from torch import nn

from lanhar_core.data.types import CHANNELS, GRAVITY
from lanhar_core.errors import ConfigError, ModelError

FRAME_FEATURES = {"device": 11, "gravity": 9}
"""Per-sample features after ``InputNormalizer`` for each input frame (see the module docstring)."""


@dataclass(frozen=True)
class SensorEncoderConfig:
    """Everything needed to rebuild the module; stored with every checkpoint and export."""

    preset: str
    embed_dim: int
    window_samples: int = 120
    patch: int = 1
    width: int = 384
    layers: int = 3
    heads: int = 2
    ff_mult: int = 4
    dropout: float = 0.1
    input_frame: str = "device"

    @property
    def n_tokens(self) -> int:
        return self.window_samples // self.patch

    @property
    def n_features(self) -> int:
        return FRAME_FEATURES[self.input_frame]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SensorEncoderConfig:
        return cls(**data)


PRESETS: dict[str, dict[str, Any]] = {
    "paper": {"patch": 1, "width": 384, "layers": 3, "heads": 2},
    "patch": {"patch": 10, "width": 128, "layers": 3, "heads": 2},
}
"""'paper': the paper's encoder (one token per sample, width = MiniLM width).
'patch': 10-sample patches as tokens and a narrower width (see the module docstring)."""


def preset_config(preset: str, embed_dim: int, window_samples: int = 120, **overrides: Any) -> SensorEncoderConfig:
    """The configuration of a named preset, validated for this window length."""
    if preset not in PRESETS:
        raise ConfigError(f"unknown sensor encoder preset {preset!r}; known: {', '.join(sorted(PRESETS))}")
    config = SensorEncoderConfig(preset=preset, embed_dim=embed_dim, window_samples=window_samples, **PRESETS[preset])
    config = replace(config, **overrides)
    if config.window_samples % config.patch:
        raise ConfigError(
            f"window of {config.window_samples} samples is not a multiple of the preset's patch size "
            f"{config.patch}; choose another data.window_samples or preset"
        )
    if config.input_frame not in FRAME_FEATURES:
        raise ConfigError(
            f"unknown sensor encoder input frame {config.input_frame!r}; known: {', '.join(sorted(FRAME_FEATURES))}"
        )
    if config.width % config.heads:
        raise ConfigError(f"sensor encoder width {config.width} is not divisible by {config.heads} heads")
    return config


def create_sensor_encoder(preset: str, embed_dim: int, window_samples: int = 120, **overrides: Any) -> SensorEncoder:
    """Factory (open_clip style): a freshly initialised encoder of a named preset."""
    return SensorEncoder(preset_config(preset, embed_dim, window_samples, **overrides))


def _split_vertical(v: torch.Tensor, up: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Component of ``v`` along the unit vector ``up`` and the magnitude of the rest."""
    vertical = (v * up).sum(dim=2, keepdim=True)
    horizontal = torch.linalg.vector_norm(v - vertical * up, dim=2, keepdim=True)
    return vertical, horizontal


def window_features(x: torch.Tensor, gravity_mps2: float = GRAVITY, frame: str = "device") -> torch.Tensor:
    """(n, L, 6) canonical units -> (n, L, FRAME_FEATURES[frame]) unnormalised features (module docstring)."""
    acc = x[:, :, 0:3]
    gyro = x[:, :, 3:6]
    gravity = acc.mean(dim=1, keepdim=True)
    dynamic = acc - gravity
    acc_mag = torch.linalg.vector_norm(acc, dim=2, keepdim=True) - gravity_mps2
    gyro_mag = torch.linalg.vector_norm(gyro, dim=2, keepdim=True)
    direction = (gravity / gravity_mps2).expand(-1, x.shape[1], -1)
    if frame == "gravity":
        up = gravity / torch.linalg.vector_norm(gravity, dim=2, keepdim=True).clamp_min(1e-6)
        acc_v, acc_h = _split_vertical(dynamic, up)
        gyro_v, gyro_h = _split_vertical(gyro, up)
        return torch.cat([acc_v, acc_h, gyro_v, gyro_h, acc_mag, gyro_mag, direction], dim=2)
    return torch.cat([dynamic, gyro, acc_mag, gyro_mag, direction], dim=2)


class InputNormalizer(nn.Module):
    """Feature extraction + standardisation with statistics fitted on training windows."""

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, frame: str = "device") -> None:
        super().__init__()
        self.gravity_mps2 = GRAVITY
        self.frame = frame
        self.n_features = FRAME_FEATURES[frame]
        self.register_buffer("mean", torch.zeros(self.n_features))
        self.register_buffer("std", torch.ones(self.n_features))

    @torch.no_grad()
    def fit(self, signals: np.ndarray, max_windows: int = 20000, seed: int = 0) -> None:
        """Set mean/std from (a sample of) the training windows; std is floored to avoid blow-ups."""
        if signals.ndim != 3 or signals.shape[2] != len(CHANNELS) or len(signals) == 0:
            raise ModelError(f"cannot fit normalisation on windows of shape {signals.shape}; expected (n, L, 6), n > 0")
        rng = np.random.default_rng(seed)
        idx = rng.choice(len(signals), size=min(max_windows, len(signals)), replace=False)
        feats = window_features(torch.as_tensor(signals[np.sort(idx)], dtype=torch.float32), self.gravity_mps2, self.frame)
        flat = feats.reshape(-1, self.n_features)
        self.mean.copy_(flat.mean(dim=0))
        self.std.copy_(flat.std(dim=0).clamp_min(1e-3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (window_features(x, self.gravity_mps2, self.frame) - self.mean) / self.std


class SensorEncoder(nn.Module):
    """(n, window_samples, 6) raw canonical units -> (n, embed_dim) unnormalised embeddings."""

    def __init__(self, config: SensorEncoderConfig) -> None:
        super().__init__()
        self.config = config
        self.n_tokens = config.n_tokens
        self.token_features = config.patch * config.n_features
        self.normalizer = InputNormalizer(config.input_frame)
        self.patch_proj = nn.Linear(self.token_features, config.width)
        self.patch_norm = nn.LayerNorm(config.width)
        self.pos_embed = nn.Parameter(torch.zeros(1, config.n_tokens, config.width))
        nn.init.normal_(self.pos_embed, std=0.02)
        layer = nn.TransformerEncoderLayer(
            d_model=config.width,
            nhead=config.heads,
            dim_feedforward=config.ff_mult * config.width,
            dropout=config.dropout,
            activation="gelu",
            batch_first=True,
            norm_first=False,
        )
        self.transformer = nn.TransformerEncoder(layer, num_layers=config.layers, enable_nested_tensor=False)
        self.head = nn.Linear(config.width, config.embed_dim)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = self.normalizer(x)
        n = feats.shape[0]
        tokens = feats.reshape(n, self.n_tokens, self.token_features)
        h = self.patch_norm(self.patch_proj(tokens)) + self.pos_embed
        h = self.transformer(h)
        return self.head(h.mean(dim=1))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """L2-normalised embeddings, the form every similarity in LanHAR uses."""
        return nn.functional.normalize(self(x), dim=-1)

    def temperature(self) -> float:
        """The InfoNCE temperature, with the logit scale clamped as in training (T >= 0.01)."""
        return float(1.0 / self.logit_scale.detach().clamp(0.0, math.log(100.0)).exp())

    def check_input(self, signals: np.ndarray) -> None:
        """Raise ``ModelError`` naming the expected shape when windows do not fit this model."""
        expected = (self.config.window_samples, len(CHANNELS))
        if signals.ndim != 3 or tuple(signals.shape[1:]) != expected:
            raise ModelError(
                f"windows of shape {tuple(signals.shape)} do not fit this sensor encoder, which expects "
                f"(n, {expected[0]}, {expected[1]}) in canonical units; resample and window the data "
                f"with the model's preprocessing settings"
            )


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@torch.no_grad()
def encode_windows(model: SensorEncoder, signals: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """L2-normalised embeddings of many windows, in eval mode, batched to bound memory.

    Runs on the model's device (``lanhar_core.runtime``) and returns numpy on the CPU.
    """
    model.check_input(signals)
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out = [
        model.embed(torch.as_tensor(signals[i : i + batch_size], dtype=torch.float32, device=device)).cpu().numpy()
        for i in range(0, len(signals), batch_size)
    ]
    model.train(was_training)
    if not out:
        return np.zeros((0, model.config.embed_dim), dtype=np.float32)
    return np.concatenate(out).astype(np.float32)
