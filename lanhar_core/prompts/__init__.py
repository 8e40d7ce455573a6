"""Versioned prompt templates and the builders of window, label and revision prompts."""

from lanhar_core.prompts.builder import (
    VARIANTS,
    Variant,
    format_features,
    format_value,
    label_prompt,
    render_prompt,
    revision_prompt,
    window_prompt,
)
from lanhar_core.prompts.loader import PromptTemplate, load_template

__all__ = [
    "VARIANTS",
    "Variant",
    "PromptTemplate",
    "format_features",
    "format_value",
    "label_prompt",
    "load_template",
    "render_prompt",
    "revision_prompt",
    "window_prompt",
]
