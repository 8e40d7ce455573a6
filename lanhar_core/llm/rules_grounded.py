"""``rules-v3``: the knowledge part of the prompt made executable (physical, placement-aware texts).

``rules-v2`` says how strong, how rhythmic and how peaked a window is, in level words of its
own; two still windows then differ in one clause about device axes, which means nothing
across placements. This writer states what a domain expert would read off the same
numbers, in physical terms that transfer between devices:

- the worn segment's orientation (thigh near vertical or near horizontal, trunk upright,
  leaning back or near horizontal, forearm hanging or raised), from the window in the
  body-segment frame (``signal.segment_frame``); with an unknown placement or no upright
  reference it says what it cannot tell;
- intensity on a published scale (ENMO cut-points of Hildebrand et al. 2014);
- cadence in steps per minute against published cadence thresholds (Tudor-Locke et al.);
- gait events: a flight phase (the body leaves the ground) or near free fall, impacts,
  the swing of the segment within the window (high knee lift), smooth cyclic motion
  without impacts.

Every threshold below names its source; ``docs/RULES_WRITER.md`` lists them with the
numbers of the named datasets they were checked on. The writer reads only signals, rate,
placement and whether the upright reference is known, never a label, and names no activity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lanhar_core.data.types import GRAVITY
from lanhar_core.llm.bands import STILL_BODY_RMS_MPS2, Bands, band
from lanhar_core.placement import SEGMENT_NAMES, Segment, segment_of
from lanhar_core.signal.features import window_features

GROUNDED_VERSION = "rules-v3"

ENMO_CUTPOINTS_MG: dict[str, tuple[float, float]] = {"trunk": (69.1, 258.7), "thigh": (69.1, 258.7), "forearm": (100.6, 428.8)}
"""(moderate, vigorous) ENMO cut-points in milli-g: Hildebrand et al. 2014 (Med Sci Sports Exerc
46:1816), adults, hip-worn (used for trunk and, lacking thigh-specific values, thigh) and wrist-worn."""

CADENCE_BANDS_SPM: Bands = ((70.0, "very slow"), (100.0, "slow"), (130.0, "moderate"), (150.0, "fast"), (float("inf"), "very fast"))
"""Steps per minute. 100 and 130: moderate- and vigorous-intensity cadence thresholds (Tudor-Locke et al.
2018, CADENCE-Adults, Br J Sports Med 52:776). 150: below self-selected running step rates (about 170/min,
Heiderscheit et al. 2011, Med Sci Sports Exerc 43:296). 70: slowest walking cadence in HAPT (5th percentile)."""

FLIGHT_MAX_G = 0.3
"""|acc| minimum (g) below which the body is airborne between contacts: free fall reads 0 g; checked on
USC-HAD (jogging: median minimum 0.15 g, walking 0.44 g) at the project's 20 Hz."""

FLIGHT_MIN_SPM = 130.0
"""A flight phase is only claimed at a vigorous cadence (Tudor-Locke's 130): pocket phones dip below
0.3 g in brisk gait too (MotionSense walking, median minimum 0.24 g, 114 steps/min)."""

FREE_FALL_G = 0.15
"""|acc| minimum (g) read as near free fall (jump landings and take-offs; USC-HAD jumping: 0.07 g)."""

TILT_BANDS: dict[str, Bands] = {
    "thigh": ((25.0, "near vertical"), (45.0, "inclined"), (float("inf"), "near horizontal")),
    "trunk": ((15.0, "upright"), (45.0, "inclined"), (70.0, "strongly inclined"), (float("inf"), "near horizontal")),
    "forearm": ((35.0, "hanging down"), (65.0, "angled"), (115.0, "near horizontal"), (float("inf"), "raised")),
}
"""Segment tilt from vertical (deg). Thigh 45: the sitting threshold of thigh inclination of Skotte et al.
2014 (Acti4, Med Sci Sports Exerc 46:1223); 25: MotionSense standing, 90th percentile 26. Trunk 15: HAPT
standing 90th percentile 12, sitting median 22; 70: HAPT lying 10th percentile 88 (with margin). Forearm:
quarter divisions of 0-180 deg around the hanging arm of gait (no published cut-point)."""

SWING_LARGE_DEG: dict[str, float] = {"thigh": 17.0, "trunk": 9.0, "forearm": 60.0}
"""Range (deg) of the 0.5 s smoothed segment tilt within a moving window called a large swing. Thigh:
MotionSense level gait median 12.8, ascending 20.0 (hip flexion grows from about 40 to 60 deg in stair
ascent, Protopapadaki et al. 2007, Clin Biomech 22:203); trunk: HAPT level gait 6.0, stairs 9.4-9.9."""

IMPACT_BANDS: Bands = ((0.5, "no"), (2.5, "soft"), (5.0, "moderate"), (9.0, "strong"), (float("inf"), "very strong"))
"""Mean vertical body acceleration at peaks (m/s^2); rules-v2 bands, the top two widened on USC-HAD
(walking 5.4, descending 8.1, jogging 17.9)."""

VERTICAL_BANDS: Bands = ((0.4, "mostly horizontal"), (0.65, "mixed vertical and horizontal"), (float("inf"), "mostly vertical"))
"""Share of body-acceleration energy along gravity; 0.65 separates HAPT descending (0.75) from level gait (0.53)."""


@dataclass(frozen=True)
class Grounded:
    """The numbers this writer adds to the feature record (all from the segment-frame window)."""

    enmo_mg: float
    min_acc_g: float
    tilt_deg: float
    swing_deg: float
    cadence_spm: float


def grounded_numbers(signals: np.ndarray, rate_hz: float, features: dict[str, float]) -> Grounded:
    """ENMO (van Hees et al. 2013: mean of max(|acc| - 1 g, 0)), minimum |acc|, tilt, swing and cadence."""
    acc = np.asarray(signals, dtype=np.float64)[:, :3]
    mag_g = np.linalg.norm(acc, axis=1) / GRAVITY
    k = max(1, int(round(0.5 * rate_hz)))
    smooth = np.stack([np.convolve(acc[:, c], np.ones(k) / k, mode="valid") for c in range(3)], axis=1)
    norms = np.clip(np.linalg.norm(smooth, axis=1), 1e-9, None)
    tilts = np.degrees(np.arccos(np.clip(smooth[:, 2] / norms, -1.0, 1.0)))
    return Grounded(
        enmo_mg=float(np.mean(np.clip(mag_g - 1.0, 0.0, None)) * 1000.0),
        min_acc_g=float(mag_g.min()),
        tilt_deg=float(features["gravity_angle_z_deg"]),
        swing_deg=float(tilts.max() - tilts.min()) if len(tilts) else 0.0,
        cadence_spm=float(features["step_freq_hz"] * 60.0),
    )


def intensity_class(f: dict[str, float], g: Grounded, segment: Segment) -> str:
    """sedentary, light, moderate or vigorous (Hildebrand cut-points; sedentary below the still bound)."""
    if f["body_acc_rms_mps2"] < STILL_BODY_RMS_MPS2:
        return "sedentary"
    moderate, vigorous = ENMO_CUTPOINTS_MG["trunk" if segment == "unknown" else segment]
    return "vigorous" if g.enmo_mg >= vigorous else "moderate" if g.enmo_mg >= moderate else "light"


def _intensity(f: dict[str, float], enmo_mg: float, level: str) -> tuple[str, str]:
    nums = f"ENMO {enmo_mg:.0f} mg, body RMS {f['body_acc_rms_mps2']:.1f} m/s^2"
    if level == "sedentary":
        return nums, "Sedentary intensity; the device is motionless."
    return nums, f"{level.capitalize()} intensity."


def _axes(f: dict[str, float]) -> tuple[str, str]:
    nums = f"vertical share {f['vertical_energy_ratio']:.2f}"
    if f["body_acc_rms_mps2"] < STILL_BODY_RMS_MPS2:
        return nums, "No dominant direction of movement."
    return nums, f"Acceleration {band(f['vertical_energy_ratio'], VERTICAL_BANDS)}."


def _rhythm(f: dict[str, float], g: Grounded) -> tuple[str, str]:
    if g.cadence_spm <= 0:
        return f"regularity {f['step_regularity_ratio']:.2f}", "No steps or other repeated cycle."
    nums = f"cadence {g.cadence_spm:.0f} per minute, regularity {f['step_regularity_ratio']:.2f}"
    return nums, f"Rhythmic cycles at a {band(g.cadence_spm, CADENCE_BANDS_SPM)} cadence."


def _waveform(f: dict[str, float], g: Grounded, vigorous: bool) -> tuple[str, str]:
    nums = f"minimum |acc| {g.min_acc_g:.2f} g"
    if f["body_acc_rms_mps2"] < STILL_BODY_RMS_MPS2:
        return nums, "Flat trace; the body is supported throughout."
    if vigorous and g.min_acc_g < FREE_FALL_G:
        return nums, "Near free fall between landings; the body leaves the ground."
    if vigorous and g.min_acc_g < FLIGHT_MAX_G and g.cadence_spm >= FLIGHT_MIN_SPM:
        return nums, "Flight phase at every cycle; both feet leave the ground."
    if g.cadence_spm > 0 and f["step_impact_mps2"] < IMPACT_BANDS[1][0]:
        return nums, "Smooth cyclic motion without impacts; ground contact throughout."
    return nums, "No flight phase; ground contact throughout."


def _posture(g: Grounded, f: dict[str, float], segment: Segment, upright_known: bool) -> tuple[str, str]:
    name = SEGMENT_NAMES[segment]
    moving = f["body_acc_rms_mps2"] >= STILL_BODY_RMS_MPS2
    if not upright_known:
        return f"tilt {g.tilt_deg:.0f} deg from the device's own axis", (
            f"No upright reference: the {name}'s orientation cannot be told."
        )
    nums = f"{name} tilt {g.tilt_deg:.0f} deg from vertical" + (f", swing {g.swing_deg:.0f} deg" if moving else "")
    if segment == "unknown":
        return nums, "Placement unknown: which body segment is tilted cannot be told."
    text = f"The {name} is {band(g.tilt_deg, TILT_BANDS[segment])}"
    if moving and g.swing_deg >= SWING_LARGE_DEG[segment]:
        text += "; large swing of the " + ("thigh (high knee lift)" if segment == "thigh" else name)
    elif moving:
        text += f"; small swing of the {name}"
    return nums, text + "."


def _rotation(f: dict[str, float], g: Grounded) -> tuple[str, str]:
    nums = f"gyro RMS {f['gyro_rms_rad_s']:.2f} rad/s, sync {f['acc_gyro_sync_ratio']:.2f}"
    if f["gyro_rms_rad_s"] < 0.1:
        return nums, "Negligible rotation."
    level = "strong" if f["gyro_rms_rad_s"] >= 1.5 else "moderate" if f["gyro_rms_rad_s"] >= 0.5 else "mild"
    if g.cadence_spm > 0:
        relation = "in step with" if f["acc_gyro_sync_ratio"] >= 0.45 else "partly independent of"
        return nums, f"{level.capitalize()} rotation {relation} the cycles."
    return nums, f"{level.capitalize()} irregular rotation."


def _impact(f: dict[str, float], g: Grounded) -> tuple[str, str]:
    nums = f"mean vertical peak {f['step_impact_mps2']:.1f} m/s^2"
    level = band(f["step_impact_mps2"], IMPACT_BANDS)
    if level == "no":
        return nums, "No vertical impacts."
    if g.cadence_spm <= 0:
        return nums, f"{level.capitalize()} irregular vertical bumps."
    return nums, f"{level.capitalize()} vertical impact at each cycle."


def describe_grounded(
    signals: np.ndarray,
    rate_hz: float,
    placement: str,
    upright_known: bool,
    features: dict[str, float] | None = None,
    numbers_only: bool = False,
) -> str:
    """The 7-point summary of a segment-frame window; ``numbers_only`` drops the conclusions (w/o IGP ablation)."""
    features = features if features is not None else window_features(signals, rate_hz)
    segment = segment_of(placement)
    g = grounded_numbers(signals, rate_hz, features)
    level = intensity_class(features, g, segment)
    points = (
        ("Strength", _intensity(features, g.enmo_mg, level)),
        ("Axis dominance", _axes(features)),
        ("Rhythm", _rhythm(features, g)),
        ("Waveform shape", _waveform(features, g, level == "vigorous")),
        ("Posture and drift", _posture(g, features, segment, upright_known)),
        ("Gyro-acc sync", _rotation(features, g)),
        ("Vertical impact", _impact(features, g)),
    )
    return "\n".join(
        f"{i}. {heading}: {nums}." + ("" if numbers_only else f" {conclusion}")
        for i, (heading, (nums, conclusion)) in enumerate(points, start=1)
    )
