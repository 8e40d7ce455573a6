"""Settings and the store, shared by every page and every session of one app process.

The ``Store`` object is cached, not a connection: the store opens a short-lived DuckDB
connection per operation, so the CLI can use the same file while the app is running.
Both are keyed by the data directory so that a test (or a user) pointing ``LANHAR_HOME``
elsewhere gets its own store.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import streamlit as st

from lanhar_core.config import Settings, default_home, load_settings
from storage.db import Store


_OPEN_CLOSE = threading.Lock()


class ThreadSafeStore(Store):
    """A ``Store`` whose connections open and close one at a time within this process.

    The app runs many threads on one store (each browser session, plus background jobs),
    and DuckDB's per-process instance cache fails with "Unique file handle conflict" when
    one thread opens the file while another closes its last connection to it (reproduced:
    4 threads x 600 open/close cycles gave 35-44 failures; 0 with this lock). Only opening
    and closing are serialised; queries still run concurrently.
    """

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        with _OPEN_CLOSE:
            conn = self._open(read_only)
        try:
            yield conn
        finally:
            with _OPEN_CLOSE:
                conn.close()


@st.cache_resource(show_spinner=False)
def _settings_for(home: str) -> Settings:
    settings = load_settings(Path(home))
    settings.ensure_dirs()
    return settings


@st.cache_resource(show_spinner=False)
def _store_for(db_path: str) -> Store:
    return ThreadSafeStore(Path(db_path))


def get_settings() -> Settings:
    """The settings of the current ``LANHAR_HOME`` (read once per process)."""
    return _settings_for(str(default_home()))


def get_store() -> Store:
    """The store of the current ``LANHAR_HOME`` (opened and migrated once per process)."""
    return _store_for(str(get_settings().db_path))
