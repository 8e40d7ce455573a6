"""Synthetic IMU windows with interpretation-like texts, for tests, benchmarks and demos.

Each activity is a combination of three properties that its windows show and its texts
name: movement strength (amplitude), rhythm (frequency) and the dominant axis (vertical
bounce vs horizontal sway). Because the words are compositional, a model that learned the
three properties from some combinations can place an unseen combination (described only
in words) near its windows: the open-vocabulary situation in miniature.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lanhar_core.data.types import GRAVITY


@dataclass(frozen=True)
class SyntheticActivity:
    name: str
    amplitude_mps2: float
    frequency_hz: float
    vertical: bool
    strength: str
    rhythm: str

    def description(self) -> str:
        """A label description in the style of the interpretation texts."""
        axis = "vertical bouncing" if self.vertical else "horizontal swaying"
        return f"{self.strength} {axis} with a {self.rhythm} rhythm"


ACTIVITIES: tuple[SyntheticActivity, ...] = (
    SyntheticActivity("still", 0.05, 0.5, True, "almost no", "barely noticeable"),
    SyntheticActivity("walk", 2.0, 1.8, True, "moderate", "steady"),
    SyntheticActivity("shake", 2.0, 4.5, False, "moderate", "very fast"),
    SyntheticActivity("sway", 6.0, 0.8, False, "strong", "slow"),
    SyntheticActivity("jump", 6.0, 0.8, True, "strong", "slow"),
)
"""'jump' is the natural held-out class: strong and slow like 'sway', vertical like 'walk'."""

_TEMPLATES = (
    "The signal shows {d}.",
    "Pattern summary: {d}; numbers are consistent over the window.",
    "A window of {d}, acceleration dominated by one axis.",
)


def synthetic_windows(
    activities: tuple[SyntheticActivity, ...],
    n_per_class: int,
    seed: int,
    rate_hz: float = 20.0,
    length: int = 120,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(n, length, 6) windows in canonical units, their activity names, and one text per window.

    Amplitude and frequency vary +/-15 % around the activity's values; the phone's
    orientation is fixed (gravity on +z) so the axis property is visible in the device frame.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(length) / rate_hz
    signals, labels, texts = [], [], []
    for activity in activities:
        for _ in range(n_per_class):
            amp = activity.amplitude_mps2 * rng.uniform(0.85, 1.15)
            freq = activity.frequency_hz * rng.uniform(0.85, 1.15)
            wave = amp * np.sin(2 * np.pi * freq * t + rng.uniform(0, 2 * np.pi))
            x = rng.normal(0, 0.05, size=(length, 6))
            x[:, 2] += GRAVITY
            if activity.vertical:
                x[:, 2] += wave
                x[:, 3] += 0.1 * amp * np.cos(2 * np.pi * freq * t)
            else:
                x[:, 0] += wave
                x[:, 5] += 0.1 * amp * np.cos(2 * np.pi * freq * t)
            signals.append(x)
            labels.append(activity.name)
            texts.append(_TEMPLATES[int(rng.integers(len(_TEMPLATES)))].format(d=activity.description()))
    return np.asarray(signals, dtype=np.float32), np.asarray(labels, dtype=object), texts
