"""A tiny public-dataset folder for the default-model build, made from the built-in sample.

The build reads datasets with their own readers from a data root; here the sample's
MotionSense excerpt (three subjects, real recordings) is written back in the MotionSense
layout, 50 Hz, iOS sign, g, so the build runs in seconds without ../shared/data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from lanhar_core.data.sample import read_sample, sample_dir
from lanhar_core.data.types import GRAVITY

NATIVE_RATE_HZ = 50.0


def write_tiny_motionsense(root: Path, seconds: float = 40.0) -> Path:
    """``root/motionsense/A_DeviceMotion_data/<trial>/sub_<n>.csv`` from the sample; returns ``root``."""
    for recording in read_sample(sample_dir() / "motionsense.npz"):
        n = min(recording.n_samples, int(seconds * recording.rate_hz))
        t = np.arange(n) / recording.rate_hz
        t_native = np.arange(0.0, t[-1], 1.0 / NATIVE_RATE_HZ)
        signals = np.column_stack([np.interp(t_native, t, recording.signals[:n, c]) for c in range(6)])
        acc_g = -signals[:, :3] / GRAVITY
        table = pd.DataFrame({
            "gravity.x": acc_g[:, 0], "gravity.y": acc_g[:, 1], "gravity.z": acc_g[:, 2],
            "userAcceleration.x": 0.0, "userAcceleration.y": 0.0, "userAcceleration.z": 0.0,
            "rotationRate.x": signals[:, 3], "rotationRate.y": signals[:, 4], "rotationRate.z": signals[:, 5],
        })
        trial, subject = recording.key.split("/")
        folder = root / "motionsense" / "A_DeviceMotion_data" / trial
        folder.mkdir(parents=True, exist_ok=True)
        table.to_csv(folder / f"{subject}.csv")
    (root / "motionsense" / "SOURCE.md").write_text(
        "# MotionSense (test excerpt)\n\n## Citation / license\nRepository license: MIT.\n\n## Layout\n", encoding="utf-8"
    )
    return root
