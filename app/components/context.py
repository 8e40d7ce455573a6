"""Settings and the store, shared by every page and every session of one app process.

The ``Store`` object is cached, not a connection: the store opens a short-lived DuckDB
connection per operation, so the CLI can use the same file while the app is running.
Both are keyed by the data directory so that a test (or a user) pointing ``LANHAR_HOME``
elsewhere gets its own store.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from lanhar_core.config import Settings, default_home, load_settings
from storage.db import Store


@st.cache_resource(show_spinner=False)
def _settings_for(home: str) -> Settings:
    settings = load_settings(Path(home))
    settings.ensure_dirs()
    return settings


@st.cache_resource(show_spinner=False)
def _store_for(db_path: str) -> Store:
    return Store(Path(db_path))


def get_settings() -> Settings:
    """The settings of the current ``LANHAR_HOME`` (read once per process)."""
    return _settings_for(str(default_home()))


def get_store() -> Store:
    """The store of the current ``LANHAR_HOME`` (opened and migrated once per process)."""
    return _store_for(str(get_settings().db_path))
