"""Settings, the store and the interpretation backend, shared by every page and session of one app process.

The ``Store`` object is cached, not a connection: the store opens a short-lived DuckDB
connection per operation, so the CLI can use the same file while the app is running.
Both are keyed by the data directory so that a test (or a user) pointing ``LANHAR_HOME``
elsewhere gets its own store.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from lanhar_core.config import Settings, default_home, load_settings
from lanhar_core.llm.base import Backend
from lanhar_core.llm.registry import make_backend
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


@st.cache_resource(show_spinner="Loading the interpretation backend...")
def _backend_for(home: str, name: str) -> Backend:
    return make_backend(get_settings(), name)


def get_backend() -> Backend:
    """The configured interpretation backend, built once per process rather than on every rerun.

    The ``local`` backend loads its GGUF model when built, which took seconds per click.
    """
    settings = get_settings()
    return _backend_for(str(settings.home), settings.llm.backend)
