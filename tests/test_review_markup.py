"""Review page markup: highlights and word diffs render the text literally, marking only what they should."""

from __future__ import annotations

from app.components.markup import diff_counts, diff_sides, escape, highlight, word_diff


def test_escape_keeps_model_text_literal() -> None:
    assert escape("a *b* [c](d) $x$ 1. m/s^2") == r"a \*b\* \[c\]\(d\) \$x\$ 1\. m/s\^2"


def test_highlight_marks_spans_by_severity_and_keeps_lines() -> None:
    text = "1. Rhythm: 1.62 m/s^2\n2. Shape: smooth"
    start = text.index("1.62")
    out = highlight(text, [(start, start + 11, "major"), (text.index("smooth"), len(text), "minor")])
    assert ":red-background[1\\.62 m/s\\^2]" in out
    assert ":orange-background[smooth]" in out
    assert out.count("  \n") == 1 and out.startswith("1\\. Rhythm")


def test_overlapping_spans_take_the_worse_severity() -> None:
    out = highlight("abcdef", [(0, 4, "minor"), (2, 6, "major")])
    assert out == ":orange-background[ab]:red-background[cdef]"


def test_word_diff_marks_changed_words_only() -> None:
    before, after = "Rhythm: 1.62 m/s^2 irregular.", "Rhythm: 1.9 Hz irregular."
    changed = [(op, p.strip()) for op, p in word_diff(before, after) if op != "same"]
    assert changed == [("removed", "1.62 m/s^2"), ("added", "1.9 Hz")]
    left, right = diff_sides(before, after)
    assert ":red-background[1\\.62 m/s\\^2]" in left and "1\\.9" not in left
    assert ":green-background[1\\.9 Hz]" in right and "irregular\\." in right
    assert diff_counts(before, after) == (2, 2)


def test_a_diff_spanning_lines_marks_each_line() -> None:
    _, right = diff_sides("a\nb", "a\nx\ny\nb")
    assert ":green-background[x]" in right and ":green-background[y]" in right
