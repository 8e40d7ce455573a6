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
def current_index(db_path: str, collection: str, marks: tuple[int, int, int]) -> pd.DataFrame:
    """``current_window_index`` of a collection (ids, dataset, label, status; no text)."""
    return interp_store.current_window_index(get_store(), collection)


def collection_flags(db_path: str, collection: str, marks: tuple[int, int, int]) -> pd.DataFrame:
    """Every flag raised on this collection by any quality run (newest run first); reread only when a quality run changed."""
    return _flags(db_path, collection, marks[2])


@st.cache_data(show_spinner=False, max_entries=8)
def _flags(db_path: str, collection: str, quality_mark: int) -> pd.DataFrame:
    flags = quality_store.flags(get_store())
    return flags[flags["collection"] == collection].reset_index(drop=True)


def flag_summary(db_path: str, collection: str, marks: tuple[int, int, int]) -> pd.DataFrame:
    """Per flagged window: its flag reasons ("contradiction/outlier") and most contradictions; index window_id."""
    return _summary(db_path, collection, marks[2])


@st.cache_data(show_spinner=False, max_entries=8)
def _summary(db_path: str, collection: str, quality_mark: int) -> pd.DataFrame:
    flags = _flags(db_path, collection, quality_mark)
    reasons = flags[["window_id", "reason"]].drop_duplicates().sort_values(["window_id", "reason"])
    return pd.DataFrame({
        "reasons": reasons.groupby("window_id")["reason"].agg("/".join),
        "worst": flags.groupby("window_id")["n_contradictions"].max(),
    })


@st.cache_data(show_spinner=False, max_entries=4)
def collections(db_path: str, marks: tuple[int, int, int]) -> pd.DataFrame:
    """``list_collections``."""
    return interp_store.list_collections(get_store())


def largest_collection(table: pd.DataFrame) -> int:
    """Index of the collection with the most windows (the default wherever one is picked)."""
    return int(table["windows"].to_numpy().argmax()) if not table.empty else 0
