"""Store reads shared by pages, cached per process and keyed by the store's change marks.

``interp_store.change_marks`` moves whenever a text, a review decision or a quality run is
added (by any session or process), so these heavy reads rerun only then, never on a widget
change that did not touch the store.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.components.context import get_store
from storage import interpretations as interp_store
from storage import quality as quality_store


def marks() -> tuple[int, int, int]:
    """The current change marks of the store (one cheap query)."""
    return interp_store.change_marks(get_store())


@st.cache_data(show_spinner=False, max_entries=8)
def current_texts(db_path: str, collection: str, marks: tuple[int, int, int]) -> pd.DataFrame:
    """``current_window_interpretations`` of a collection."""
    return interp_store.current_window_interpretations(get_store(), collection)


@st.cache_data(show_spinner=False, max_entries=8)
def collection_flags(db_path: str, collection: str, marks: tuple[int, int, int]) -> pd.DataFrame:
    """Every flag raised on this collection by any quality run (newest run first)."""
    flags = quality_store.flags(get_store())
    return flags[flags["collection"] == collection].reset_index(drop=True)


@st.cache_data(show_spinner=False, max_entries=4)
def collections(db_path: str, marks: tuple[int, int, int]) -> pd.DataFrame:
    """``list_collections``."""
    return interp_store.list_collections(get_store())


def largest_collection(table: pd.DataFrame) -> int:
    """Index of the collection with the most windows (the default wherever one is picked)."""
    return int(table["windows"].to_numpy().argmax()) if not table.empty else 0
