"""Reads of the ``activities`` table that models need (the table is seeded by ``storage.datasets``)."""

from __future__ import annotations

from storage.db import Store


def activity_categories(store: Store) -> dict[str, str]:
    """Label -> category for every activity in the store that has one (built-in and user-added)."""
    with store.connect() as conn:
        rows = conn.execute("SELECT name, category FROM activities WHERE category IS NOT NULL").fetchall()
    return {str(name): str(category) for name, category in rows}
