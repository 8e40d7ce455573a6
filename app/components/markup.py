"""Text markup for the review page: fact-check highlights and a word-level diff, as Streamlit Markdown.

Pure functions (no Streamlit import) so they are tested directly. Streamlit Markdown has
colour directives (``:red-background[...]``); interpretation text is escaped first, so a
model's ``*``, ``_``, ``$`` or ``[`` can never turn into formatting, links or LaTeX.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$:^=])")
SEVERITY_COLOUR = {"major": "red", "minor": "orange"}


def escape(text: str) -> str:
    """Text shown literally in Streamlit Markdown."""
    return _SPECIAL.sub(r"\\\1", text)


def _lines(markdown: str) -> str:
    return markdown.replace("\n", "  \n")


def highlight(text: str, spans: Sequence[tuple[int, int, str]]) -> str:
    """``text`` with each ``(start, end, severity)`` span on a coloured background (major wins where spans overlap)."""
    level = [0] * len(text)
    rank = {"minor": 1, "major": 2}
    for start, end, severity in spans:
        for i in range(max(0, start), min(len(text), end)):
            level[i] = max(level[i], rank.get(severity, 1))
    out, i = [], 0
    while i < len(text):
        j = i
        while j < len(text) and level[j] == level[i] and text[j] != "\n":
            j += 1
        if j == i:  # a newline
            out.append("\n")
            i += 1
            continue
        piece = escape(text[i:j])
        if level[i] and piece.strip():
            colour = SEVERITY_COLOUR["major" if level[i] == 2 else "minor"]
            piece = f":{colour}-background[{piece}]"
        out.append(piece)
        i = j
    return _lines("".join(out))


def _words(text: str) -> list[str]:
    """Words with the whitespace after them (leading whitespace is a token of its own)."""
    return re.findall(r"^\s+|\S+\s*", text)


def word_diff(before: str, after: str) -> list[tuple[str, str]]:
    """``(op, text)`` pieces turning ``before`` into ``after`` word by word; op is ``same``, ``removed`` or ``added``.

    Words are compared without the whitespace after them, so a re-wrapped line is not a change.
    """
    a, b = _words(before), _words(after)
    out: list[tuple[str, str]] = []
    matcher = difflib.SequenceMatcher(a=[w.strip() for w in a], b=[w.strip() for w in b], autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            out.append(("same", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            out.append(("removed", "".join(a[i1:i2])))
        if j2 > j1:
            out.append(("added", "".join(b[j1:j2])))
    return out


def _marked(text: str, directive: str) -> str:
    """Each line of ``text`` inside ``directive`` (a directive cannot span lines); whitespace left outside."""
    parts = []
    for line in re.split(r"(\n)", text):
        if line.strip():
            lead, core, trail = re.match(r"(\s*)(.*?)(\s*)$", line, re.DOTALL).groups()
            parts.append(f"{lead}{directive}[{escape(core)}]{trail}")
        else:
            parts.append(line)
    return "".join(parts)


def diff_sides(before: str, after: str) -> tuple[str, str]:
    """Markdown of both sides: removed words struck through in red on the left, added words green on the right."""
    left, right = [], []
    for op, piece in word_diff(before, after):
        if op == "same":
            left.append(escape(piece))
            right.append(escape(piece))
        elif op == "removed":
            left.append(_marked(piece, ":red-background"))
        else:
            right.append(_marked(piece, ":green-background"))
    return _lines("".join(left)), _lines("".join(right))


def diff_counts(before: str, after: str) -> tuple[int, int]:
    """(words removed, words added)."""
    pieces = word_diff(before, after)
    return (
        sum(len(p.split()) for op, p in pieces if op == "removed"),
        sum(len(p.split()) for op, p in pieces if op == "added"),
    )
