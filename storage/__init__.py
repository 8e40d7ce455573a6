"""The DuckDB store: schema, migrations, and the only code in the project that writes SQL."""

from storage.db import Store, open_store

__all__ = ["Store", "open_store"]
