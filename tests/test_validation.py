"""Reply validation: the 7-point parser accepts typical LLM formatting and rejects what downstream cannot use."""

from __future__ import annotations

from lanhar_core.llm.validation import (
    LABEL_SECTIONS,
    WINDOW_SECTIONS,
    find_forbidden,
    forbidden_terms,
    parse_label_reply,
    parse_window_reply,
)

FORBIDDEN = forbidden_terms(["walk", "upstairs", "downstairs", "sit"])

GOOD = """1. Strength: body RMS 3.1 m/s^2. High intensity.
2. Axis dominance: vertical share 0.52. Balanced vertical and horizontal acceleration.
3. Rhythm: step 1.8 Hz, regularity 0.6. Regular periodic rhythm, brisk cadence.
4. Waveform shape: crest factor 2.5. Moderately peaked waves.
5. Posture and drift: drift 1 deg. Stable orientation.
6. Gyro-acc sync: sync 0.5. Rotation closely follows the acceleration rhythm.
7. Vertical impact: 4.1 m/s^2. Moderate vertical impact per step."""

SMALL_LLM = """Sure! Here is the analysis of the IMU data:

**1. Strength:** The body acceleration RMS is 3.1 m/s^2, which indicates high intensity.

**2. Axis Dominance**: The vertical share is 0.52.
- The acceleration is balanced.

### 3) Rhythm
The step frequency is 1.8 Hz (about 108 per minute).

**4. Waveform shape** - smooth and rounded
**5. Posture/drift:** stable orientation
**6. Gyro-Acc Sync:** sync of 0.5, partly in step
**7. Vertical Impact:** moderate impacts of 4 m/s^2

I hope this helps!"""


def test_good_reply_is_parsed_into_all_fields() -> None:
    parsed = parse_window_reply(GOOD, FORBIDDEN)
    assert parsed.valid and parsed.reason is None
    assert list(parsed.fields) == [key for key, _ in WINDOW_SECTIONS]
    assert parsed.fields["rhythm"] == "step 1.8 Hz, regularity 0.6. Regular periodic rhythm, brisk cadence."


def test_markdown_headings_of_small_models_are_understood() -> None:
    parsed = parse_window_reply(SMALL_LLM, FORBIDDEN)
    assert parsed.valid, parsed.reason
    assert parsed.fields["strength"].startswith("The body acceleration RMS is 3.1")
    assert "balanced" in parsed.fields["axis_dominance"]
    assert parsed.fields["rhythm"].startswith("The step frequency is 1.8 Hz")
    assert parsed.fields["waveform_shape"] == "smooth and rounded"
    assert parsed.fields["posture_drift"] == "stable orientation"
    assert "I hope this helps" in parsed.fields["vertical_impact"]


def test_headings_without_numbers_and_line_starting_with_a_decimal() -> None:
    text = "\n".join(f"**{heading}:** value {i}" for i, (_, heading) in enumerate(WINDOW_SECTIONS, 1))
    text = text.replace("value 3", "value 3\n1.8 Hz is the step rate")
    parsed = parse_window_reply(text, FORBIDDEN)
    assert parsed.valid, parsed.reason
    assert parsed.fields["rhythm"] == "value 3 1.8 Hz is the step rate"


def test_empty_reply_is_invalid() -> None:
    for text in ("", "   \n "):
        parsed = parse_window_reply(text, FORBIDDEN)
        assert not parsed.valid and parsed.reason == "empty reply"


def test_missing_sections_are_named() -> None:
    text = "\n".join(line for line in GOOD.splitlines() if not line.startswith(("5.", "7.")))
    parsed = parse_window_reply(text, FORBIDDEN)
    assert not parsed.valid
    assert parsed.reason == "missing section(s): 5 (Posture and drift), 7 (Vertical impact)"
    assert "rhythm" in parsed.fields


def test_empty_section_counts_as_missing() -> None:
    text = GOOD.replace("4. Waveform shape: crest factor 2.5. Moderately peaked waves.", "4. Waveform shape:")
    parsed = parse_window_reply(text, FORBIDDEN)
    assert not parsed.valid and "4 (Waveform shape)" in (parsed.reason or "")


def test_naming_an_activity_is_invalid_with_word_boundaries() -> None:
    for word in ("walking", "Upstairs", "SITTING", "stairs"):
        parsed = parse_window_reply(GOOD + f" This looks like {word}.", FORBIDDEN)
        assert not parsed.valid and word.lower() in (parsed.reason or "").lower(), word
    harmless = GOOD + " The sitter's sidewalk data was outstanding; walkways differ."
    assert parse_window_reply(harmless, FORBIDDEN).valid


def test_forbidden_terms_expand_synonyms_and_display_names() -> None:
    terms = forbidden_terms(["jog", "lie", "my_custom_move"])
    assert {"jogging", "running", "lying down", "lying", "my custom move"} <= set(terms)
    assert "cycle" not in forbidden_terms(["bike"])
    assert find_forbidden("a my-custom move here", terms) == ["my custom move"]


def test_label_reply_three_aspects() -> None:
    text = (
        "**General Description:** Walking is everyday locomotion.\n"
        "**Sensor Patterns Detected by Accelerometer and Gyroscope:** periodic peaks.\n"
        "3. Body parts involved: legs and hips."
    )
    parsed = parse_label_reply(text)
    assert parsed.valid, parsed.reason
    assert list(parsed.fields) == [key for key, _ in LABEL_SECTIONS]
    assert parsed.fields["body_parts"] == "legs and hips."
    missing = parse_label_reply("1. General description: x\n2. Sensor patterns: y")
    assert not missing.valid and missing.reason == "missing section(s): 3 (Body parts)"
