"""Where a device is worn, reduced to the body segment whose motion it measures.

Datasets and users name placements freely ("pocket", "right_leg", "waist", "hip", "belt"),
but what the signal can tell depends only on the segment the device moves with: the trunk
(waist, hip, belt, chest, torso, back), the thigh (trouser pocket, thigh, leg) or the
forearm (wrist, watch, arm). The writer states orientations for that segment, and label
descriptions exist per segment (``SEGMENTS``), so that "sitting" seen from the thigh is not
"sitting" seen from the waist.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Literal

Segment = Literal["trunk", "thigh", "forearm", "unknown"]

SEGMENTS: tuple[Segment, ...] = ("trunk", "thigh", "forearm")
"""The body segments with placement-specific descriptions, in the order of their description slots."""

_WORDS: dict[Segment, tuple[str, ...]] = {
    "trunk": ("waist", "hip", "belt", "chest", "torso", "back", "trunk", "pelvis", "lower back", "sacrum"),
    "thigh": ("pocket", "thigh", "leg", "knee", "trouser"),
    "forearm": ("wrist", "watch", "forearm", "hand", "arm"),
}

SEGMENT_NAMES: dict[Segment, str] = {"trunk": "trunk", "thigh": "thigh", "forearm": "forearm", "unknown": "body segment"}
"""How texts name each segment."""


def segment_of(placement: str | None) -> Segment:
    """The body segment a placement name refers to (``unknown`` when it names none).

    Words are matched in the order thigh, forearm, trunk, so "right_leg", "front trouser
    pocket" and "left_arm" resolve before generic trunk words such as "back" in "back pocket".
    """
    text = (placement or "").strip().lower().replace("_", " ").replace("-", " ")
    if not text:
        return "unknown"
    for segment in ("thigh", "forearm", "trunk"):
        if any(word in text for word in _WORDS[segment]):
            return segment
    return "unknown"


def dominant_segment(placements: Iterable[str | None]) -> Segment:
    """The most common segment among windows' placements (ties: the first in ``SEGMENTS`` order)."""
    counts = Counter(segment_of(p) for p in placements)
    if not counts:
        return "unknown"
    best = max(counts.values())
    return next((s for s in (*SEGMENTS, "unknown") if counts.get(s) == best), "unknown")
