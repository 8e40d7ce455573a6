"""Showing library errors to users as messages instead of tracebacks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from lanhar_core.errors import LanharError


@contextmanager
def user_errors(what: str = "") -> Iterator[None]:
    """Run a block; a ``LanharError`` becomes an ``st.error`` with its message.

    Library errors are written for people (they name the problem and the fix), so the app
    shows them verbatim; anything else is a bug and is left to Streamlit's handler. The
    app's entry point runs every page inside one of these, so a ``LanharError`` a page does
    not catch itself (a locked or read-only store, a damaged model) is still a message.
    """
    try:
        yield
    except LanharError as exc:
        st.error(f"{what}: {exc}" if what else str(exc))
