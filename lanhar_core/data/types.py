"""Canonical in-memory forms of IMU data.

A ``Recording`` is what every reader returns: one continuous capture from one device,
already converted to canonical units (acc in m/s^2 including gravity, gyro in rad/s,
Android sign convention) at its original rate. ``Windows`` is a batch of fixed-length
windows cut from resampled recordings, as the store keeps them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from lanhar_core.errors import InvalidSignalError

CHANNELS: tuple[str, ...] = ("acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z")
"""Channel order of every signal array: acc in m/s^2 (with gravity), gyro in rad/s."""

GRAVITY = 9.80665


@dataclass
class Recording:
    """One continuous capture in canonical units at its original rate.

    ``labels`` holds one canonical activity name per sample (``None`` where unlabeled);
    ``native_labels`` the dataset's own name for the same samples, so the store can keep both.
    ``key`` identifies the recording within its dataset (stable across re-ingestion).
    ``segments`` (optional, one integer per sample) marks gaps inside a recording: samples
    with different segment ids are not contiguous in time, so resampling filters each
    segment separately and no window spans two segments. ``None`` means one gap-free stretch.
    """

    dataset: str
    key: str
    subject: str
    signals: np.ndarray
    rate_hz: float
    labels: np.ndarray
    native_labels: np.ndarray
    session: str = ""
    device: str = ""
    placement: str = ""
    source_file: str = ""
    meta: dict[str, str] = field(default_factory=dict)
    segments: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.signals = np.asarray(self.signals, dtype=np.float32)
        if self.signals.ndim != 2 or self.signals.shape[1] != len(CHANNELS):
            raise InvalidSignalError(
                f"recording {self.key!r}: signals must have shape (n, 6) "
                f"[{', '.join(CHANNELS)}], got {self.signals.shape}"
            )
        n = self.signals.shape[0]
        self.labels = np.asarray(self.labels, dtype=object)
        self.native_labels = np.asarray(self.native_labels, dtype=object)
        if self.labels.shape != (n,) or self.native_labels.shape != (n,):
            raise InvalidSignalError(
                f"recording {self.key!r}: {n} samples but {self.labels.shape[0]} labels "
                f"and {self.native_labels.shape[0]} native labels"
            )
        if self.rate_hz <= 0:
            raise InvalidSignalError(f"recording {self.key!r}: sampling rate must be positive, got {self.rate_hz}")
        if self.segments is not None:
            self.segments = np.asarray(self.segments, dtype=np.int64)
            if self.segments.shape != (n,):
                raise InvalidSignalError(
                    f"recording {self.key!r}: {n} samples but {self.segments.shape[0]} segment ids"
                )

    def segment_ids(self) -> np.ndarray:
        """One segment id per sample (all zeros for a gap-free recording)."""
        return self.segments if self.segments is not None else np.zeros(self.n_samples, dtype=np.int64)

    @property
    def n_samples(self) -> int:
        return int(self.signals.shape[0])

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.rate_hz


@dataclass
class Windows:
    """A batch of windows: ``signals`` is (n, length, 6) float32 in canonical units.

    ``recording_keys``/``starts`` locate each window in its recording (start sample at the
    resampled rate); ``labels`` is the canonical activity or ``None`` when mixed/unlabeled.
    """

    signals: np.ndarray
    rate_hz: float
    recording_keys: np.ndarray
    starts: np.ndarray
    labels: np.ndarray
    native_labels: np.ndarray

    def __len__(self) -> int:
        return int(self.signals.shape[0])


@dataclass
class WindowSet:
    """Windows as loaded from the store: everything downstream stages need, aligned by row.

    ``labels`` is the canonical activity (``None`` for unlabeled or mixed windows);
    downstream code that must not see labels (interpretation backends, stage 2) simply
    does not read that field.
    """

    ids: np.ndarray
    signals: np.ndarray
    rate_hz: float
    datasets: np.ndarray
    subjects: np.ndarray
    recording_ids: np.ndarray
    placements: np.ndarray
    labels: np.ndarray
    native_labels: np.ndarray
    upright_known: np.ndarray | None = None
    """Per window, whether ``signals`` are in the body-segment frame (``signal.segment_frame``);
    ``None``: device axes, never converted."""

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    @classmethod
    def concat(cls, parts: Sequence[WindowSet]) -> WindowSet:
        """One set of the rows of ``parts`` in order (same rate; ``upright_known`` kept when every part has it)."""
        if not parts:
            raise InvalidSignalError("no window sets to join")
        rates = {float(p.rate_hz) for p in parts}
        if len(rates) > 1:
            raise InvalidSignalError(f"cannot join windows at rates {sorted(rates)} Hz")
        known = None if any(p.upright_known is None for p in parts) else np.concatenate([p.upright_known for p in parts])
        return cls(
            **{name: np.concatenate([getattr(p, name) for p in parts])
               for name in ("ids", "signals", "datasets", "subjects", "recording_ids", "placements", "labels", "native_labels")},
            rate_hz=parts[0].rate_hz,
            upright_known=known,
        )

    def with_signals(self, signals: np.ndarray, upright_known: np.ndarray) -> WindowSet:
        """The same windows with converted signals (same rows, same order)."""
        return dataclasses.replace(self, signals=signals, upright_known=np.asarray(upright_known, dtype=bool))

    def subset(self, mask: np.ndarray) -> WindowSet:
        """Rows selected by a boolean mask or an index array."""
        return WindowSet(
            ids=self.ids[mask],
            signals=self.signals[mask],
            rate_hz=self.rate_hz,
            datasets=self.datasets[mask],
            subjects=self.subjects[mask],
            recording_ids=self.recording_ids[mask],
            placements=self.placements[mask],
            labels=self.labels[mask],
            native_labels=self.native_labels[mask],
            upright_known=None if self.upright_known is None else self.upright_known[mask],
        )
