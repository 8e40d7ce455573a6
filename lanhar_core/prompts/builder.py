"""Build the prompts of the interpretation step (paper section 3.3) from versioned templates.

The window prompt has the paper's four parts: data introduction, data analysis (the
feature record of ``lanhar_core.signal.features``), knowledge and task. The ``simple``
variant (the paper's "w/o IGP" ablation) keeps only the data introduction with the raw
readings and the task. Every ``PromptSpec`` carries the ``GenerationContext`` it was built
from, so the rule-based writer sees the same information as an LLM and nothing more.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from lanhar_core.errors import ConfigError, InvalidValueError
from lanhar_core.llm.base import GenerationContext, PromptSpec
from lanhar_core.prompts.loader import load_template
from lanhar_core.signal.features import FEATURES, window_features
from lanhar_core.vocab import BUILTIN_ACTIVITIES

Variant = Literal["full", "simple"]
VARIANTS: tuple[Variant, ...] = ("full", "simple")
"""Window prompt variants: ``simple`` (data and task only) is the paper's "w/o IGP" ablation."""

_GROUP_TITLES: dict[str, str] = {
    "window": "Window",
    "strength": "Amplitude and intensity",
    "magnitude": "Acceleration magnitude statistics",
    "axes": "Axis energy",
    "rhythm": "Frequency and rhythm",
    "shape": "Waveform and peaks",
    "impact": "Vertical impact",
    "rotation": "Gyroscope",
    "sync": "Gyroscope-accelerometer synchrony",
    "posture": "Posture and drift",
}
_UNIT_TEXT = {"ratio": "", "count": ""}


def format_value(value: float, unit: str) -> str:
    """Round for a reader: counts as integers, large values to whole numbers, others to 3 significant digits."""
    if unit == "count":
        return str(int(round(value)))
    if abs(value) >= 100:
        text = str(int(round(value)))
    elif value == 0:
        text = "0"
    else:
        text = f"{value:.3g}"
        if "e" in text:
            text = f"{value:.4f}".rstrip("0").rstrip(".")
    suffix = _UNIT_TEXT.get(unit, f" {unit}")
    return f"{text}{suffix}"


def format_features(features: dict[str, float]) -> str:
    """The feature record as grouped lines ("- meaning: value unit"), in ``FEATURES`` order."""
    lines: list[str] = []
    for group, title in _GROUP_TITLES.items():
        entries = [f for f in FEATURES if f.group == group and f.key in features]
        if not entries:
            continue
        lines.append(f"{title}:")
        lines.extend(f"- {f.key}: {format_value(features[f.key], f.unit)} ({f.meaning})" for f in entries)
    return "\n".join(lines)


def _format_readings(signals: np.ndarray) -> str:
    return "\n".join(", ".join(f"{v:.2f}" for v in row) for row in signals)


def _canonical_names(candidates: Sequence[str]) -> list[str]:
    by_display = {a.display.lower(): a.name for a in BUILTIN_ACTIVITIES}
    by_name = {a.name for a in BUILTIN_ACTIVITIES}
    names = []
    for candidate in candidates:
        key = candidate.strip().lower()
        name = by_display.get(key, key if key in by_name else None)
        if name and name not in names:
            names.append(name)
    return names


def _knowledge(candidates: Sequence[str]) -> tuple[str, str]:
    """Background knowledge for the candidate states that have an entry, and the knowledge template tag."""
    template = load_template("knowledge")
    parts = [template.block("general")]
    parts.extend(template.blocks[name] for name in _canonical_names(candidates) if name in template.blocks)
    return "\n".join(parts), template.tag


def window_prompt(
    signals: np.ndarray,
    rate_hz: float,
    placement: str,
    candidates: Sequence[str],
    variant: Variant = "full",
    features: dict[str, float] | None = None,
    upright_known: bool = False,
) -> PromptSpec:
    """Prompt asking for the 7-point pattern summary of one window (never given the window's label).

    ``features``: the window's feature record when the caller computed it for many windows
    at once (``window_features_batch``); otherwise it is computed here. ``upright_known``: the
    window is in the body-segment frame (+z along the worn segment, up when upright), which
    backends that read signals (the rules writer) need to know.
    """
    if variant not in VARIANTS:
        raise ConfigError(f"unknown window prompt variant {variant!r}; use 'full' or 'simple'")
    window = np.asarray(signals, dtype=np.float32)
    features = features if features is not None else window_features(window, rate_hz)
    context = GenerationContext.for_window(window, rate_hz, placement, list(candidates), features, upright_known)
    n = int(window.shape[0])
    template = load_template(f"window_{variant}")
    task = load_template("task")
    values = {
        "duration_s": f"{n / rate_hz:g}",
        "placement": placement or "an unspecified body position",
        "rate_hz": f"{rate_hz:g}",
        "n_samples": str(n),
        "candidates": ", ".join(candidates),
        "task": task.block("task"),
    }
    tags = [template.tag, task.tag]
    if variant == "full":
        values["features"] = format_features(features)
        values["knowledge"], knowledge_tag = _knowledge(candidates)
        tags.append(knowledge_tag)
    else:
        values["readings"] = _format_readings(window)
    messages = [
        {"role": "system", "content": template.render("system", **values)},
        {"role": "user", "content": template.render("user", **values)},
    ]
    return PromptSpec(messages=messages, template=template.name, version="+".join(tags), context=context)


def label_prompt(activity: str, display: str, index: int, total: int = 5, segment: str = "") -> PromptSpec:
    """Prompt for description number ``index`` (0-based) of ``total`` of one activity label.

    Each index gets a different emphasis (the template's ``variation:k`` blocks, cycled), so
    the N descriptions of a label differ, as the multi-description loss (Ca3) needs. With a
    ``segment`` (trunk, thigh, forearm) the description is for a device worn there and its
    sensor patterns start with the marker ``activity_profiles.select_descriptions`` reads.
    """
    if index < 0 or total < 1 or index >= total:
        raise InvalidValueError(f"description index must be in 0..{total - 1}, got {index}")
    template = load_template("label")
    variations = sorted(k for k in template.blocks if k.startswith("variation:"))
    variation = template.blocks[variations[index % len(variations)]] if variations else ""
    placement = template.render("placement", segment=segment) if segment else ""
    values = {"display": display, "number": str(index + 1), "total": str(total), "variation": variation, "placement": placement}
    messages = [
        {"role": "system", "content": template.render("system", **values)},
        {"role": "user", "content": template.render("user", **values)},
    ]
    context = GenerationContext.for_label(activity, display, index, segment)
    return PromptSpec(messages=messages, template=template.name, version=template.tag, context=context)


def revision_prompt(spec: PromptSpec, previous: str) -> PromptSpec:
    """The re-generation prompt (paper 3.3.3): the original conversation, the previous answer, the revision request."""
    template = load_template("revision")
    messages = [
        *spec.messages,
        {"role": "assistant", "content": previous},
        {"role": "user", "content": template.render("user")},
    ]
    return PromptSpec(
        messages=messages,
        template=f"revision/{spec.template}",
        version=f"{template.tag}/{spec.version}",
        context=spec.context,
    )


def render_prompt(spec: PromptSpec) -> str:
    """The exact prompt as readable text, for reviewers: template and version, then each message."""
    lines = [f"Template: {spec.template}   Version: {spec.version}"]
    for message in spec.messages:
        lines.append("")
        lines.append(f"[{message['role']}]")
        lines.append(message["content"])
    return "\n".join(lines)
