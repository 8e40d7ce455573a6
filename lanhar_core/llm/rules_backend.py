"""The offline ``rules`` backend: a deterministic, feature-grounded writer, not an LLM.

It turns a window's feature record into the same 7-point pattern summary the LLM prompt
asks for, and answers label prompts with curated descriptions. It reads only the
``GenerationContext`` (signals, rate, placement; never the window's label), so it cannot
leak the answer. Downstream, a text encoder embeds these texts and the sensor encoder learns
to map windows onto them, so the verbal conclusions carry the discriminative information
(intensity, axis dominance, rhythm and cadence, waveform, posture, rotation, impact) in a
fixed vocabulary of level words; only the sentence frames around them vary, chosen from a
hash of the numbers so that the same window always gets the same text. The thresholds are
the ``*_BANDS`` constants below, documented in ``docs/RULES_WRITER.md``. They were set on
UCI HAPT windows at 20 Hz (the project's rate); jerk is rate dependent and only quoted.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from typing import Literal

from lanhar_core.errors import ConfigError, InvalidSignalError
from lanhar_core.jobs import Progress
from lanhar_core.llm.bands import STILL_BODY_RMS_MPS2, Bands, band
from lanhar_core.llm.base import Generation, GenerationContext, PromptSpec
from lanhar_core.llm.rules_grounded import GROUNDED_VERSION, describe_grounded
from lanhar_core.llm.rules_labels import describe_label, describe_label_grounded
from lanhar_core.prompts.builder import VARIANTS, Variant
from lanhar_core.signal.features import window_features

RULES_VERSION = "rules-v2"

Point = tuple[str, str]
"""One summary point: the numbers it quotes, then the verbal conclusion drawn from them."""


STRENGTH_BANDS: Bands = ((0.3, "very low"), (1.0, "low"), (2.5, "moderate"), (5.0, "high"), (float("inf"), "very high"))
VERTICAL_SHARE_BANDS: Bands = (
    (0.4, "horizontal-dominant"),
    (0.55, "balanced vertical and horizontal"),
    (0.7, "vertical-leaning"),
    (float("inf"), "strongly vertical-dominant"),
)
CADENCE_BANDS: Bands = ((1.4, "slow"), (1.7, "steady"), (2.2, "brisk"), (2.8, "fast"), (float("inf"), "very fast"))
REGULARITY_BANDS: Bands = ((0.4, "weakly regular"), (0.6, "regular"), (float("inf"), "highly regular"))
CREST_BANDS: Bands = ((2.0, "smooth rounded waves"), (3.0, "moderately peaked waves"), (float("inf"), "sharp impulsive peaks"))
SYMMETRY_BANDS: Bands = ((1.5, "asymmetric"), (2.5, "moderately symmetric"), (float("inf"), "symmetric"))
SPACING_BANDS: Bands = ((0.15, "evenly spaced peaks"), (0.3, "somewhat uneven peak spacing"), (float("inf"), "irregular peak spacing"))
DRIFT_BANDS: Bands = ((3.0, "stable orientation"), (15.0, "slight orientation drift"), (float("inf"), "large orientation change"))
TURN_MIN_DEG = 45.0
"""Net rotation about the vertical axis from which the text reports turning."""
UPRIGHT_AXIS_MAX_DEG = 30.0
"""A device axis within this angle of vertical is named as the one carrying gravity."""
GYRO_BANDS: Bands = ((0.1, "negligible"), (0.5, "mild"), (1.5, "moderate"), (float("inf"), "strong"))
SYNC_BANDS: Bands = ((0.25, "is largely independent of"), (0.45, "partly follows"), (float("inf"), "closely follows"))
IMPACT_BANDS: Bands = ((0.5, "no"), (2.5, "soft"), (4.5, "moderate"), (7.0, "strong"), (float("inf"), "very strong"))


def _v(features: dict[str, float], key: str, unit: str) -> str:
    """A number as the text quotes it: few digits, because every digit costs text-encoder tokens."""
    value = features[key]
    if unit in ("deg", "count") or abs(value) >= 10:
        text = str(int(round(value)))
    elif unit == "ratio" or abs(value) < 1:
        text = f"{value:.2f}"
    else:
        text = f"{value:.1f}"
    return text if unit in ("ratio", "count") else f"{text} {unit}"


def _capitalised(text: str) -> str:
    return f"{text[0].upper()}{text[1:]}"


class _Frames:
    """Deterministic choice among equivalent sentence frames, seeded by the numbers of the window."""

    def __init__(self, features: dict[str, float]) -> None:
        digest = hashlib.sha256(repr(sorted((k, round(v, 3)) for k, v in features.items())).encode()).digest()
        self._seed = int.from_bytes(digest[:8], "big")

    def pick(self, point: int, frames: Sequence[str]) -> str:
        return frames[(self._seed >> (5 * point)) % len(frames)]


def _strength(f: dict[str, float], fr: _Frames) -> Point:
    level = band(f["body_acc_rms_mps2"], STRENGTH_BANDS)
    nums = f"body RMS {_v(f, 'body_acc_rms_mps2', 'm/s^2')}, jerk {_v(f, 'jerk_rms_mps3', 'm/s^3')}"
    if f["body_acc_rms_mps2"] < STILL_BODY_RMS_MPS2:
        return nums, f"{level.capitalize()} intensity; the device is essentially motionless."
    frame = fr.pick(1, ("{cap} intensity.", "{cap} movement intensity.", "The motion has {level} intensity."))
    return nums, frame.format(level=level, cap=level.capitalize())


def _axes(f: dict[str, float], fr: _Frames) -> Point:
    nums = f"vertical share {_v(f, 'vertical_energy_ratio', 'ratio')}"
    if f["body_acc_rms_mps2"] < STILL_BODY_RMS_MPS2:
        accel = "no dominant acceleration axis"
    else:
        accel = f"{band(f['vertical_energy_ratio'], VERTICAL_SHARE_BANDS)} acceleration"
    if f["gyro_rms_rad_s"] < GYRO_BANDS[0][0]:
        rotation = "negligible rotation"
    elif f["gyro_vertical_rms_rad_s"] > f["gyro_horizontal_rms_rad_s"]:
        rotation = "rotation mainly about the vertical axis"
    else:
        rotation = "rotation mainly about horizontal axes"
    frame = fr.pick(2, ("{accel}, {rotation}.", "{accel} with {rotation}."))
    return nums, _capitalised(frame.format(accel=accel, rotation=rotation))


def _rhythm(f: dict[str, float], fr: _Frames) -> Point:
    step = f["step_freq_hz"]
    if step <= 0:
        nums = f"dominant {_v(f, 'dominant_freq_hz', 'Hz')}, regularity {_v(f, 'step_regularity_ratio', 'ratio')}"
        return nums, "No rhythm; aperiodic signal."
    nums = f"step {_v(f, 'step_freq_hz', 'Hz')}, regularity {_v(f, 'step_regularity_ratio', 'ratio')}"
    cadence = band(step, CADENCE_BANDS)
    regularity = band(f["step_regularity_ratio"], REGULARITY_BANDS)
    per_min = int(round(step * 60))
    frame = fr.pick(
        3,
        (
            "{cap_regularity} periodic rhythm, {cadence} cadence of {per_min} per minute.",
            "Periodic, {regularity} rhythm with a {cadence} cadence of {per_min} per minute.",
        ),
    )
    return nums, frame.format(regularity=regularity, cap_regularity=regularity.capitalize(), cadence=cadence, per_min=per_min)


def _waveform(f: dict[str, float], fr: _Frames) -> Point:
    nums = f"crest factor {_v(f, 'vertical_crest_ratio', 'ratio')}"
    if f["body_acc_rms_mps2"] < STILL_BODY_RMS_MPS2:
        return nums, "Flat trace with small irregular fluctuations."
    parts = [band(f["vertical_crest_ratio"], CREST_BANDS)]
    if f["step_freq_hz"] > 0:
        parts.append(band(f["harmonic_ratio"], SYMMETRY_BANDS) + " between cycles")
    if f["peak_count"] >= 3:
        parts.append(band(f["peak_interval_cv_ratio"], SPACING_BANDS))
    frame = fr.pick(4, ("{desc}.", "Waveform: {desc}."))
    return nums, _capitalised(frame.format(desc=", ".join(parts)))


def _orientation(f: dict[str, float]) -> str:
    if f["gravity_mps2"] <= 0:
        return "orientation unknown (no gravity)"
    angles = {axis: f[f"gravity_angle_{axis}_deg"] for axis in ("x", "y", "z")}
    off = {axis: min(a, 180.0 - a) for axis, a in angles.items()}
    axis = min(off, key=lambda k: (off[k], k))
    if off[axis] > UPRIGHT_AXIS_MAX_DEG:
        return "device tilted, no axis vertical"
    return f"device {axis} axis {'up' if angles[axis] < 90 else 'down'}"


def _posture(f: dict[str, float], fr: _Frames) -> Point:
    nums = f"drift {_v(f, 'gravity_drift_deg', 'deg')}, turn {_v(f, 'net_turn_deg', 'deg')}"
    turn = f["net_turn_deg"]
    turning = f"turning {'left' if turn > 0 else 'right'}" if abs(turn) >= TURN_MIN_DEG else "no turning"
    frame = fr.pick(5, ("{orientation}, {drift}, {turning}.", "{drift}, {orientation}, {turning}."))
    return nums, _capitalised(frame.format(orientation=_orientation(f), drift=band(f["gravity_drift_deg"], DRIFT_BANDS), turning=turning))


def _sync(f: dict[str, float], fr: _Frames) -> Point:
    nums = f"gyro RMS {_v(f, 'gyro_rms_rad_s', 'rad/s')}, sync {_v(f, 'acc_gyro_sync_ratio', 'ratio')}"
    level = band(f["gyro_rms_rad_s"], GYRO_BANDS)
    if level == "negligible":
        return nums, "Negligible rotation, nothing to synchronise."
    if f["step_freq_hz"] <= 0:
        return nums, f"{level.capitalize()} rotation without a step rhythm."
    relation = band(f["acc_gyro_sync_ratio"], SYNC_BANDS)
    frame = fr.pick(6, ("{cap} rotation that {relation} the acceleration rhythm.", "The {level} rotation {relation} the acceleration rhythm."))
    return nums, frame.format(level=level, cap=level.capitalize(), relation=relation)


def _impact(f: dict[str, float], fr: _Frames) -> Point:
    nums = f"mean vertical peak {_v(f, 'step_impact_mps2', 'm/s^2')}"
    level = band(f["step_impact_mps2"], IMPACT_BANDS)
    if level == "no":
        return nums, "No vertical impacts."
    if f["step_freq_hz"] <= 0:
        return nums, f"{level.capitalize()} isolated vertical bumps, not per-step impacts."
    frame = fr.pick(7, ("{cap} vertical impact per step.", "Each step gives a {level} vertical impact."))
    return nums, frame.format(level=level, cap=level.capitalize())


_POINTS = (
    ("Strength", _strength),
    ("Axis dominance", _axes),
    ("Rhythm", _rhythm),
    ("Waveform shape", _waveform),
    ("Posture and drift", _posture),
    ("Gyro-acc sync", _sync),
    ("Vertical impact", _impact),
)


def describe_features(features: dict[str, float], variant: Variant = "full") -> str:
    """The 7-point pattern summary of a feature record (same record and variant, same text).

    The level words of the conclusions encode what the knowledge part of the prompt teaches
    (what counts as a brisk cadence or a strong impact for human movement). The ``simple``
    variant, like the paper's prompt without that knowledge, quotes the numbers of each
    point and draws no conclusion from them, so the "w/o IGP" ablation measures what the
    knowledge-guided conclusions add.
    """
    if variant not in VARIANTS:
        raise ConfigError(f"rules writer variant must be one of {VARIANTS}, got {variant!r}")
    frames = _Frames(features)
    lines = []
    for i, (heading, writer) in enumerate(_POINTS, start=1):
        numbers, conclusion = writer(features, frames)
        lines.append(f"{i}. {heading}: {numbers}." + (f" {conclusion}" if variant == "full" else ""))
    return "\n".join(lines)


def describe_window(context: GenerationContext, variant: Variant = "full") -> str:
    """The 7-point pattern summary of a window context; the context has no label to read."""
    if context.signals is None:
        raise InvalidSignalError("a window context has no signals; build it with GenerationContext.for_window")
    features = context.features if context.features is not None else window_features(context.signals, context.rate_hz)
    return describe_features(features, variant)


def spec_variant(spec: PromptSpec) -> Variant:
    """``simple`` for the simple window prompt and its revisions, else ``full``."""
    return "simple" if spec.template.split("/")[-1] == "window_simple" else "full"


RULES_VERSIONS: tuple[str, ...] = (RULES_VERSION, GROUNDED_VERSION)
"""Selectable writer versions (``llm.rules_version``); each is its own collection, ``rules:<version>``."""


class RulesBackend:
    """Rule-based interpretation writer (not an LLM); runs offline, deterministic, free.

    ``rules-v3`` (default) is the knowledge-grounded writer of ``rules_grounded`` and reads
    windows in the body-segment frame; ``rules-v2`` is the earlier level-word writer, kept so
    that both can be compared on the same splits.
    """

    name = "rules"
    is_llm = False
    description = (
        "rule-based writer, not an LLM: deterministic 7-point summaries computed from the signal "
        "feature record, and curated activity descriptions"
    )

    def __init__(self, version: str = GROUNDED_VERSION) -> None:
        if version not in RULES_VERSIONS:
            raise ConfigError(f"unknown rules writer version {version!r}; choose one of {', '.join(RULES_VERSIONS)} (llm.rules_version)")
        self.model = version
        self.window_frame: Literal["device", "segment"] = "segment" if version == GROUNDED_VERSION else "device"

    def params(self) -> dict:
        return {"writer": "rule-based", "version": self.model, "simple_variant": "numbers only"}

    def _window_text(self, spec: PromptSpec) -> str:
        context = spec.context
        if self.model == RULES_VERSION:
            return describe_window(context, spec_variant(spec))
        if context.signals is None:
            raise InvalidSignalError("a window context has no signals; build it with GenerationContext.for_window")
        return describe_grounded(context.signals, context.rate_hz, context.placement, context.upright_known,
                                 context.features, numbers_only=spec_variant(spec) == "simple")

    def _one(self, spec: PromptSpec) -> Generation:
        start = time.perf_counter()
        context = spec.context
        try:
            if context.kind == "label" and self.model == RULES_VERSION:
                text = describe_label(context.activity, context.display, context.index)
            elif context.kind == "label":
                text = describe_label_grounded(context.activity, context.display, context.index, context.placement)
            else:
                text = self._window_text(spec)
        except InvalidSignalError as exc:
            return Generation(text="", ok=False, error=f"rules writer failed: {exc}", latency_s=time.perf_counter() - start)
        return Generation(text=text, ok=True, latency_s=time.perf_counter() - start)

    def generate(self, specs: list[PromptSpec], progress: Progress | None = None) -> list[Generation]:
        """One text per spec, in order; a revision spec gets the text its original prompt would (the writer is deterministic)."""
        results = []
        for spec in specs:
            if progress:
                progress.check_cancelled()
            results.append(self._one(spec))
            if progress:
                progress.advance()
        return results
