"""Windows selected on one page and acted on in another (box/lasso on the map -> review queue, window viewer).

Kept in the browser session: a selection is a momentary view, not a decision, so it is
not stored; what the reviewer then does with it is.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

_KEY = "selected_windows"
_ORIGIN_KEY = "selected_windows_origin"


def set_selection(window_ids: Sequence[int], origin: str) -> None:
    """Remember the selected windows (in selection order, duplicates dropped) and where they were picked."""
    st.session_state[_KEY] = list(dict.fromkeys(int(w) for w in window_ids))
    st.session_state[_ORIGIN_KEY] = origin


def selection() -> tuple[list[int], str]:
    """The selected windows and their origin (empty list and "" when none)."""
    return list(st.session_state.get(_KEY, [])), str(st.session_state.get(_ORIGIN_KEY, ""))


def selected_windows(event: dict | None) -> list[int]:
    """Window ids of the points a plotly box, lasso or click selected (each point carries its window in ``customdata``)."""
    points = event["selection"]["points"] if event else []
    return [int(p["customdata"][0]) for p in points if p.get("customdata")]


def clear_selection() -> None:
    st.session_state.pop(_KEY, None)
    st.session_state.pop(_ORIGIN_KEY, None)
