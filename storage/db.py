"""The DuckDB store: connection handling, locking and schema migrations.

Connections are short-lived (one per unit of work) rather than held for a process's
lifetime. DuckDB allows one writing process per file, so holding a connection open in the
app would lock the CLI out for as long as the app runs; opening per unit of work lets the
app and the CLI take turns. A process that finds the file locked retries for
``lock_timeout_s`` and then raises ``StoreLockedError`` naming the holder.

Batch jobs (interpreting a dataset, a benchmark) pin the store instead (``Store.pinned``):
one connection stays open for the job and every unit of work gets a cursor on it. Opening
and closing the file per unit of work costs a checkpoint each time the last connection
closes, which dominated the rules writer's time (bench/README.md); the price is that the
app waits for the job to finish, as it would for any writer.

A store the user may not write (a read-only file or folder, a shared copy) is opened
read-only: reading works (``data stats``, browsing), a write raises ``StoreError`` saying
why. A damaged file (truncated by a full disk or an interrupted copy) is detected when the
store opens, because DuckDB itself would answer counts from its metadata and only fail
later on a checksum; the message points to the backup.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import duckdb

from lanhar_core.errors import MigrationError, StoreError, StoreLockedError

_MIGRATION_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")

_OPEN_CLOSE = threading.Lock()
"""Serialises opening and closing connections within this process.

DuckDB shares one database instance per file and process; when one thread opens the file
while another closes the instance's last connection, it fails with "Unique file handle
conflict" (reproduced in the app: 4 threads x 600 open/close cycles gave 35-44 failures,
0 with this lock). Queries still run concurrently; only open and close are serialised.
"""


def _migrations() -> list[tuple[int, str, str]]:
    found = []
    for entry in resources.files("storage.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), match.group(2), entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [v for v, _, _ in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"duplicate migration numbers in storage/migrations: {versions}")
    return found


_HEADER_BYTES = 3 * 4096
"""DuckDB's file header and its two database headers precede block 0."""


def _damaged(path: Path, detail: str) -> StoreError:
    return StoreError(
        f"the store {path} is damaged ({detail}); it was probably truncated or overwritten by a full disk, a crash during a copy "
        "or a sync tool. Restore lanhar.duckdb from your backup copy, or move it aside (a new store is created) "
        "and re-ingest; interpretations saved with `lanhar interpret export` are safe in their .jsonl.gz files"
    )


def _writable(path: Path) -> bool:
    """Whether DuckDB could write ``path``: the file (if any) and its folder (for the .wal) must be writable."""
    folder = path.parent
    if path.exists() and not os.access(path, os.W_OK):
        return False
    return not folder.exists() or os.access(folder, os.W_OK)


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return "lock" in text and ("could not set" in text or "conflicting" in text)


class Store:
    """A DuckDB file plus the schema this code expects. Safe to share across threads and processes."""

    def __init__(self, path: Path | str, lock_timeout_s: float = 10.0) -> None:
        self.path = Path(path)
        self.lock_timeout_s = lock_timeout_s
        self.read_only = self.path.exists() and not _writable(self.path)
        if not self.read_only:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"cannot create the folder {self.path.parent} for the store ({exc.strerror}); "
                    "set LANHAR_HOME (or --home) to a folder you can write"
                ) from exc
            if not _writable(self.path):
                raise StoreError(
                    f"cannot create the store {self.path}: the folder is not writable; "
                    "set LANHAR_HOME (or --home) to a folder you can write"
                )
        self._pin_lock = threading.Lock()
        self._pins = 0
        self._pinned: duckdb.DuckDBPyConnection | None = None
        self._migrate()

    def _open(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + self.lock_timeout_s
        delay = 0.05
        while True:
            try:
                with _OPEN_CLOSE:
                    return duckdb.connect(str(self.path), read_only=read_only or self.read_only)
            except duckdb.Error as exc:
                if not isinstance(exc, duckdb.IOException) or not _is_lock_error(exc):
                    text = str(exc)
                    if "could not read enough bytes" in text.lower() or "checksum" in text.lower():
                        raise _damaged(self.path, text) from exc
                    raise StoreError(f"cannot open store {self.path}: {exc}") from exc
                if time.monotonic() >= deadline:
                    raise StoreLockedError(
                        f"the store {self.path} is in use by another process and stayed locked for "
                        f"{self.lock_timeout_s:.0f} s; wait for it to finish (or stop it) and retry. "
                        f"DuckDB said: {exc}"
                    ) from exc
                time.sleep(delay)
                delay = min(delay * 2, 0.5)

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection for one unit of work, closed afterwards (a cursor on the pinned one while
        pinned; read-only on a read-only store).

        While pinned the cursor can write even when ``read_only`` is asked for: DuckDB refuses
        a read-only connection to a file this process holds open for writing.
        """
        with self._pin_lock:
            pinned = self._pinned
            conn = pinned.cursor() if pinned is not None else None
        if conn is None:
            conn = self._open(read_only)
        try:
            yield conn
        except duckdb.Error as exc:
            if "checksum" in str(exc).lower():
                raise _damaged(self.path, str(exc)) from exc
            if self.read_only and "read-only" in str(exc):
                raise StoreError(
                    f"the store {self.path} is read-only (no write permission on the file or its folder), so this "
                    "cannot be saved; reading works. Make it writable or copy it to a LANHAR_HOME you can write"
                ) from exc
            raise
        finally:
            with _OPEN_CLOSE:
                conn.close()

    @contextmanager
    def pinned(self) -> Iterator[Store]:
        """Keep the database open for the block (re-entrant): see the module docstring."""
        with self._pin_lock:
            if self._pins == 0:
                self._pinned = self._open(read_only=False)
            self._pins += 1
        try:
            yield self
        finally:
            with self._pin_lock:
                self._pins -= 1
                if self._pins == 0 and self._pinned is not None:
                    with _OPEN_CLOSE:
                        self._pinned.close()
                    self._pinned = None

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection inside BEGIN/COMMIT; any exception rolls everything back."""
        with self.connect() as conn:
            conn.execute("BEGIN TRANSACTION")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def schema_version(self) -> int:
        with self.connect() as conn:
            return _current_version(conn)

    def _check_intact(self, conn: duckdb.DuckDBPyConnection) -> None:
        """Every data block the tables use must lie inside the file (see the module docstring)."""
        tables = [r[0] for r in conn.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND NOT temporary"
        ).fetchall()]
        if not tables:
            return
        union = " UNION ALL ".join(
            f"SELECT max(block_id) AS b FROM pragma_storage_info('{name}') WHERE persistent" for name in tables
        )
        last_row = conn.execute(f"SELECT max(b) FROM ({union})").fetchone()
        size_row = conn.execute("PRAGMA database_size").fetchone()
        last_block = last_row[0] if last_row else None
        block_size = size_row[2] if size_row else 0
        if last_block is None:
            return
        needed = _HEADER_BYTES + (int(last_block) + 1) * int(block_size)
        size = self.path.stat().st_size
        if size < needed:
            raise _damaged(self.path, f"the file has {size} bytes but its tables reach byte {needed}")

    def _migrate(self) -> None:
        migrations = _migrations()
        latest = migrations[-1][0] if migrations else 0
        if self.read_only:
            with self.connect(read_only=True) as conn:
                self._check_intact(conn)
                current = _current_version(conn)
            if current != latest:
                raise MigrationError(
                    f"the store {self.path} is read-only and has schema version {current}, not {latest}; "
                    "make it writable once so it can be upgraded, or use a store of this version"
                )
            return
        with self.connect() as conn:
            self._check_intact(conn)
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version ("
                " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
                " applied_at TIMESTAMP DEFAULT current_timestamp)"
            )
            current = _current_version(conn)
            if current > latest:
                raise MigrationError(
                    f"the store {self.path} has schema version {current}, newer than this code "
                    f"knows ({latest}); upgrade LanHAR Studio or use another LANHAR_HOME"
                )
            for version, name, sql in migrations:
                if version <= current:
                    continue
                conn.execute("BEGIN TRANSACTION")
                try:
                    conn.execute(sql)
                    conn.execute("INSERT INTO schema_version (version, name) VALUES (?, ?)", [version, name])
                except duckdb.Error as exc:
                    conn.execute("ROLLBACK")
                    raise MigrationError(f"migration {version:03d}_{name} failed: {exc}") from exc
                conn.execute("COMMIT")


def _current_version(conn: duckdb.DuckDBPyConnection) -> int:
    row = conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
    return int(row[0]) if row else 0


def returned_id(row: tuple | None) -> int:
    """The id of an ``INSERT ... RETURNING id``; DuckDB always returns the row, so None is a store fault."""
    if row is None:
        raise StoreError("the store returned no id for a row it was asked to insert")
    return int(row[0])


def newest_rows(store: Store, table: str, columns: str, kind: str | None, limit: int) -> list[tuple]:
    """Rows of a table with ``kind`` and ``id`` columns (jobs, training runs), newest first."""
    sql = f"SELECT {columns} FROM {table}"
    args: list[object] = []
    if kind:
        sql += " WHERE kind = ?"
        args.append(kind)
    sql += " ORDER BY id DESC LIMIT ?"
    args.append(limit)
    with store.connect() as conn:
        return conn.execute(sql, args).fetchall()


def open_store(home: Path | None = None) -> Store:
    """The store of ``home`` (default: the configured ``LANHAR_HOME``), created on first use."""
    from lanhar_core.config import load_settings

    settings = load_settings(home)
    settings.ensure_dirs()
    return Store(settings.db_path)
