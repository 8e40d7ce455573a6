"""Selectors shared by pages: one choice among options, with an "all" entry where it makes sense."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

ALL = "(all)"


def pick_optional(label: str, options: Sequence[str], key: str, container=st) -> str | None:
    """A selectbox with an "(all)" entry first; returns ``None`` for it, so callers pass it straight to filters."""
    choice = container.selectbox(label, [ALL, *options], key=key)
    return None if choice == ALL else choice


def pick_one(label: str, options: Sequence[str], key: str, container=st) -> str | None:
    """A selectbox without an "all" entry; ``None`` (and a caption) when there is nothing to choose."""
    if not options:
        container.caption(f"No {label.lower()} to choose from.")
        return None
    return container.selectbox(label, list(options), key=key)


def option_index(options: Sequence[object], value: object, fallback: int = 0) -> int:
    """``value``'s position in ``options`` for a widget's default, else ``fallback`` (clipped to the options)."""
    return list(options).index(value) if value in options else max(0, min(fallback, len(options) - 1))
