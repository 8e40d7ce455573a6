"""Feature record of one IMU window: the "data analysis" part of the interpretation prompt.

Both the LLM prompt and the rule-based writer describe a window through these numbers, so
they are chosen to be meaningful to a reader and independent of how the device is held:
the accelerometer is rotated so that gravity points along +Z before anything "vertical" or
"horizontal" is measured. Every key carries its unit (``_mps2``, ``_mps3``, ``_hz``,
``_rad_s``, ``_deg``, ``_s``, ``_ratio``, ``_count``); ``FEATURES`` documents each one.

Conventions for undefined values: a quantity that does not exist for the window (no
gravity, no rhythm, fewer than three peaks, a constant channel) is reported as ``0.0``,
never NaN, and the ``FEATURES`` entry says so. The computation is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import find_peaks

from lanhar_core.errors import InvalidSignalError

STEP_BAND_HZ: tuple[float, float] = (0.5, 3.5)
"""Cadence band searched for a step rhythm (slow strolling to sprinting)."""

MIN_DOMINANT_HZ = 0.25
"""Below this the spectrum reflects posture drift, not a movement rhythm."""

RHYTHM_MIN_REGULARITY = 0.25
"""Step regularity (see ``_gait_regularity``) below which no step rhythm is reported (step_freq_hz = 0)."""

RHYTHM_MIN_VERTICAL_RMS_MPS2 = 0.1
"""Vertical body-acceleration RMS below which the window is too still to have a rhythm."""

HARMONIC_RATIO_CAP = 10.0
"""Harmonic ratios are clipped here: a pure sinusoid has no odd harmonics and an unbounded ratio."""

_EPS = 1e-9
_AXES = ("x", "y", "z")


@dataclass(frozen=True)
class Feature:
    """One entry of the feature record: its key, unit, group in the prompt and meaning."""

    key: str
    unit: str
    group: str
    meaning: str


FEATURES: tuple[Feature, ...] = (
    Feature("duration_s", "s", "window", "window length"),
    Feature("gravity_mps2", "m/s^2", "posture", "magnitude of the mean acceleration vector (gravity estimate); 0 if no gravity is present"),
    Feature("gravity_angle_x_deg", "deg", "posture", "angle between device +x and up (0 = pointing up, 90 = horizontal, 180 = down); 0 without gravity"),
    Feature("gravity_angle_y_deg", "deg", "posture", "angle between device +y and up; 0 without gravity"),
    Feature("gravity_angle_z_deg", "deg", "posture", "angle between device +z and up; 0 without gravity"),
    Feature("gravity_drift_deg", "deg", "posture", "change of gravity direction between the first and last third of the window"),
    Feature("acc_mag_mean_mps2", "m/s^2", "magnitude", "mean of |acc| (includes gravity)"),
    Feature("acc_mag_std_mps2", "m/s^2", "magnitude", "standard deviation of |acc|"),
    Feature("acc_mag_min_mps2", "m/s^2", "magnitude", "minimum of |acc|"),
    Feature("acc_mag_max_mps2", "m/s^2", "magnitude", "maximum of |acc|"),
    Feature("body_acc_rms_mps2", "m/s^2", "strength", "RMS of body acceleration (gravity removed), all axes"),
    Feature("vertical_rms_mps2", "m/s^2", "strength", "RMS of body acceleration along gravity"),
    Feature("vertical_p2p_mps2", "m/s^2", "strength", "peak-to-peak of vertical body acceleration"),
    Feature("horizontal_rms_mps2", "m/s^2", "strength", "RMS of body acceleration perpendicular to gravity"),
    Feature("horizontal_p2p_mps2", "m/s^2", "strength", "peak-to-peak along the main horizontal direction"),
    Feature("vertical_energy_ratio", "ratio", "axes", "share of body-acceleration energy along gravity (0..1); 0 when motionless"),
    Feature("acc_energy_x_ratio", "ratio", "axes", "share of body-acceleration energy on device x (0..1)"),
    Feature("acc_energy_y_ratio", "ratio", "axes", "share of body-acceleration energy on device y (0..1)"),
    Feature("acc_energy_z_ratio", "ratio", "axes", "share of body-acceleration energy on device z (0..1)"),
    Feature("jerk_rms_mps3", "m/s^3", "strength", "RMS of the time derivative of acceleration (magnitude of the 3-axis jerk)"),
    Feature("dominant_freq_hz", "Hz", "rhythm", f"strongest frequency of vertical body acceleration above {MIN_DOMINANT_HZ} Hz; 0 when motionless"),
    Feature("step_freq_hz", "Hz", "rhythm", f"step rhythm in {STEP_BAND_HZ[0]}-{STEP_BAND_HZ[1]} Hz, reported only when regular enough; else 0"),
    Feature("step_regularity_ratio", "ratio", "rhythm", "largest normalised autocorrelation of vertical acceleration or acceleration magnitude at one step or one stride (two steps) period (-1..1); 0 when motionless"),
    Feature("harmonic_ratio", "ratio", "shape", f"even/odd stride-harmonic amplitude ratio of vertical acc (gait symmetry), capped at {HARMONIC_RATIO_CAP}; 0 without step rhythm"),
    Feature("vertical_crest_ratio", "ratio", "shape", "largest |vertical acc| over its RMS (about 1.4 for a sinusoid; large for impulsive peaks); 0 when motionless"),
    Feature("peak_count", "count", "shape", "peaks of vertical body acceleration (at least 0.5 std high, at most one per 1/3.5 s)"),
    Feature("peak_interval_mean_s", "s", "shape", "mean time between consecutive peaks; 0 with fewer than two peaks"),
    Feature("peak_interval_cv_ratio", "ratio", "shape", "coefficient of variation of inter-peak intervals; 0 with fewer than three peaks"),
    Feature("step_impact_mps2", "m/s^2", "impact", "mean vertical body acceleration at the peaks (per-step vertical impact); 0 without peaks"),
    Feature("gyro_x_rms_rad_s", "rad/s", "rotation", "RMS of angular velocity about device x"),
    Feature("gyro_y_rms_rad_s", "rad/s", "rotation", "RMS of angular velocity about device y"),
    Feature("gyro_z_rms_rad_s", "rad/s", "rotation", "RMS of angular velocity about device z"),
    Feature("gyro_x_p2p_rad_s", "rad/s", "rotation", "peak-to-peak of angular velocity about device x"),
    Feature("gyro_y_p2p_rad_s", "rad/s", "rotation", "peak-to-peak of angular velocity about device y"),
    Feature("gyro_z_p2p_rad_s", "rad/s", "rotation", "peak-to-peak of angular velocity about device z"),
    Feature("gyro_rms_rad_s", "rad/s", "rotation", "RMS of the angular-velocity magnitude"),
    Feature("gyro_vertical_rms_rad_s", "rad/s", "rotation", "RMS of angular velocity about the gravity axis (turning)"),
    Feature("gyro_horizontal_rms_rad_s", "rad/s", "rotation", "RMS of angular velocity about horizontal axes (pitch and roll)"),
    Feature("gyro_energy_x_ratio", "ratio", "rotation", "share of gyroscope energy about device x (0..1); 0 without rotation"),
    Feature("gyro_energy_y_ratio", "ratio", "rotation", "share of gyroscope energy about device y (0..1); 0 without rotation"),
    Feature("gyro_energy_z_ratio", "ratio", "rotation", "share of gyroscope energy about device z (0..1); 0 without rotation"),
    Feature("net_rotation_deg", "deg", "rotation", "magnitude of the integrated angular velocity over the window"),
    Feature("net_turn_deg", "deg", "rotation", "signed integrated rotation about the gravity axis (positive = counter-clockwise seen from above)"),
    Feature("acc_gyro_sync_ratio", "ratio", "sync", "peak normalised cross-correlation between vertical acc and gyro magnitude within half a step (0..1); 0 if either is constant"),
)

FEATURE_KEYS: tuple[str, ...] = tuple(f.key for f in FEATURES)


def _check(signals: np.ndarray, rate_hz: float) -> np.ndarray:
    arr = np.asarray(signals, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 6:
        raise InvalidSignalError(f"a window must have shape (length, 6) [acc xyz, gyro xyz], got {arr.shape}")
    if arr.shape[0] < 4:
        raise InvalidSignalError(f"a window needs at least 4 samples for feature analysis, got {arr.shape[0]}")
    if not np.all(np.isfinite(arr)):
        raise InvalidSignalError("the window contains NaN or infinite values; clean or drop it before analysis")
    if not rate_hz > 0:
        raise InvalidSignalError(f"sampling rate must be positive, got {rate_hz}")
    return arr


def rotation_to_z(vector: np.ndarray) -> np.ndarray:
    """Rotation matrix R (Rodrigues) with R @ unit(vector) = +Z; identity for a zero vector.

    Works for every orientation, including gravity pointing along -Z (180 degree turn about x).
    """
    v = np.asarray(vector, dtype=np.float64)
    norm = float(np.linalg.norm(v))
    if norm < _EPS:
        return np.eye(3)
    a = v / norm
    z = np.array([0.0, 0.0, 1.0])
    cos = float(np.clip(a @ z, -1.0, 1.0))
    axis = np.cross(a, z)
    sin = float(np.linalg.norm(axis))
    if sin < 1e-12:
        return np.eye(3) if cos > 0 else np.diag([1.0, -1.0, -1.0])
    k = axis / sin
    kx = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return np.eye(3) + sin * kx + (1.0 - cos) * (kx @ kx)


def align_to_gravity(acc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Accelerometer samples rotated into a frame whose +Z is the window's mean gravity, and the rotation."""
    rotation = rotation_to_z(acc.mean(axis=0))
    return acc @ rotation.T, rotation


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x)))) if x.size else 0.0


def _p2p(x: np.ndarray) -> float:
    return float(np.ptp(x)) if x.size else 0.0


def _fractions(energies: np.ndarray) -> np.ndarray:
    total = float(energies.sum())
    return energies / total if total > _EPS else np.zeros_like(energies)


def _angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na < _EPS or nb < _EPS:
        return 0.0
    return float(np.degrees(np.arccos(np.clip(a @ b / (na * nb), -1.0, 1.0))))


def _amplitude_at(x: np.ndarray, freqs: np.ndarray, rate_hz: float) -> np.ndarray:
    """Hann-windowed DFT amplitude of ``x`` evaluated exactly at ``freqs`` (no bin quantisation)."""
    n = x.shape[0]
    t = np.arange(n) / rate_hz
    w = np.hanning(n) if n > 2 else np.ones(n)
    xw = (x - x.mean()) * w
    return np.abs(np.exp(-2j * np.pi * np.outer(freqs, t)) @ xw)


def _spectral_peak(x: np.ndarray, rate_hz: float, lo: float, hi: float) -> float:
    """Frequency of the largest Hann-windowed amplitude of ``x`` in [lo, hi].

    The FFT is zero-padded to a resolution of at most 0.01 Hz, so a 6 s window still
    separates 1.80 from 1.85 Hz instead of snapping to its 0.17 Hz native bins.
    """
    hi = min(hi, rate_hz / 2.0)
    if hi <= lo or _rms(x - x.mean()) < _EPS:
        return 0.0
    n_fft = max(x.shape[0], 1 << int(np.ceil(np.log2(rate_hz / 0.01))))
    w = np.hanning(x.shape[0]) if x.shape[0] > 2 else np.ones(x.shape[0])
    spectrum = np.abs(np.fft.rfft((x - x.mean()) * w, n=n_fft))
    freqs = np.fft.rfftfreq(n_fft, 1.0 / rate_hz)
    band = (freqs >= lo) & (freqs <= hi)
    if not band.any():
        return 0.0
    return float(freqs[band][int(np.argmax(spectrum[band]))])


def _autocorr_at(x: np.ndarray, lag_s: float, rate_hz: float) -> float:
    """Normalised autocorrelation at a (fractional) lag by linear interpolation between integer lags."""
    x = x - x.mean()
    denom = float(x @ x)
    lag = lag_s * rate_hz
    n = x.shape[0]
    if denom < _EPS or lag <= 0 or lag >= n - 1:
        return 0.0
    lo = int(np.floor(lag))
    frac = lag - lo

    def at(k: int) -> float:
        return float(x[: n - k] @ x[k:]) / denom

    return (1.0 - frac) * at(lo) + frac * at(lo + 1)


def _gait_regularity(vertical: np.ndarray, magnitude: np.ndarray, step_hz: float, rate_hz: float) -> float:
    """How well the window repeats itself after one step or one stride.

    A device at the waist bounces once per step, so its vertical acceleration repeats after
    one step. A phone in a trouser pocket swings with one thigh: its pattern repeats only
    after a stride (two steps), and it turns so much that the window-mean "vertical" mixes
    axes, which the orientation-free magnitude does not. Taking the best of the four keeps
    a pocket walk from being described as aperiodic.
    """
    if step_hz <= 0:
        return 0.0
    return max(_autocorr_at(x, lag / step_hz, rate_hz) for x in (vertical, magnitude) for lag in (1.0, 2.0))


def _harmonic_ratio(vertical: np.ndarray, step_hz: float, rate_hz: float) -> float:
    if step_hz <= 0:
        return 0.0
    stride = step_hz / 2.0
    orders = np.arange(1, 21)
    orders = orders[orders * stride < rate_hz / 2.0]
    amps = _amplitude_at(vertical, orders * stride, rate_hz)
    even = float(amps[orders % 2 == 0].sum())
    odd = float(amps[orders % 2 == 1].sum())
    if even < _EPS:
        return 0.0
    return float(min(even / odd, HARMONIC_RATIO_CAP)) if odd > _EPS else HARMONIC_RATIO_CAP


def _sync(vertical: np.ndarray, gyro_mag: np.ndarray, step_hz: float, rate_hz: float) -> float:
    a = vertical - vertical.mean()
    g = gyro_mag - gyro_mag.mean()
    na, ng = float(np.linalg.norm(a)), float(np.linalg.norm(g))
    if na < 1e-6 or ng < 1e-6:
        return 0.0
    half_period = 0.5 / step_hz if step_hz > 0 else 0.25
    max_lag = min(a.shape[0] - 1, max(1, int(round(half_period * rate_hz))))
    full = np.correlate(a, g, mode="full") / (na * ng)
    centre = a.shape[0] - 1
    return float(min(np.max(np.abs(full[centre - max_lag : centre + max_lag + 1])), 1.0))


def window_features(signals: np.ndarray, rate_hz: float) -> dict[str, float]:
    """The documented feature record (``FEATURES``) of one (L, 6) window in canonical units.

    Raises ``InvalidSignalError`` for a wrong shape, fewer than 4 samples, non-finite values or
    a non-positive rate, because a feature record of such input would be silently meaningless.
    """
    arr = _check(signals, rate_hz)
    n = arr.shape[0]
    acc, gyro = arr[:, :3], arr[:, 3:]
    mean_acc = acc.mean(axis=0)
    gravity = float(np.linalg.norm(mean_acc))
    has_gravity = gravity > 1e-3
    aligned, rotation = align_to_gravity(acc)
    body = aligned - aligned.mean(axis=0)
    vertical = body[:, 2]
    horizontal = body[:, :2]

    out: dict[str, float] = {"duration_s": n / rate_hz, "gravity_mps2": gravity}
    up = mean_acc / gravity if has_gravity else np.zeros(3)
    for i, axis in enumerate(_AXES):
        out[f"gravity_angle_{axis}_deg"] = float(np.degrees(np.arccos(np.clip(up[i], -1, 1)))) if has_gravity else 0.0
    third = max(1, n // 3)
    out["gravity_drift_deg"] = _angle_deg(acc[:third].mean(axis=0), acc[-third:].mean(axis=0))

    mag = np.linalg.norm(acc, axis=1)
    out["acc_mag_mean_mps2"] = float(mag.mean())
    out["acc_mag_std_mps2"] = float(mag.std())
    out["acc_mag_min_mps2"] = float(mag.min())
    out["acc_mag_max_mps2"] = float(mag.max())

    v_rms = _rms(vertical)
    h_rms = float(np.sqrt(np.mean(np.sum(horizontal**2, axis=1))))
    out["body_acc_rms_mps2"] = float(np.sqrt(v_rms**2 + h_rms**2))
    out["vertical_rms_mps2"] = v_rms
    out["vertical_p2p_mps2"] = _p2p(vertical)
    out["horizontal_rms_mps2"] = h_rms
    cov = horizontal.T @ horizontal
    _, vecs = np.linalg.eigh(cov)
    out["horizontal_p2p_mps2"] = _p2p(horizontal @ vecs[:, -1])
    total_energy = v_rms**2 + h_rms**2
    out["vertical_energy_ratio"] = float(v_rms**2 / total_energy) if total_energy > _EPS else 0.0
    device_body = acc - mean_acc
    for axis, share in zip(_AXES, _fractions(np.sum(device_body**2, axis=0)), strict=True):
        out[f"acc_energy_{axis}_ratio"] = float(share)
    out["jerk_rms_mps3"] = float(np.sqrt(np.mean(np.sum((np.diff(acc, axis=0) * rate_hz) ** 2, axis=1))))

    dominant = _spectral_peak(vertical, rate_hz, MIN_DOMINANT_HZ, rate_hz / 2.0)
    candidate = _spectral_peak(vertical, rate_hz, *STEP_BAND_HZ)
    regularity = _gait_regularity(vertical, np.linalg.norm(acc, axis=1), candidate, rate_hz)
    rhythmic = regularity >= RHYTHM_MIN_REGULARITY and v_rms >= RHYTHM_MIN_VERTICAL_RMS_MPS2
    step_hz = candidate if rhythmic else 0.0
    out["dominant_freq_hz"] = dominant
    out["step_freq_hz"] = step_hz
    out["step_regularity_ratio"] = float(regularity)
    out["harmonic_ratio"] = _harmonic_ratio(vertical, step_hz, rate_hz)
    out["vertical_crest_ratio"] = float(np.max(np.abs(vertical)) / v_rms) if v_rms > 1e-6 else 0.0

    peaks = np.array([], dtype=int)
    if v_rms > 1e-6:
        peaks, _ = find_peaks(vertical, height=0.5 * v_rms, distance=max(1, int(rate_hz / STEP_BAND_HZ[1])))
    intervals = np.diff(peaks) / rate_hz
    out["peak_count"] = float(len(peaks))
    out["peak_interval_mean_s"] = float(intervals.mean()) if len(intervals) >= 1 else 0.0
    out["peak_interval_cv_ratio"] = float(intervals.std() / intervals.mean()) if len(intervals) >= 2 else 0.0
    out["step_impact_mps2"] = float(vertical[peaks].mean()) if len(peaks) else 0.0

    for i, axis in enumerate(_AXES):
        out[f"gyro_{axis}_rms_rad_s"] = _rms(gyro[:, i])
    for i, axis in enumerate(_AXES):
        out[f"gyro_{axis}_p2p_rad_s"] = _p2p(gyro[:, i])
    gyro_mag = np.linalg.norm(gyro, axis=1)
    out["gyro_rms_rad_s"] = _rms(gyro_mag)
    gyro_aligned = gyro @ rotation.T
    out["gyro_vertical_rms_rad_s"] = _rms(gyro_aligned[:, 2])
    out["gyro_horizontal_rms_rad_s"] = float(np.sqrt(np.mean(np.sum(gyro_aligned[:, :2] ** 2, axis=1))))
    for axis, share in zip(_AXES, _fractions(np.sum(gyro**2, axis=0)), strict=True):
        out[f"gyro_energy_{axis}_ratio"] = float(share)
    integrated = gyro.sum(axis=0) / rate_hz
    out["net_rotation_deg"] = float(np.degrees(np.linalg.norm(integrated)))
    out["net_turn_deg"] = float(np.degrees(gyro_aligned[:, 2].sum() / rate_hz))
    out["acc_gyro_sync_ratio"] = _sync(vertical, gyro_mag, step_hz, rate_hz)

    return {key: (0.0 if not np.isfinite(out[key]) else float(out[key])) for key in FEATURE_KEYS}
