"""Training-time augmentation of IMU windows for cross-placement transfer.

A phone in a pocket and one on a belt see the same movement in rotated device frames and
with different amplitudes; people walk at different speeds. The three transforms below
simulate that. Rotation turns acc and gyro by the *same* matrix (they share the device
frame), so the physical relation between them is preserved.
"""

from __future__ import annotations

import math

import torch


def random_rotations(n: int, max_deg: float, generator: torch.Generator, about_z: bool = False) -> torch.Tensor:
    """(n, 3, 3) rotations by angles uniform in [0, max_deg] about uniformly random axes, or about +z.

    About +z only (``about_z``) for windows in the body-segment frame: it changes how the
    device sits around the segment and keeps the segment's tilt, which is the posture.
    """
    if about_z:
        axis = torch.zeros(n, 3)
        axis[:, 2] = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0)
    else:
        axis = torch.randn(n, 3, generator=generator)
        axis = axis / axis.norm(dim=1, keepdim=True).clamp_min(1e-8)
    angle = torch.rand(n, generator=generator) * math.radians(max_deg)
    k = torch.zeros(n, 3, 3)
    k[:, 0, 1], k[:, 0, 2] = -axis[:, 2], axis[:, 1]
    k[:, 1, 0], k[:, 1, 2] = axis[:, 2], -axis[:, 0]
    k[:, 2, 0], k[:, 2, 1] = -axis[:, 1], axis[:, 0]
    s = torch.sin(angle).view(n, 1, 1)
    c = torch.cos(angle).view(n, 1, 1)
    return torch.eye(3).expand(n, 3, 3) + s * k + (1 - c) * (k @ k)


def time_warp(x: torch.Tensor, max_change: float, generator: torch.Generator) -> torch.Tensor:
    """Resample each window around its centre at a random speed 1 +/- ``max_change`` (linear interpolation)."""
    n, length, _ = x.shape
    speed = 1 + (torch.rand(n, 1, generator=generator) * 2 - 1) * max_change
    centre = (length - 1) / 2
    pos = (centre + (torch.arange(length).view(1, -1) - centre) * speed).clamp(0, length - 1)
    lo = pos.floor().long()
    hi = (lo + 1).clamp(max=length - 1)
    frac = (pos - lo).unsqueeze(-1)
    rows = torch.arange(n).view(-1, 1)
    return x[rows, lo] * (1 - frac) + x[rows, hi] * frac


def augment(
    x: torch.Tensor,
    generator: torch.Generator,
    rotation_deg: float = 0.0,
    scale: float = 0.0,
    warp: float = 0.0,
    about_z: bool = False,
) -> torch.Tensor:
    """Apply the enabled transforms to a (n, L, 6) batch in canonical units; zeros switch them off."""
    if rotation_deg > 0:
        rot = random_rotations(x.shape[0], rotation_deg, generator, about_z).transpose(1, 2)
        x = torch.cat([x[:, :, 0:3] @ rot, x[:, :, 3:6] @ rot], dim=2)
    if scale > 0:
        x = x * (1 + (torch.rand(x.shape[0], 1, 1, generator=generator) * 2 - 1) * scale)
    if warp > 0:
        x = time_warp(x, warp, generator)
    return x
