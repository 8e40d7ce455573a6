"""Fact checks: compare the claims an interpretation makes with its window's feature record.

K-means flags texts that are unusual, not texts that are false; this module finds texts
that state something the signal contradicts. It reads two kinds of claim.

Numeric claims: a number with a unit ("1.8 Hz", "2.3 m/s^2", "0.6 rad/s", "45 deg",
"0.4 s", "114 beats per minute", "12 %"; "g" and "deg/s" are converted) or a unitless
number after a ratio keyword ("regularity 0.85", "crest factor 1.6", "11 peaks"). The
words before the number, back to the previous clause boundary, pick a ``NumericRule`` (the
first whose keywords match, in the order of ``NUMERIC_RULES``); a clause with no keyword
inherits the rule of the previous number of the same unit in that sentence ("gravity
angles x 89 deg, y 90 deg"). A rule names the features the number may refer to; the claim
holds if it is within ``max(rel_tol * |measured|, abs_tol)`` of any of them (lenient on
purpose: a claim is only contradicted when no plausible reading of it fits). Numbers no
rule claims (a bare "3 m/s^2", "120 samples") are not checked.
Severity: ``major`` when the error exceeds three tolerances, else ``minor``.

Verbal claims: the level words of the rules writer (``lanhar_core.llm.rules_backend`` band
constants, so a rules text is consistent by construction) plus common LLM synonyms, for
intensity, axis dominance, cadence, rotation, impact, orientation drift and waveform
shape. A level claim is contradicted when the measured value falls two or more bands away
(``minor``; three or more: ``major``) — adjacent bands are treated as a matter of wording.
Binary claims are checked with a guard margin beyond the writer's thresholds:
periodic/rhythmic (contradicted if no step rhythm was found and the regularity is below
``APERIODIC_REGULARITY``), irregular/aperiodic/no rhythm (contradicted if a step rhythm
with regularity of at least ``RHYTHMIC_REGULARITY`` exists), still/stationary/motionless
(contradicted if body-acceleration RMS is at least ``MOVING_BODY_RMS_MPS2``). Negated
phrases ("not periodic", "without a step rhythm") count as the opposite claim for
rhythm and are skipped for levels. Axis and waveform claims are not checked on
motionless windows, whose axis shares and shape are noise.

Claims of the seven numbered points (``1. Strength: ...``, the format the prompt asks for):
small LLMs fill the format without reading it, so three more checks apply inside a point
(``POINTS`` says what each point is about). Unit nonsense: a number whose unit cannot
measure what the point is about ("Rhythm: 1.62 m/s^2", "Vertical impact: 3.12 deg"), or a
unit no feature has at all (m/s, a velocity; rad/s^2); ``major``. Repeated points: a point
written more than once ("7. Vertical impact" five times, identical or not); ``major`` from
three times. Numbers with no matching feature: a number with a unit that fits the point
but that no rule claims (the heading stands in for the missing keywords first, so
"Strength: 10.1 m/s^2" is read as an intensity) and that no feature of that unit is near.
A numeric contradiction says when the number is another feature's value (gravity reported
as strength). Ranges ("1.6 to 2.1 steps per second") hold when a measured value is inside.
Each finding has the character spans of its claim, so a reviewer sees it highlighted.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from lanhar_core.llm.rules_backend import (
    CADENCE_BANDS,
    CREST_BANDS,
    DRIFT_BANDS,
    GYRO_BANDS,
    IMPACT_BANDS,
    STILL_BODY_RMS_MPS2,
    STRENGTH_BANDS,
    VERTICAL_SHARE_BANDS,
    Bands,
)

APERIODIC_REGULARITY = 0.2
RHYTHMIC_REGULARITY = 0.6
MOVING_BODY_RMS_MPS2 = 1.0
DEFAULT_REL_TOL = 0.25

Features = dict[str, float]


@dataclass(frozen=True)
class Contradiction:
    """One claim the feature record contradicts, with what was measured and the rule applied."""

    claim: str
    feature: str
    claimed_value: float | None
    measured_value: float
    rule: str
    severity: str
    kind: str = "value"
    spans: tuple[tuple[int, int], ...] = ()


FINDING_KINDS = ("value", "level", "binary", "unit", "repeat", "unmatched")
REPEAT_FEATURE = "point_repeats_count"


@dataclass(frozen=True)
class Claim:
    """A claim the checker understood (checked or not contradicted alike); for coverage statistics and highlighting."""

    text: str
    rule: str
    kind: str
    spans: tuple[tuple[int, int], ...] = ()


# ---------------------------------------------------------------- numeric claims

_UNITS: tuple[tuple[str, str, float], ...] = (
    ("per_min", r"(?:(?:beats|steps|strides|cycles)\s*)?(?:per|/)\s*min(?:ute)?\b|bpm\b|spm\b", 1.0),
    ("hz", r"(?:beats|steps|strides|cycles)\s*(?:per|/)\s*s(?:ec(?:ond)?)?\b", 1.0),
    ("mps3", r"m\s*/\s*s\s*(?:\^\s*3|³|3)\b|m\s*s\s*(?:\^\s*-\s*3|⁻³|-3)", 1.0),
    ("mps2", r"m\s*/\s*s\s*(?:\^\s*2|²|2)\b|m\s*s\s*(?:\^\s*-\s*2|⁻²|-2)|m\s*/\s*s\s*/\s*s\b", 1.0),
    ("mps", r"m\s*/\s*s\b(?!\s*[\^²/])|met(?:er|re)s?\s+per\s+second\b(?!\s+(?:squared|per))", 1.0),
    ("rad_s2", r"rad(?:ians?)?\s*/\s*s\s*(?:\^\s*2|²|2)\b", 1.0),
    ("rad_s", r"rad(?:ians?)?\s*(?:/\s*s(?:ec(?:ond)?)?\b|per\s+second|s\s*(?:\^\s*-\s*1|⁻¹|-1))", 1.0),
    ("rad_s", r"(?:deg(?:rees?)?|°)\s*(?:/\s*s(?:ec)?\b|per\s+second)", math.pi / 180.0),
    ("hz", r"hz\b|hertz\b", 1.0),
    ("deg", r"deg(?:rees?)?\b|°", 1.0),
    ("mps2", r"g\b(?![-/])", 9.80665),
    ("percent", r"%|percent\b", 1.0),
    ("s", r"ms\b|milliseconds?\b", 0.001),
    ("s", r"s\b(?![/-])|secs?\b|seconds?\b", 1.0),
    ("other", r"[a-zµ]+/|samples?\b|min(?:utes?)?\b|m\b|km\b|cm\b|kg\b|steps?\b|times\b|x\b", 1.0),
)
_UNIT_RE = [(name, re.compile(r"\s*(?:" + pattern + ")", re.IGNORECASE), factor) for name, pattern, factor in _UNITS]
_NUMBER_RE = re.compile(r"(?<![\w.^/|-])(-?\d+(?:\.\d+)?)(?![\d.]*-[a-z])", re.IGNORECASE)
_HEADING_RE = re.compile(r"^[ \t*#]*(\d+)[.)]\s", re.MULTILINE)
_CLAUSE_BOUNDARY = re.compile(r"[,;:(\n]|\.(?=\s)|\band\b|\bwith\b|\bwhile\b")
_LIST_ITEM = re.compile(r"\s*(?:[xyz](?:[- ]axis)?)?\s*", re.IGNORECASE)
_AXIS_RE = re.compile(r"\b([xyz])(?:[- ]axis)?\s*(?:is|of|at|=|:)?\s*$", re.IGNORECASE)

Measure = Callable[[Features, str], list[tuple[str, float]]]


@dataclass(frozen=True)
class NumericRule:
    """Number-with-unit claims whose preceding words match ``keywords``; ``measure`` lists the acceptable (feature, value)s."""

    name: str
    unit: str
    keywords: str
    measure: Measure
    abs_tol: float

    def matches(self, unit: str, context: str) -> bool:
        return unit == self.unit and re.search(self.keywords, context, re.IGNORECASE) is not None


def _keys(*keys: str, scale: float = 1.0, absolute: bool = False) -> Measure:
    def measure(f: Features, _context: str) -> list[tuple[str, float]]:
        values = [(k, f[k] * scale) for k in keys if k in f]
        return values + [(k, abs(v)) for k, v in values] if absolute else values

    return measure


def _axis(context: str) -> tuple[str, ...]:
    match = _AXIS_RE.search(context)
    return (match.group(1).lower(),) if match else ("x", "y", "z")


def _gravity_angle(f: Features, context: str) -> list[tuple[str, float]]:
    return [(f"gravity_angle_{a}_deg", f[f"gravity_angle_{a}_deg"]) for a in _axis(context)]


def _tilt(f: Features, context: str) -> list[tuple[str, float]]:
    return [(f"gravity_angle_{a}_deg", min(f[f"gravity_angle_{a}_deg"], 180.0 - f[f"gravity_angle_{a}_deg"])) for a in _axis(context)]


def _gyro_axis(kind: str) -> Measure:
    def measure(f: Features, context: str) -> list[tuple[str, float]]:
        return [(f"gyro_{a}_{kind}_rad_s", f[f"gyro_{a}_{kind}_rad_s"]) for a in _axis(context)]

    return measure


def _periods(f: Features, _context: str) -> list[tuple[str, float]]:
    out = [("peak_interval_mean_s", f["peak_interval_mean_s"])]
    if f["step_freq_hz"] > 0:
        out += [("step_freq_hz", 1.0 / f["step_freq_hz"]), ("step_freq_hz", 2.0 / f["step_freq_hz"])]
    return out


def _frequencies(f: Features, context: str) -> list[tuple[str, float]]:
    """Dominant and step frequency; a step frequency of 0 (no rhythm) only answers claims that name the step."""
    out = [("dominant_freq_hz", f["dominant_freq_hz"])]
    if f["step_freq_hz"] > 0 or re.search(r"step|cadence|stride", context, re.IGNORECASE):
        out.append(("step_freq_hz", f["step_freq_hz"]))
    if re.search(r"stride|gait cycle", context, re.IGNORECASE):
        out.append(("step_freq_hz", f["step_freq_hz"] / 2.0))
    return out


_P2P = r"peak[- ]to[- ]peak|p2p|range|swing"
NUMERIC_RULES: tuple[NumericRule, ...] = (
    NumericRule("step rate", "per_min", r".", lambda f, c: [(k, v * 60) for k, v in _frequencies(f, c)], 6.0),
    NumericRule("frequency", "hz", r".", _frequencies, 0.15),
    NumericRule("jerk", "mps3", r".", _keys("jerk_rms_mps3"), 2.0),
    NumericRule("vertical impact", "mps2", r"impact|per[- ]step|at the peaks|mean (?:vertical )?peak", _keys("step_impact_mps2"), 0.3),
    NumericRule("vertical peak", "mps2", r"peak vertical|vertical peak", _keys("step_impact_mps2", "vertical_p2p_mps2"), 0.3),
    NumericRule("vertical peak-to-peak", "mps2", rf"vertical.*(?:{_P2P})|(?:{_P2P}).*vertical", _keys("vertical_p2p_mps2"), 0.3),
    NumericRule("horizontal peak-to-peak", "mps2", rf"horizontal.*(?:{_P2P})|(?:{_P2P}).*horizontal", _keys("horizontal_p2p_mps2"), 0.3),
    NumericRule("vertical acceleration", "mps2", r"vertical", _keys("vertical_rms_mps2", "vertical_p2p_mps2", "step_impact_mps2"), 0.2),
    NumericRule("horizontal acceleration", "mps2", r"horizontal", _keys("horizontal_rms_mps2", "horizontal_p2p_mps2"), 0.2),
    NumericRule("gravity", "mps2", r"gravity", _keys("gravity_mps2", "acc_mag_mean_mps2"), 0.3),
    NumericRule("magnitude mean", "mps2", r"\b(?:mean|average)\b", _keys("acc_mag_mean_mps2", "body_acc_rms_mps2", "step_impact_mps2"), 0.3),
    NumericRule("magnitude std", "mps2", r"\bstd\b|standard deviation", _keys("acc_mag_std_mps2", "body_acc_rms_mps2"), 0.2),
    NumericRule("magnitude max", "mps2", r"\bmax(?:imum)?\b", _keys("acc_mag_max_mps2", "vertical_p2p_mps2", "step_impact_mps2"), 0.3),
    NumericRule("magnitude min", "mps2", r"\bmin(?:imum)?\b", _keys("acc_mag_min_mps2"), 0.3),
    NumericRule("peak-to-peak", "mps2", _P2P, _keys("vertical_p2p_mps2", "horizontal_p2p_mps2"), 0.3),
    NumericRule("body RMS", "mps2", r"body", _keys("body_acc_rms_mps2", "acc_mag_std_mps2"), 0.2),
    NumericRule(
        "acceleration RMS", "mps2", r"\brms\b|intensity|amplitude|strength",
        _keys("body_acc_rms_mps2", "acc_mag_std_mps2", "vertical_rms_mps2", "horizontal_rms_mps2"), 0.2,
    ),
    NumericRule("gyro peak-to-peak", "rad_s", rf"\b[xyz]\b.*(?:{_P2P})|(?:{_P2P})", _gyro_axis("p2p"), 0.1),
    NumericRule("gyro axis", "rad_s", r"\b[xyz](?:[- ]axis)?\s*(?:is|of|at|=|:)?\s*$", _gyro_axis("rms"), 0.05),
    NumericRule("gyro vertical", "rad_s", r"vertical|yaw|turn", _keys("gyro_vertical_rms_rad_s", "gyro_rms_rad_s"), 0.05),
    NumericRule("gyro horizontal", "rad_s", r"horizontal|pitch|roll", _keys("gyro_horizontal_rms_rad_s", "gyro_rms_rad_s"), 0.05),
    NumericRule("gyro RMS", "rad_s", r"\brms\b|overall|magnitude|total", _keys("gyro_rms_rad_s"), 0.05),
    NumericRule(
        "gyro", "rad_s", r".",
        _keys("gyro_rms_rad_s", "gyro_vertical_rms_rad_s", "gyro_horizontal_rms_rad_s", "gyro_x_rms_rad_s", "gyro_y_rms_rad_s", "gyro_z_rms_rad_s"),
        0.05,
    ),
    NumericRule("drift", "deg", r"drift", _keys("gravity_drift_deg"), 1.0),
    NumericRule("swing", "deg", r"swing", lambda _f, _c: [], 0.0),
    NumericRule("tilt", "deg", r"tilt|from (?:the )?vertical", _tilt, 2.0),
    NumericRule("turn", "deg", r"turn|yaw|heading", _keys("net_turn_deg", absolute=True), 3.0),
    NumericRule("net rotation", "deg", r"rotat", _keys("net_rotation_deg", "net_turn_deg", absolute=True), 5.0),
    NumericRule("gravity angle", "deg", r"angle|gravity|inclin|orientation|\b[xyz](?:[- ]axis)?\s*$", _gravity_angle, 2.0),
    NumericRule("peak interval", "s", r"interval|period|between|spacing|cycle", _periods, 0.1),
    NumericRule("duration", "s", r"duration|window|span|lasts?\b", _keys("duration_s"), 0.5),
    NumericRule("vertical share %", "percent", r"vertical", _keys("vertical_energy_ratio", scale=100.0), 5.0),
    NumericRule("peak count", "count", r".", _keys("peak_count"), 1.0),
    NumericRule("vertical share", "ratio", r"vertical.*(?:share|fraction|proportion|ratio)|(?:share|fraction|proportion).*vertical", _keys("vertical_energy_ratio"), 0.05),
    NumericRule("regularity", "ratio", r"regularity|autocorrelation", _keys("step_regularity_ratio"), 0.05),
    NumericRule("crest factor", "ratio", r"crest", _keys("vertical_crest_ratio"), 0.1),
    NumericRule("harmonic ratio", "ratio", r"harmonic", _keys("harmonic_ratio"), 0.1),
    NumericRule("interval variation", "ratio", r"variation|\bcv\b", _keys("peak_interval_cv_ratio"), 0.03),
    NumericRule("sync", "ratio", r"sync|correlat", _keys("acc_gyro_sync_ratio"), 0.05),
)


def _unit_at(text: str, end: int) -> tuple[str, float, int]:
    for name, pattern, factor in _UNIT_RE:
        match = pattern.match(text, end)
        if match:
            return name, factor, match.end()
    if re.match(r"\s*(?:distinct\s+|clear\s+|sharp\s+|vertical\s+)?peaks?\b", text[end:], re.IGNORECASE):
        return "count", 1.0, end
    return "ratio", 1.0, end


def _clause_before(text: str, start: int) -> tuple[str, bool]:
    """Words from the last clause boundary to ``start`` (max 80 chars) and whether a sentence ended in between."""
    window = text[max(0, start - 80) : start]
    boundaries = list(_CLAUSE_BOUNDARY.finditer(window))
    if not boundaries:
        return window, False
    last = boundaries[-1]
    return window[last.end() :], last.group(0) in (".", "\n")


# ---------------------------------------------------------------- the seven numbered points


@dataclass(frozen=True)
class Point:
    """One point of the prompt's answer format: the heading words, the units its numbers may have, its main feature."""

    name: str
    heading: str
    units: frozenset[str]
    feature: str
    expects: str


POINTS: tuple[Point, ...] = (
    Point("strength", r"strength|intensity", frozenset({"mps2", "mps3"}), "body_acc_rms_mps2",
          "an acceleration (m/s^2) or a jerk (m/s^3)"),
    Point("axis dominance", r"axis|dominan", frozenset({"mps2", "rad_s", "percent"}), "vertical_energy_ratio",
          "a share, an acceleration (m/s^2) or a rotation rate (rad/s)"),
    Point("rhythm", r"rhythm|cadence|frequen", frozenset({"hz", "per_min", "s"}), "step_freq_hz",
          "a frequency (Hz, steps per second or per minute) or a period (s)"),
    Point("waveform shape", r"waveform|shape", frozenset({"s", "mps2", "percent"}), "vertical_crest_ratio",
          "a ratio (crest factor), a peak spacing (s) or a peak size (m/s^2)"),
    Point("posture and drift", r"posture|drift|orientation|tilt", frozenset({"deg", "rad_s"}), "gravity_drift_deg",
          "an angle (deg)"),
    Point("gyro-acc sync", r"sync|gyro", frozenset({"rad_s", "percent"}), "acc_gyro_sync_ratio",
          "a rotation rate (rad/s) or a ratio"),
    Point("vertical impact", r"impact", frozenset({"mps2"}), "step_impact_mps2", "an acceleration (m/s^2)"),
)
_PHYSICAL_UNITS = frozenset({"mps2", "mps3", "mps", "rad_s", "rad_s2", "hz", "per_min", "deg", "s", "percent"})
_NO_FEATURE_UNITS = {"mps": "m/s (a velocity)", "rad_s2": "rad/s^2 (an angular acceleration)"}
_UNIT_NAMES = {"mps2": "m/s^2", "mps3": "m/s^3", "rad_s": "rad/s", "hz": "Hz", "per_min": "per minute", "deg": "deg",
               "s": "s", "percent": "%", **_NO_FEATURE_UNITS}
_POINT_LINE = re.compile(r"^[ \t*#-]*\d+[.)][ \t]*\**[ \t]*(?P<head>[A-Za-z][^:\n]{1,40}?)[ \t]*\**[ \t]*:(?P<body>[^\n]*)$", re.MULTILINE)
_RANGE_RE = re.compile(r"\s*(?:to|–|~)\s*(\d+(?:\.\d+)?)")


@dataclass(frozen=True)
class _PointLine:
    head: str
    point: Point | None
    start: int
    end: int
    body: str


def _point_lines(text: str) -> list[_PointLine]:
    """The ``N. Heading: ...`` lines, each with the point its heading names (``None`` when it names none)."""
    out = []
    for match in _POINT_LINE.finditer(text):
        head = match.group("head").strip()
        point = next((p for p in POINTS if re.search(p.heading, head, re.IGNORECASE)), None)
        out.append(_PointLine(head, point, match.start(), match.end(), match.group("body")))
    return out


def _line_at(lines: list[_PointLine], position: int) -> _PointLine | None:
    return next((line for line in lines if line.start <= position < line.end), None)


def _feature_unit(key: str) -> str:
    for suffix, unit in (("_rad_s", "rad_s"), ("_mps2", "mps2"), ("_mps3", "mps3"), ("_hz", "hz"), ("_deg", "deg"),
                         ("_ratio", "ratio"), ("_count", "count"), ("_s", "s")):
        if key.endswith(suffix):
            return unit
    return "count" if key == "peak_count" else "other"


def _features_in(unit: str, features: Features) -> list[tuple[str, float]]:
    """Every feature a number in ``unit`` could be (Hz also per minute, ratios also in %)."""
    if unit == "per_min":
        return [(k, v * 60) for k, v in features.items() if _feature_unit(k) == "hz"]
    if unit == "percent":
        return [(k, v * 100) for k, v in features.items() if _feature_unit(k) == "ratio"]
    return [(k, v) for k, v in features.items() if _feature_unit(k) == unit]


@dataclass(frozen=True)
class _Number:
    """A number with its unit (a range keeps both ends), the words before it and the point it sits in."""

    snippet: str
    low: float
    high: float
    unit: str
    context: str
    start: int
    end: int
    line: _PointLine | None
    rule: NumericRule | None


def _numeric_claims(text: str) -> list[_Number]:
    """Every number with a physical unit or a rule, read with its clause (or, inside a point, its heading).

    A line identical to an earlier one is read once: the repetition is its own finding.
    """
    headings = {m.start(1) for m in _HEADING_RE.finditer(text)}
    lines = _point_lines(text)
    seen: set[tuple[str, str]] = set()
    repeats: list[_PointLine] = []
    for line in lines:
        key = (re.sub(r"\s+", " ", line.head.lower()), re.sub(r"\s+", " ", line.body.strip().lower()))
        if key in seen:
            repeats.append(line)
        seen.add(key)
    found: list[_Number] = []
    previous: NumericRule | None = None
    previous_line: _PointLine | None = None
    consumed: set[int] = set()
    for match in _NUMBER_RE.finditer(text):
        if match.start() in headings or match.start() in consumed or _line_at(repeats, match.start()) is not None:
            continue
        low = high = float(match.group(1))
        after = match.end()
        upper = _RANGE_RE.match(text, after)
        if upper:
            consumed.add(upper.start(1))
            high, after = float(upper.group(1)), upper.end()
        unit, factor, end = _unit_at(text, after)
        if unit == "other":
            continue
        context, new_sentence = _clause_before(text, match.start())
        point_line = _line_at(lines, match.start())
        if new_sentence or point_line is not previous_line:
            previous = None
        previous_line = point_line
        rule = next((r for r in NUMERIC_RULES if r.matches(unit, context)), None)
        if rule is None and point_line is not None and context.strip() == "":
            rule = next((r for r in NUMERIC_RULES if r.matches(unit, point_line.head)), None)
        if rule is None and previous is not None and previous.unit == unit and _LIST_ITEM.fullmatch(context):
            rule = previous
        if rule is None and (point_line is None or point_line.point is None or unit not in _PHYSICAL_UNITS):
            continue
        previous = rule or previous
        lead = len(context) - len(context.lstrip())
        start = match.start() - len(context) + lead
        snippet = text[start:end].strip()
        if point_line is not None and not context.strip():
            snippet, start = f"{point_line.head}: {snippet}", point_line.start
        found.append(_Number(snippet, low * factor, high * factor, unit, context, start, end, point_line, rule))
    return found


def _distance(number: _Number, value: float) -> float:
    return 0.0 if number.low <= value <= number.high else min(abs(number.low - value), abs(number.high - value))


def _claimed(number: _Number) -> float:
    return (number.low + number.high) / 2


def _another_feature(number: _Number, features: Features, rel_tol: float, skip: set[str]) -> str:
    """' (it is the measured X = v)' when the number is some other feature's value: a quantity put in the wrong place."""
    for key, value in _features_in(number.unit, features):
        if key not in skip and abs(value) > 1e-6 and _distance(number, value) <= rel_tol * abs(value):
            return f"; it is the measured {key} = {value:.3g}, another quantity"
    return ""


def _check_numeric(number: _Number, rule: NumericRule, features: Features, rel_tol: float) -> Contradiction | None:
    candidates = rule.measure(features, number.context if number.context.strip() or number.line is None else number.line.head)
    if not candidates:
        return None
    errors = [(_distance(number, v), max(rel_tol * abs(v), rule.abs_tol), k, v) for k, v in candidates]
    if any(err <= tol for err, tol, _, _ in errors):
        return None
    err, tol, key, value = min(errors, key=lambda e: e[0] / e[1])
    other = _another_feature(number, features, rel_tol, {k for _, _, k, _ in errors})
    return Contradiction(
        claim=number.snippet,
        feature=key,
        claimed_value=_claimed(number),
        measured_value=float(value),
        rule=f"{rule.name}: claimed value must be within max({rel_tol:g} x measured, {rule.abs_tol:g}) of the measured one{other}",
        severity="major" if err > 3 * tol else "minor",
        kind="value",
        spans=((number.start, number.end),),
    )


def _wrong_unit(number: _Number, line: _PointLine, point: Point, features: Features) -> Contradiction | None:
    """Unit nonsense: a unit no feature has, or one that cannot measure what the point is about."""
    unit = number.unit
    if unit not in _NO_FEATURE_UNITS and (unit not in _PHYSICAL_UNITS or unit in point.units):
        return None
    what = _NO_FEATURE_UNITS.get(unit, _UNIT_NAMES.get(unit, unit))
    why = "no feature is measured in it" if unit in _NO_FEATURE_UNITS else f"{point.name} is {point.expects}"
    return Contradiction(number.snippet, point.feature, _claimed(number), float(features.get(point.feature, 0.0)),
                         f"unit: '{line.head}' given in {what}; {why}", "major", "unit", ((number.start, number.end),))


def _unmatched(number: _Number, features: Features, rel_tol: float) -> Contradiction | None:
    """A number in a point that no rule claims must still be the value of some feature of its unit."""
    candidates = _features_in(number.unit, features)
    if not candidates or any(_distance(number, v) <= max(rel_tol * abs(v), 1e-3) for _, v in candidates):
        return None
    key, value = min(candidates, key=lambda kv: _distance(number, kv[1]) / max(abs(kv[1]), 1e-3))
    return Contradiction(
        number.snippet, key, _claimed(number), float(value),
        f"no matching feature: no measured value in {_UNIT_NAMES.get(number.unit, number.unit)} is within {rel_tol:g} "
        f"of it (nearest {key})",
        "minor", "unmatched", ((number.start, number.end),),
    )


def _repeated_points(text: str) -> list[tuple[Claim, Contradiction]]:
    """A point written more than once: the prompt asks for each of the seven points once."""
    lines = _point_lines(text)
    by_head: dict[str, list[_PointLine]] = {}
    for line in lines:
        by_head.setdefault(re.sub(r"\s+", " ", line.head.lower()), []).append(line)
    out = []
    for group in by_head.values():
        if len(group) < 2:
            continue
        bodies = {re.sub(r"\s+", " ", g.body.strip().lower()) for g in group}
        same = "identical" if len(bodies) == 1 else f"{len(bodies)} different versions"
        spans = tuple((g.start, g.end) for g in group[1:])
        claim = f"{group[0].head} x{len(group)}"
        out.append((
            Claim(claim, "repeated point", "repeat", spans),
            Contradiction(claim, REPEAT_FEATURE, None, float(len(group)),
                          f"repeated point: '{group[0].head}' is written {len(group)} times ({same}); each point belongs once",
                          "major" if len(group) >= 3 else "minor", "repeat", spans),
        ))
    return out


# ---------------------------------------------------------------- verbal claims

_NEGATION = re.compile(r"\b(?:no|not|without|lacks?|lacking|absence of|absent|never|neither|nor|non)\b[\w\s-]{0,20}$", re.IGNORECASE)


@dataclass(frozen=True)
class LevelRule:
    """Ordered level words for one feature; ``patterns`` capture the level word in group ``level``."""

    name: str
    feature: str
    bands: Bands
    words: dict[str, int]
    patterns: tuple[str, ...]
    needs_motion: bool = False

    def level_of(self, value: float) -> int:
        for i, (upper, _) in enumerate(self.bands):
            if value < upper:
                return i
        return len(self.bands) - 1


def _alternation(words: dict[str, int]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_INTENSITY = {
    "very low": 0, "minimal": 0, "negligible": 0, "very little": 0, "very weak": 0,
    "low": 1, "mild": 1, "gentle": 1, "light": 1, "weak": 1, "slight": 1,
    "moderate": 2, "medium": 2,
    "high": 3, "strong": 3, "intense": 3, "vigorous": 3, "significant": 3,
    "very high": 4, "very strong": 4, "extreme": 4, "very intense": 4,
}
_AXIS_WORDS = {
    "horizontal-dominant": 0, "horizontally dominant": 0, "horizontal dominance": 0, "predominantly horizontal": 0,
    "mainly horizontal": 0, "dominated by horizontal": 0,
    "vertical-leaning": 2, "vertical dominance": 2, "vertically dominant": 2, "vertical-dominant": 2,
    "predominantly vertical": 2, "mainly vertical": 2, "dominated by vertical": 2,
    "strongly vertical-dominant": 3, "strongly vertical": 3,
}
_CADENCE = {"slow": 0, "steady": 1, "moderate": 1, "brisk": 2, "fast": 3, "quick": 3, "rapid": 3, "very fast": 4}
_ROTATION = {
    "negligible": 0, "no": 0, "little": 0, "minimal": 0, "hardly any": 0, "barely any": 0, "very little": 0,
    "mild": 1, "slight": 1, "small": 1, "minor": 1, "moderate": 2,
    "strong": 3, "significant": 3, "large": 3, "substantial": 3, "pronounced": 3, "intense": 3,
}
_IMPACT = {
    "no": 0, "soft": 1, "mild": 1, "light": 1, "gentle": 1, "small": 1, "weak": 1,
    "moderate": 2, "strong": 3, "hard": 3, "heavy": 3, "pronounced": 3, "large": 3, "sharp": 3, "very strong": 4,
}
_DRIFT = {"stable orientation": 0, "steady orientation": 0, "slight orientation drift": 1, "large orientation change": 2,
          "large orientation drift": 2, "significant orientation change": 2}
_SHAPE = {"smooth": 0, "rounded": 0, "sinusoidal": 0, "moderately peaked": 1, "sharp, impulsive": 2, "impulsive": 2, "spiky": 2}

LEVEL_RULES: tuple[LevelRule, ...] = (
    LevelRule("intensity", "body_acc_rms_mps2", STRENGTH_BANDS, _INTENSITY, (
        rf"\b(?P<level>{_alternation(_INTENSITY)})\s+(?:movement\s+|motion\s+|overall\s+)?intensity\b",
        rf"\bintensity\s+(?:is|was|remains|appears|seems)\s+(?:\w+\s+)?(?P<level>{_alternation(_INTENSITY)})\b",
    )),
    LevelRule("axis dominance", "vertical_energy_ratio", VERTICAL_SHARE_BANDS, _AXIS_WORDS,
              (rf"\b(?P<level>{_alternation(_AXIS_WORDS)})",), needs_motion=True),
    LevelRule("cadence", "step_freq_hz", CADENCE_BANDS, _CADENCE, (rf"\b(?P<level>{_alternation(_CADENCE)})\s+cadence\b",)),
    LevelRule("rotation", "gyro_rms_rad_s", GYRO_BANDS, _ROTATION, (
        rf"\b(?P<level>{_alternation(_ROTATION)})\s+(?:\w+\s+)?rotation\b",
        rf"\brotation\s+(?:is|was|remains|appears|seems)\s+(?:\w+\s+)?(?P<level>{_alternation(_ROTATION)})\b",
    )),
    LevelRule("vertical impact", "step_impact_mps2", IMPACT_BANDS, _IMPACT, (
        rf"\b(?P<level>{_alternation(_IMPACT)})\s+(?:\w+\s+)?(?:vertical\s+)?impacts?\b",
        rf"\bimpacts?\s+(?:is|are|was|were|remains|appears|seems)\s+(?:\w+\s+)?(?P<level>{_alternation(_IMPACT)})\b",
    )),
    LevelRule("orientation drift", "gravity_drift_deg", DRIFT_BANDS, _DRIFT, (rf"\b(?P<level>{_alternation(_DRIFT)})\b",)),
    LevelRule("waveform shape", "vertical_crest_ratio", CREST_BANDS, _SHAPE,
              (rf"\b(?P<level>{_alternation(_SHAPE)})(?:,?\s+\w+)?\s+(?:peaks|waves?|oscillations?|waveform)\b",), needs_motion=True),
)

_PERIODIC = re.compile(r"(?<!rotation )\b(?:periodic|rhythmic|repetitive|cyclic(?:al)?|regular rhythm|step rhythm|rhythm)\b", re.IGNORECASE)
_APERIODIC = re.compile(r"\b(?:aperiodic|non-periodic|arrhythmic|irregular(?!ly spaced)(?:\s+\w+)?)\b", re.IGNORECASE)
_STILL = re.compile(
    r"\b(?:stationary|motionless|at rest|immobile|not moving|no movement"
    r"|(?:remains|stays|held|kept|holds?|holding)\s+(?:\w+\s+)?still"
    r"|still(?=\s*(?:[,.;]|$|and\b|posture|position|phase|period|state)))\b",
    re.IGNORECASE,
)


def _sentences(text: str) -> list[tuple[int, str]]:
    """(offset, sentence) pairs, so verbal claims keep their position in the text."""
    out, offset = [], 0
    for part in re.split(r"((?<=[.!?])\s+|\n)", text):
        if part.strip() and not re.fullmatch(r"(?<=[.!?])\s+|\n", part):
            out.append((offset, part))
        offset += len(part)
    return out


def _level_claims(sentence: str, features: Features, offset: int = 0) -> list[tuple[Claim, Contradiction | None]]:
    out = []
    for rule in LEVEL_RULES:
        if rule.needs_motion and features["body_acc_rms_mps2"] < STILL_BODY_RMS_MPS2:
            continue
        if rule.name == "cadence" and features["step_freq_hz"] <= 0:
            continue
        for pattern in rule.patterns:
            for match in re.finditer(pattern, sentence, re.IGNORECASE):
                word = match.group("level").lower()
                if word != "no" and _NEGATION.search(sentence[: match.start("level")]):
                    continue
                claimed = rule.words[word]
                measured = features[rule.feature]
                actual = rule.level_of(measured)
                spans = ((offset + match.start(), offset + match.end()),)
                claim = Claim(match.group(0), rule.name, "verbal", spans)
                gap = abs(claimed - actual)
                contradiction = None
                if gap >= 2:
                    contradiction = Contradiction(
                        claim=match.group(0),
                        feature=rule.feature,
                        claimed_value=None,
                        measured_value=float(measured),
                        rule=f"{rule.name}: '{word}' is {gap} levels from the measured '{rule.bands[actual][1]}'",
                        severity="major" if gap >= 3 else "minor",
                        kind="level",
                        spans=spans,
                    )
                out.append((claim, contradiction))
    return out


def _rhythm_claims(sentence: str, features: Features, offset: int = 0) -> list[tuple[Claim, Contradiction | None]]:
    out = []

    def found(match: re.Match[str], rule_name: str, feature: str, value: float, rule: str, wrong: bool) -> tuple[Claim, Contradiction | None]:
        spans = ((offset + match.start(), offset + match.end()),)
        return Claim(match.group(0), rule_name, "verbal", spans), _binary(match.group(0), feature, value, rule, spans) if wrong else None

    step, regularity = features["step_freq_hz"], features["step_regularity_ratio"]
    body = features["body_acc_rms_mps2"]
    for match in _PERIODIC.finditer(sentence):
        negated = _NEGATION.search(sentence[: match.start()]) is not None
        if negated:
            wrong = step > 0 and regularity >= RHYTHMIC_REGULARITY
            rule = f"rhythm: 'no {match.group(0)}' but a step rhythm at {step:.2f} Hz with regularity {regularity:.2f} exists"
        elif match.group(0).lower() == "rhythm":
            continue
        else:
            wrong = step <= 0 and regularity < APERIODIC_REGULARITY
            rule = f"rhythm: '{match.group(0)}' but no step rhythm and regularity {regularity:.2f} < {APERIODIC_REGULARITY}"
        out.append(found(match, "rhythm", "step_regularity_ratio", regularity, rule, wrong))
    for match in _APERIODIC.finditer(sentence):
        if _NEGATION.search(sentence[: match.start()]) or re.match(r"irregular\s+(?:fluctuations?|noise|jitter)", match.group(0), re.I):
            continue
        wrong = step > 0 and regularity >= RHYTHMIC_REGULARITY
        rule = f"rhythm: '{match.group(0)}' but a step rhythm at {step:.2f} Hz with regularity {regularity:.2f} exists"
        out.append(found(match, "rhythm", "step_regularity_ratio", regularity, rule, wrong))
    for match in _STILL.finditer(sentence):
        if _NEGATION.search(sentence[: match.start()]) and "not moving" not in match.group(0).lower():
            continue
        wrong = body >= MOVING_BODY_RMS_MPS2
        rule = f"stillness: '{match.group(0)}' but body-acceleration RMS {body:.2f} m/s^2 >= {MOVING_BODY_RMS_MPS2}"
        out.append(found(match, "stillness", "body_acc_rms_mps2", body, rule, wrong))
    return out


def _binary(claim: str, feature: str, measured: float, rule: str, spans: tuple[tuple[int, int], ...]) -> Contradiction:
    return Contradiction(claim=claim, feature=feature, claimed_value=None, measured_value=float(measured), rule=rule,
                         severity="major", kind="binary", spans=spans)


# ---------------------------------------------------------------- entry points


def analyse(text: str, features: Features, rel_tol: float = DEFAULT_REL_TOL) -> tuple[list[Claim], list[Contradiction]]:
    """Every claim understood and the contradictions among them."""
    claims: list[Claim] = []
    contradictions: list[Contradiction] = []
    for number in _numeric_claims(text):
        spans = ((number.start, number.end),)
        line = number.line
        point = line.point if line is not None else None
        found = _wrong_unit(number, line, point, features) if line is not None and point is not None else None
        if found is not None and point is not None:
            claims.append(Claim(number.snippet, f"{point.name} unit", "unit", spans))
        elif number.rule is not None:
            claims.append(Claim(number.snippet, number.rule.name, "numeric", spans))
            found = _check_numeric(number, number.rule, features, rel_tol)
        elif point is not None:
            claims.append(Claim(number.snippet, f"{point.name} value", "unmatched", spans))
            found = _unmatched(number, features, rel_tol)
        if found:
            contradictions.append(found)
    for claim, found in _repeated_points(text):
        claims.append(claim)
        contradictions.append(found)
    for offset, sentence in _sentences(text):
        for claim, found in _level_claims(sentence, features, offset) + _rhythm_claims(sentence, features, offset):
            claims.append(claim)
            if found:
                contradictions.append(found)
    return claims, contradictions


def check(text: str, features: Features, rel_tol: float = DEFAULT_REL_TOL) -> list[Contradiction]:
    """The contradictions between an interpretation and its window's feature record (``window_features``)."""
    return analyse(text, features, rel_tol)[1]
