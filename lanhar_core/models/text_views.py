"""What of an interpretation the text encoder embeds: the conclusions, not the quoted numbers.

A window text quotes numbers before each conclusion ("ENMO 5 mg, body RMS 0.0 m/s^2.
Sedentary intensity ..."), and a label description wraps its sensor patterns in a general
overview and a list of muscles. Mean-pooled, the numbers and the shared scaffolding
dominate: with the pre-trained MiniLM every HAPT window of a rules-v3 collection came out
nearest to "walk" (text-path accuracy 0.17 over six labels). Embedding the window's
conclusions against the description's sensor patterns, the two parts that speak the same
physical vocabulary, gave 0.57 on HAPT, 0.54 on MotionSense and 0.40 on USC-HAD's twelve
labels with no training at all (``bench/bench_text_path.py``).

The full texts stay in the store, in the review app and in every prompt; only the encoder's
input is this view. A text without the expected structure (free LLM prose) is embedded whole.
"""

from __future__ import annotations

import re

from lanhar_core.llm.validation import parse_label_reply

_POINT = re.compile(r"^\s*\d\s*[.)]\s*[^:\n]{1,40}:\s*(?P<rest>.*)$")
_MARKER = re.compile(r"^\s*Seen from a device on the [a-z ]+:\s*", re.IGNORECASE)


def _conclusion(rest: str) -> str:
    numbers, sep, conclusion = rest.partition(". ")
    return conclusion.strip() if sep and re.search(r"\d", numbers) and conclusion.strip() else rest.strip()


def window_view(text: str) -> str:
    """The verbal conclusions of a numbered pattern summary, joined; the whole text when it has none."""
    parts = [_conclusion(m.group("rest")) for m in map(_POINT.match, text.splitlines()) if m]
    joined = " ".join(p for p in parts if p)
    return joined or text


def description_view(text: str) -> str:
    """The sensor-patterns aspect of a label description without its placement marker; else the whole text."""
    sensor = parse_label_reply(text).fields.get("sensor_patterns", "")
    return _MARKER.sub("", sensor).strip() or text
