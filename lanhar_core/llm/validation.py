"""Parse and validate interpretation replies.

A window interpretation is only useful downstream if it has the fixed 7-point structure
(reviewers compare points across windows, the fact checker reads individual points) and if
it does not name the activity (the text encoder would learn the label word instead of the
signal pattern). Invalid replies are kept with their reason, never dropped, so this module
only judges; it never raises on bad text.

The parser is tolerant of how small instruction models format headings: ``1. Strength:``,
``**1. Strength**:``, ``### 1) Strength``, ``**Strength:**`` without a number, or a number
with a paraphrased heading name.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from lanhar_core.vocab import builtin_by_name

WINDOW_SECTIONS: tuple[tuple[str, str], ...] = (
    ("strength", "Strength"),
    ("axis_dominance", "Axis dominance"),
    ("rhythm", "Rhythm"),
    ("waveform_shape", "Waveform shape"),
    ("posture_drift", "Posture and drift"),
    ("gyro_acc_sync", "Gyro-acc sync"),
    ("vertical_impact", "Vertical impact"),
)
"""(field key, heading) of the 7-point pattern summary, in order; the prompts use these headings."""

LABEL_SECTIONS: tuple[tuple[str, str], ...] = (
    ("general", "General description"),
    ("sensor_patterns", "Sensor patterns"),
    ("body_parts", "Body parts"),
)
"""(field key, heading) of the three aspects of a label description, in order."""

_WINDOW_ALIASES: dict[str, tuple[str, ...]] = {
    "strength": ("strength", "intensity", "amplitude", "movement strength"),
    "axis_dominance": ("axis dominance", "dominant axis", "axis"),
    "rhythm": ("rhythm", "periodicity", "frequency"),
    "waveform_shape": ("waveform shape", "waveform", "shape"),
    "posture_drift": ("posture and drift", "posture/drift", "posture", "drift", "orientation"),
    "gyro_acc_sync": (
        "gyro-acc sync",
        "gyro-acc synchrony",
        "gyro acc sync",
        "gyroscope-accelerometer sync",
        "gyroscope-accelerometer synchrony",
        "synchrony",
        "sync",
    ),
    "vertical_impact": ("vertical impact", "impact"),
}

_LABEL_ALIASES: dict[str, tuple[str, ...]] = {
    "general": ("general description", "general overview", "overview", "description"),
    "sensor_patterns": (
        "sensor patterns detected by accelerometer and gyroscope",
        "sensor patterns",
        "accelerometer and gyroscope patterns",
        "accelerometer/gyroscope patterns",
        "sensor pattern",
        "imu patterns",
    ),
    "body_parts": ("body parts involved", "body parts", "muscles involved", "body involvement"),
}

_SYNONYMS: dict[str, tuple[str, ...]] = {
    # Words that give the activity away. Generic signal vocabulary ("cycle", "ascending",
    # "row", "lift") is deliberately absent: LLMs use it legitimately to describe waveforms.
    "walk": ("walk", "walks", "walking", "walked", "strolling", "stroll"),
    "jog": ("jog", "jogs", "jogging", "run", "running", "sprinting"),
    "bike": ("bike", "biking", "cycling", "bicycle", "bicycling", "pedaling", "pedalling"),
    "sit": ("sit", "sits", "sitting", "seated"),
    "stand": ("stand", "stands", "standing"),
    "lie": ("lie", "lies down", "lying", "laying", "lying down", "reclining"),
    "upstairs": ("upstairs", "stairs", "stair", "staircase", "stair climbing", "climbing stairs"),
    "downstairs": ("downstairs", "stairs", "stair", "staircase"),
    "jump": ("jump", "jumps", "jumping", "hopping"),
    "elevator_up": ("elevator",),
    "elevator_down": ("elevator",),
    "rope_jump": ("rope jumping", "skipping rope", "jump rope", "jumping"),
    "nordic_walk": ("nordic walking", "walking"),
    "treadmill_walk": ("treadmill", "walking"),
    "treadmill_walk_incline": ("treadmill", "walking"),
    "treadmill_run": ("treadmill", "running"),
    "vacuum": ("vacuum", "vacuuming", "vacuum cleaning"),
    "iron": ("ironing",),
    "rowing": ("rowing",),
}


@dataclass(frozen=True)
class ParsedReply:
    """Outcome of validating a reply: ``fields`` holds what could be parsed even when invalid."""

    valid: bool
    reason: str | None
    fields: dict[str, str] = field(default_factory=dict)


def forbidden_terms(activities: Iterable[str]) -> list[str]:
    """Words an interpretation may not use, given canonical activity names (and/or display names).

    Canonical built-ins expand to their display name and common synonyms; other names
    (user labels, display names) contribute themselves and their underscore-free spelling.
    """
    builtins = builtin_by_name()
    terms: set[str] = set()
    for name in activities:
        terms.add(name.replace("_", " ").lower())
        if name in builtins:
            terms.add(builtins[name].display.lower())
            terms.update(_SYNONYMS.get(name, ()))
    return sorted(t for t in terms if t.strip())


@functools.lru_cache(maxsize=1024)
def _term_pattern(term: str) -> re.Pattern[str]:
    words = [re.escape(w) for w in re.split(r"[\s_-]+", term.strip()) if w]
    return re.compile(r"(?<![\w-])" + r"[\s_-]+".join(words) + r"(?![\w-])", re.IGNORECASE)


@functools.lru_cache(maxsize=64)
def _any_term(terms: tuple[str, ...]) -> re.Pattern[str]:
    """One pattern matching any of ``terms``: a valid reply (the common case) costs one search, not one per term."""
    return re.compile("|".join(f"(?:{_term_pattern(t).pattern})" for t in terms), re.IGNORECASE)


def find_forbidden(text: str, forbidden: Iterable[str]) -> list[str]:
    """The forbidden terms that occur in ``text`` as whole words (case-insensitive), in list order."""
    terms = tuple(term for term in forbidden if term.strip())
    if not terms or not _any_term(terms).search(text):
        return []
    return [term for term in terms if _term_pattern(term).search(text)]


_MARKUP = r"[ \t>#*_\-•]*"
_NUMBERED = re.compile(rf"^{_MARKUP}(?:point\s+|section\s+|category\s+)?(?P<num>\d)\s*[.):](?!\d)\s*(?P<rest>.*)$", re.I)


def _strip_heading(rest: str, aliases: tuple[str, ...]) -> tuple[bool, str]:
    """Remove a leading heading name (with bold markers and colon) from ``rest``; report whether one was found."""
    cleaned = rest.strip()
    bare = cleaned.lstrip("*_# ").lower()
    for alias in sorted(aliases, key=len, reverse=True):
        if bare.startswith(alias):
            tail = cleaned.lstrip("*_# ")[len(alias) :]
            tail = re.sub(r"^[\s*_]*(?:\([^)]*\))?[\s*_]*[:\-–—]?[\s*_]*", "", tail)
            return True, tail.strip()
    bold_prefix = re.match(r"^(?:(?:\*\*|__)[^*_\n]{1,60}(?:\*\*|__)\s*:?|[^*_\n:]{1,60}(?:\*\*|__)\s*:)\s*", cleaned)
    if bold_prefix:
        return False, cleaned[bold_prefix.end() :].strip()
    return False, cleaned


def _split_sections(text: str, sections: tuple[tuple[str, str], ...], aliases: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """Assign each line of ``text`` to a section: numbered headings or known heading names.

    Numbers must increase (a section may be skipped), so a nested list restarting at
    "1." inside a later section stays part of that section.
    """
    keys = [key for key, _ in sections]
    collected: dict[str, list[str]] = {}
    current: str | None = None
    next_index = 0
    for line in text.splitlines():
        heading_key: str | None = None
        content = line.strip()
        numbered = _NUMBERED.match(line)
        if numbered and next_index < int(numbered.group("num")) <= len(keys):
            heading_key = keys[int(numbered.group("num")) - 1]
            _, content = _strip_heading(numbered.group("rest"), aliases[heading_key])
        else:
            bare = re.sub(rf"^{_MARKUP}", "", line).lower()
            for key in keys[next_index:]:
                if any(bare.startswith(a) and re.match(r"^[\s*_]*(?:\([^)]*\))?[\s*_]*[:\-–—]", bare[len(a) :] + ":") for a in aliases[key]):
                    found, content = _strip_heading(re.sub(rf"^{_MARKUP}", "", line), aliases[key])
                    if found:
                        heading_key = key
                        break
        if heading_key is not None:
            current = heading_key
            next_index = keys.index(heading_key) + 1
            collected[current] = [content] if content else []
        elif current is not None and content:
            collected[current].append(content)
    return {key: " ".join(parts).strip() for key, parts in collected.items() if " ".join(parts).strip()}


def _judge(text: str, sections: tuple[tuple[str, str], ...], aliases: dict[str, tuple[str, ...]], forbidden: list[str]) -> ParsedReply:
    if not text or not text.strip():
        return ParsedReply(False, "empty reply", {})
    fields = _split_sections(text, sections, aliases)
    missing = [f"{i} ({heading})" for i, (key, heading) in enumerate(sections, start=1) if key not in fields]
    if missing:
        return ParsedReply(False, f"missing section(s): {', '.join(missing)}", fields)
    named = find_forbidden(text, forbidden)
    if named:
        return ParsedReply(False, f"names an activity: {', '.join(repr(n) for n in named)}", fields)
    return ParsedReply(True, None, fields)


def parse_window_reply(text: str, forbidden: list[str]) -> ParsedReply:
    """Parse a 7-point pattern summary; invalid when empty, a section is missing or empty, or an activity is named."""
    return _judge(text, WINDOW_SECTIONS, _WINDOW_ALIASES, forbidden)


def parse_label_reply(text: str) -> ParsedReply:
    """Parse a label description into its three aspects; invalid when empty or an aspect is missing."""
    return _judge(text, LABEL_SECTIONS, _LABEL_ALIASES, [])
