"""The body-segment frame: device axes turned so that +Z is the worn segment's long axis.

A posture is an orientation of a body segment (thigh near horizontal when seated, trunk
horizontal when lying), but a sensor reports gravity in its own device axes, and how a
device sits on the segment differs between datasets and people: HAPT's phone has +x up
on an upright trunk, MotionSense's pocket phone -y, DSADS's leg unit -x. Gravity alone
therefore cannot say "thigh horizontal" until the segment's axis is known in device axes.

People stand upright while they walk, so the direction of gravity during their own gait
windows (rhythmic, moving) is the segment's long axis pointing up. ``upright_reference``
estimates it from a group of windows of one person (or one recording, when that person's
gait windows disagree); ``to_segment_frame`` rotates each group's windows so
that this direction becomes +Z. Afterwards the tilt of a window's mean acceleration from
+Z is the segment's tilt from vertical, comparable across datasets and placements. The
rotation about the long axis (the heading of the device around the segment) stays
unknown; stage 2 learns invariance to it (``models.augment.random_heading_rotations``).

Windows of a group without enough gait keep their device frame and are marked as such
(``WindowSet.upright_known``), so that the writer says it cannot tell the orientation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lanhar_core.data.types import WindowSet
from lanhar_core.signal.features import rotation_to_z

GAIT_MIN_BODY_RMS_MPS2 = 1.0
"""|acc| variation (std) from which a window moves enough to be gait: HAPT walking has a
median body RMS of 3.1 m/s^2, its static windows 0.16 (docs/RULES_WRITER.md)."""

GAIT_MIN_AUTOCORR = 0.4
"""Normalised autocorrelation of |acc| at one step or stride (0.3-2 s) that makes a window
rhythmic; what a repeated gait cycle gives and irregular handling of a device does not."""

MIN_GAIT_WINDOWS = 3
"""Gait windows a group needs before its median gravity direction is trusted as upright."""

MIN_GAIT_SHARE = 0.6
"""Share of gait windows whose gravity lies within 30 deg of the median: below it the gait
windows disagree (e.g. pedalling with a horizontal thigh mixed with walking) and the
reference is not trusted."""

LAG_RANGE_S: tuple[float, float] = (0.3, 2.0)
"""Lags searched for the gait period: a fast step (0.3 s) to a slow stride (2 s)."""


def gait_mask(signals: np.ndarray, rate_hz: float) -> np.ndarray:
    """Which (n, L, 6) windows are rhythmic, moving gait-like windows (vectorised over windows)."""
    acc = np.asarray(signals[:, :, :3], dtype=np.float64)
    mag = np.linalg.norm(acc, axis=2)
    centred = mag - mag.mean(axis=1, keepdims=True)
    moving = centred.std(axis=1) >= GAIT_MIN_BODY_RMS_MPS2
    length = centred.shape[1]
    lo = max(1, int(round(LAG_RANGE_S[0] * rate_hz)))
    hi = min(length - 2, int(round(LAG_RANGE_S[1] * rate_hz)))
    if hi < lo:
        return np.zeros(len(acc), dtype=bool)
    spectrum = np.fft.rfft(centred, n=2 * length, axis=1)
    auto = np.fft.irfft(spectrum * np.conj(spectrum), axis=1)[:, :length]
    auto = auto / np.clip(auto[:, :1], 1e-9, None)
    return moving & (auto[:, lo : hi + 1].max(axis=1) >= GAIT_MIN_AUTOCORR)


def _unit_gravity(signals: np.ndarray) -> np.ndarray:
    mean = np.asarray(signals[:, :, :3], dtype=np.float64).mean(axis=1)
    return mean / np.clip(np.linalg.norm(mean, axis=1, keepdims=True), 1e-9, None)


def upright_reference(signals: np.ndarray, rate_hz: float) -> np.ndarray | None:
    """The segment's long axis (pointing up) in device axes, from the group's gait windows; ``None`` if unknown."""
    if len(signals) == 0:
        return None
    gait = gait_mask(signals, rate_hz)
    if int(gait.sum()) < MIN_GAIT_WINDOWS:
        return None
    directions = _unit_gravity(signals[gait])
    median = np.median(directions, axis=0)
    norm = float(np.linalg.norm(median))
    if norm < 1e-6:
        return None
    median = median / norm
    agreeing = float(np.mean(directions @ median >= np.cos(np.radians(30.0))))
    return median if agreeing >= MIN_GAIT_SHARE else None


def segment_tilt_deg(signals: np.ndarray) -> np.ndarray:
    """Angle (deg) between each segment-frame window's mean acceleration and +Z: 0 upright, 90 horizontal."""
    up = _unit_gravity(np.asarray(signals))
    return np.degrees(np.arccos(np.clip(up[:, 2], -1.0, 1.0)))


def rotate_windows(signals: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    """Acc and gyro of (n, L, 6) windows turned by the same 3x3 rotation (they share the device frame)."""
    r = np.asarray(rotation, dtype=np.float64).T
    out = np.empty_like(signals)
    out[:, :, :3] = signals[:, :, :3] @ r
    out[:, :, 3:] = signals[:, :, 3:] @ r
    return out


@dataclass(frozen=True)
class FrameReport:
    """Per group: the upright reference found (device axes) or ``None``, and how it was found."""

    references: dict[str, tuple[float, float, float] | None]
    source: dict[str, str]

    @property
    def known_share(self) -> float:
        return float(np.mean([r is not None for r in self.references.values()])) if self.references else 0.0


def _group_keys(windows: WindowSet, by: Sequence[np.ndarray]) -> np.ndarray:
    return np.array(["/".join(str(part[i]) for part in by) for i in range(len(windows))], dtype=object)


def to_segment_frame(windows: WindowSet) -> tuple[WindowSet, FrameReport]:
    """Windows rotated so that each recording's upright segment axis is +Z, and what was found.

    The reference comes from all windows of the same person and placement in that dataset
    (a recording of pedalling or rowing alone would otherwise make a bent thigh "upright"),
    else, when that person's gait windows disagree (the device was worn differently between
    recordings), from the window's own recording; windows with neither
    keep their device axes and get ``upright_known = False``. No label is read. Windows that
    went through it once come back unchanged.
    """
    if windows.upright_known is not None:
        return windows, FrameReport({}, {})
    original = np.asarray(windows.signals, dtype=np.float32)
    signals = original.copy()
    known = np.zeros(len(windows), dtype=bool)
    recording = _group_keys(windows, (windows.datasets, windows.recording_ids))
    person = _group_keys(windows, (windows.datasets, windows.subjects, windows.placements))
    person_refs: dict[str, np.ndarray | None] = {}
    references: dict[str, tuple[float, float, float] | None] = {}
    sources: dict[str, str] = {}
    for key in sorted(set(recording.tolist())):
        rows = np.flatnonzero(recording == key)
        who = str(person[rows[0]])
        if who not in person_refs:
            person_refs[who] = upright_reference(original[person == who], windows.rate_hz)
        reference, source = person_refs[who], "person"
        if reference is None:
            reference, source = upright_reference(original[rows], windows.rate_hz), "recording"
        if reference is None:
            references[key], sources[key] = None, "none"
            continue
        signals[rows] = rotate_windows(original[rows], rotation_to_z(reference)).astype(np.float32)
        known[rows] = True
        references[key] = (float(reference[0]), float(reference[1]), float(reference[2]))
        sources[key] = source
    return windows.with_signals(signals, known), FrameReport(references, sources)


def recording_to_segment_frame(signals: np.ndarray, rate_hz: float) -> tuple[np.ndarray, bool]:
    """One recording's (n, L, 6) windows in the segment frame, and whether its upright reference was found.

    What recognition of an uploaded recording uses: the recording is the person's only
    source of gait windows. Without enough gait the windows keep their device axes.
    """
    reference = upright_reference(signals, rate_hz)
    if reference is None:
        return np.asarray(signals, dtype=np.float32), False
    return rotate_windows(np.asarray(signals, dtype=np.float32), rotation_to_z(reference)).astype(np.float32), True
