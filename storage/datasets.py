"""Datasets, recordings and windows in the store.

Window signals are kept in a ``FLOAT[]`` column of the ``windows`` table rather than in a
sibling Parquet file. Measured with ``bench/bench_window_storage.py`` (100,000 windows of
120x6 float32, 288 MB raw, best of 3, on the 2-core CI-class machine, while other jobs ran):

==========================  =======  ==========  ==========  =======
layout                      write s  load all s  load 10% s  disk MB
==========================  =======  ==========  ==========  =======
duckdb FLOAT[] (list)          11.9        1.56        0.57    293
duckdb FLOAT[720] (array)       6.6        1.26        0.47    293
parquet sibling (zstd)          2.1        1.74        1.55    270
==========================  =======  ==========  ==========  =======

Loading everything is as fast in DuckDB as from Parquet, and loading a filtered subset
(one dataset, one label: what every downstream stage does) is 3x faster, because the
filter runs next to the data instead of joining ids across two files. Above all, only the
column keeps ingestion transactional: a Parquet file written next to the database cannot
roll back with it, so a crash mid-ingest could leave windows without signals. The
fixed-size ``FLOAT[720]`` array is ~20% faster still but fixes the window length in the
schema, and window length is a setting (datasets ingested with different settings coexist),
so the variable-length list it is. Reading goes through Arrow and flattens the list's
child array straight into numpy: no Python lists anywhere.

The viewer's ``get_recording_signals`` reads the whole resampled recording from
``recording_signals`` (plus its activity runs) instead of stitching windows: windows skip
unlabeled stretches, transitions and the tail of each activity bout, which is exactly what
a person inspecting the data wants to see. It costs about half the windows' storage again
(50% overlapping windows hold every sample twice).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from lanhar_core.data.types import CHANNELS, Recording, Windows, WindowSet
from lanhar_core.errors import DatasetInUseError, NotFoundError, StoreError
from lanhar_core.vocab import BUILTIN_ACTIVITIES
from storage.db import Store

FLUSH_WINDOWS = 20_000
"""Windows per bulk-insert batch: large enough for fast Arrow inserts, small enough to bound the copy in memory."""


@dataclass(frozen=True)
class DatasetRecord:
    """The ``datasets`` row of one ingestion."""

    name: str
    reader: str
    title: str
    placement: str
    native_rate_hz: float | None
    rate_hz: float
    window_samples: int
    stride_samples: int
    content_hash: str
    source_path: str
    attribution: str
    license: str
    conversions: str
    params: dict[str, Any]


@dataclass
class PreparedRecording:
    """A recording ready to write: resampled to the analysis rate, with its windows and runs."""

    recording: Recording
    native_rate_hz: float
    native_n_samples: int
    windows: Windows
    runs: list[tuple[int, int]]


@dataclass(frozen=True)
class StoredWindow:
    """One window with everything the viewer shows about it."""

    id: int
    dataset: str
    recording_id: int
    recording_key: str
    subject: str
    session: str | None
    placement: str | None
    start_sample: int
    length: int
    rate_hz: float
    label: str | None
    native_label: str | None
    signals: np.ndarray


@dataclass(frozen=True)
class RecordingSignals:
    """A whole resampled recording: ``signals`` (n, 6), ``runs`` (segment, start_sample,
    end_sample, label, native_label) and its ``windows`` (id, start_sample, length, label)."""

    recording_id: int
    dataset: str
    key: str
    subject: str
    session: str | None
    device: str | None
    placement: str | None
    rate_hz: float
    signals: np.ndarray
    runs: pd.DataFrame
    windows: pd.DataFrame
    meta: dict = field(default_factory=dict)

    @property
    def gravity_removed(self) -> bool:
        """True when the dataset published body acceleration only, so posture cannot be read from it."""
        return self.meta.get("gravity") == "removed"


# ---------------------------------------------------------------------------- writing


def seed_activities(conn: duckdb.DuckDBPyConnection, extra: Iterable[str] = ()) -> None:
    """Add the built-in vocabulary and any new canonical label (``extra``) not yet in ``activities``.

    New labels from imports enter without a category and with their name as display text;
    the user can categorise them later. Existing rows are never overwritten, so user edits stay.
    """
    rows = [(a.name, a.category, a.display, True) for a in BUILTIN_ACTIVITIES]
    known = {a.name for a in BUILTIN_ACTIVITIES}
    rows += [(name, None, name.replace("_", " "), False) for name in sorted(set(extra) - known)]
    names, categories, displays, builtin = zip(*rows)
    data = pa.table(
        {"name": _strings(names), "category": _strings(categories), "display": _strings(displays),
         "builtin": pa.array(builtin, type=pa.bool_())}
    )
    _insert_arrow(conn, "activities", data, on_conflict_do_nothing=True)


def ensure_activities(store: Store) -> None:
    """Seed the built-in activity vocabulary (idempotent)."""
    with store.transaction() as conn:
        seed_activities(conn)


def _table_exists(conn: duckdb.DuckDBPyConnection, table: str) -> bool:
    rows = conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ? AND table_schema = 'main'", [table]
    ).fetchall()
    return bool(rows[0][0])


def interpretations_referencing(conn: duckdb.DuckDBPyConnection, dataset: str) -> int:
    """How many interpretations point at windows of ``dataset`` (0 before migration 002 exists)."""
    if not _table_exists(conn, "interpretations"):
        return 0
    rows = conn.execute(
        "SELECT count(*) FROM interpretations i JOIN windows w ON w.id = i.window_id WHERE w.dataset = ?",
        [dataset],
    ).fetchall()
    return int(rows[0][0])


def check_not_referenced(conn: duckdb.DuckDBPyConnection, dataset: str, action: str) -> None:
    """Refuse to drop windows that interpretations refer to (they would dangle)."""
    count = interpretations_referencing(conn, dataset)
    if count:
        raise DatasetInUseError(
            f"cannot {action} dataset {dataset!r}: {count} interpretation(s) refer to its windows. "
            f"Ingest the new version under another name (e.g. {dataset}_v2), or delete those "
            "interpretations first."
        )


def _delete_rows(conn: duckdb.DuckDBPyConnection, dataset: str) -> None:
    recordings = "SELECT id FROM recordings WHERE dataset = ?"
    conn.execute("DELETE FROM windows WHERE dataset = ?", [dataset])
    conn.execute(f"DELETE FROM recording_runs WHERE recording_id IN ({recordings})", [dataset])
    conn.execute(f"DELETE FROM recording_signals WHERE recording_id IN ({recordings})", [dataset])
    conn.execute("DELETE FROM recordings WHERE dataset = ?", [dataset])
    conn.execute("DELETE FROM label_map WHERE dataset = ?", [dataset])
    conn.execute("DELETE FROM datasets WHERE name = ?", [dataset])


def _flat_signals(signals: np.ndarray, width: int) -> pa.Array:
    values = pa.array(np.ascontiguousarray(signals, dtype=np.float32).reshape(-1))
    return pa.FixedSizeListArray.from_arrays(values, width)


def _strings(values: Sequence[object]) -> pa.Array:
    return pa.array([None if v is None else str(v) for v in values], type=pa.string())


def _insert_arrow(
    conn: duckdb.DuckDBPyConnection, table: str, data: pa.Table, on_conflict_do_nothing: bool = False
) -> None:
    """Bulk insert through Arrow: one columnar statement (``executemany`` costs ~20 ms per row in DuckDB)."""
    conn.register("incoming_rows", data)
    try:
        columns = ", ".join(data.column_names)
        conflict = " ON CONFLICT DO NOTHING" if on_conflict_do_nothing else ""
        conn.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM incoming_rows{conflict}")
    finally:
        conn.unregister("incoming_rows")


def _concat_lists(arrays: Sequence[np.ndarray]) -> pa.Array:
    """One variable-length FLOAT list per array (row-major flattened), built without Python lists."""
    sizes = np.array([a.size for a in arrays], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int32)
    values = np.concatenate([a.reshape(-1) for a in arrays]).astype(np.float32, copy=False)
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(values))


def _insert_batch(
    conn: duckdb.DuckDBPyConnection, dataset: str, items: Sequence[PreparedRecording], ids: Sequence[int]
) -> None:
    """Recordings, their signals and runs, and their windows: four bulk inserts for the whole batch."""
    recs = [item.recording for item in items]
    _insert_arrow(conn, "recordings", pa.table({
        "id": pa.array(ids, type=pa.int64()),
        "dataset": _strings([dataset] * len(recs)),
        "key": _strings([r.key for r in recs]),
        "subject": _strings([r.subject for r in recs]),
        "session": _strings([r.session or None for r in recs]),
        "device": _strings([r.device or None for r in recs]),
        "placement": _strings([r.placement or None for r in recs]),
        "native_rate_hz": pa.array([item.native_rate_hz for item in items], type=pa.float64()),
        "native_n_samples": pa.array([item.native_n_samples for item in items], type=pa.int64()),
        "rate_hz": pa.array([r.rate_hz for r in recs], type=pa.float64()),
        "n_samples": pa.array([r.n_samples for r in recs], type=pa.int64()),
        "duration_s": pa.array([r.duration_s for r in recs], type=pa.float64()),
        "source_file": _strings([r.source_file or None for r in recs]),
        "meta": _strings([json.dumps(r.meta) for r in recs]),
    }))
    _insert_arrow(conn, "recording_signals", pa.table({
        "recording_id": pa.array(ids, type=pa.int64()),
        "signals": _concat_lists([r.signals for r in recs]),
    }))
    run_starts = [np.array([a for a, _ in item.runs], dtype=np.int64) for item in items]
    _insert_arrow(conn, "recording_runs", pa.table({
        "recording_id": np.concatenate([np.full(len(s), rid, dtype=np.int64) for s, rid in zip(run_starts, ids)]),
        "segment": np.concatenate([r.segment_ids()[s] for r, s in zip(recs, run_starts)]).astype(np.int32),
        "start_sample": np.concatenate(run_starts).astype(np.int32),
        "end_sample": np.array([b for item in items for _, b in item.runs], dtype=np.int32),
        "label": _strings([v for r, s in zip(recs, run_starts) for v in r.labels[s].tolist()]),
        "native_label": _strings([v for r, s in zip(recs, run_starts) for v in r.native_labels[s].tolist()]),
    }))
    windows = [item.windows for item in items]
    counts = [len(w) for w in windows]
    length = windows[0].signals.shape[1]
    _insert_arrow(conn, "windows", pa.table({
        "dataset": _strings([dataset] * sum(counts)),
        "recording_id": np.repeat(np.asarray(ids, dtype=np.int64), counts),
        "start_sample": np.concatenate([w.starts for w in windows]).astype(np.int32),
        "length": np.full(sum(counts), length, dtype=np.int32),
        "rate_hz": np.repeat([w.rate_hz for w in windows], counts).astype(np.float64),
        "subject": _strings(np.repeat(np.array([r.subject for r in recs], dtype=object), counts).tolist()),
        "placement": _strings(np.repeat(np.array([r.placement or None for r in recs], dtype=object), counts).tolist()),
        "label": _strings(np.concatenate([w.labels for w in windows]).tolist()),
        "native_label": _strings(np.concatenate([w.native_labels for w in windows]).tolist()),
        "signals": _flat_signals(np.concatenate([w.signals for w in windows]), length * len(CHANNELS)),
    }))


def _batches(recordings: Sequence[PreparedRecording]) -> list[list[PreparedRecording]]:
    """Consecutive groups of about ``FLUSH_WINDOWS`` windows each."""
    batches: list[list[PreparedRecording]] = [[]]
    size = 0
    for item in recordings:
        if size >= FLUSH_WINDOWS:
            batches.append([])
            size = 0
        batches[-1].append(item)
        size += len(item.windows)
    return [b for b in batches if b]


def write_dataset(
    conn: duckdb.DuckDBPyConnection,
    record: DatasetRecord,
    recordings: Sequence[PreparedRecording],
    on_recording: Callable[[int], None] | None = None,
) -> None:
    """Replace everything stored for ``record.name`` with ``recordings``, inside the caller's transaction.

    ``on_recording(n)`` is called with the number of recordings written so far. The
    caller owns the transaction, so a failure anywhere here leaves the previous rows intact.
    """
    check_not_referenced(conn, record.name, "replace")
    _delete_rows(conn, record.name)
    conn.execute(
        "INSERT INTO datasets (name, reader, title, placement, native_rate_hz, rate_hz, window_samples, "
        "stride_samples, content_hash, source_path, attribution, license, conversions, params) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            record.name,
            record.reader,
            record.title,
            record.placement or None,
            record.native_rate_hz,
            record.rate_hz,
            record.window_samples,
            record.stride_samples,
            record.content_hash,
            record.source_path,
            record.attribution,
            record.license,
            record.conversions,
            json.dumps(record.params, default=str, sort_keys=True),
        ],
    )
    pairs: dict[str, str] = {}
    for item in recordings:
        for native, canonical in zip(item.recording.native_labels.tolist(), item.recording.labels.tolist()):
            if native is not None and canonical is not None:
                pairs.setdefault(str(native), str(canonical))
    ids = [int(r[0]) for r in conn.execute(
        "SELECT nextval('recording_id_seq') FROM range(?)", [len(recordings)]).fetchall()]
    done = 0
    for batch in _batches(recordings):
        _insert_batch(conn, record.name, batch, ids[done : done + len(batch)])
        done += len(batch)
        if on_recording is not None:
            on_recording(done)
    seed_activities(conn, set(pairs.values()))
    mapped = sorted(pairs.items())
    data = pa.table(
        {"dataset": _strings([record.name] * len(mapped)), "native_label": _strings([n for n, _ in mapped]),
         "activity": _strings([c for _, c in mapped])}
    )
    _insert_arrow(conn, "label_map", data)


def delete_dataset(store: Store, name: str) -> None:
    """Remove a dataset and all its recordings and windows, in one transaction."""
    with store.transaction() as conn:
        if conn.execute("SELECT count(*) FROM datasets WHERE name = ?", [name]).fetchall()[0][0] == 0:
            raise NotFoundError(f"no dataset {name!r} in the store; `lanhar data list` shows what is there")
        check_not_referenced(conn, name, "remove")
        _delete_rows(conn, name)


# ---------------------------------------------------------------------------- reading


def dataset_hash(store: Store, name: str) -> str | None:
    """The content hash a dataset was ingested with, or ``None`` if it is not in the store."""
    with store.connect() as conn:
        rows = conn.execute("SELECT content_hash FROM datasets WHERE name = ?", [name]).fetchall()
    return rows[0][0] if rows else None


def list_datasets(store: Store) -> pd.DataFrame:
    """One row per ingested dataset with its provenance, settings and counts."""
    with store.connect() as conn:
        return conn.execute(
            "SELECT d.name, d.reader, d.title, d.placement, d.native_rate_hz, d.rate_hz, d.window_samples, "
            "d.stride_samples, coalesce(r.recordings, 0) AS recordings, coalesce(r.subjects, 0) AS subjects, "
            "coalesce(r.hours, 0) AS hours, coalesce(w.windows, 0) AS windows, d.license, d.attribution, "
            "d.source_path, d.content_hash, d.ingested_at "
            "FROM datasets d "
            "LEFT JOIN (SELECT dataset, count(*) AS recordings, count(DISTINCT subject) AS subjects, "
            "           sum(duration_s) / 3600 AS hours FROM recordings GROUP BY dataset) r ON r.dataset = d.name "
            "LEFT JOIN (SELECT dataset, count(*) AS windows FROM windows GROUP BY dataset) w ON w.dataset = d.name "
            "ORDER BY d.name"
        ).df()


def window_counts(store: Store) -> pd.DataFrame:
    """Windows per (dataset, label); unlabeled windows have label ``None``."""
    with store.connect() as conn:
        return conn.execute(
            "SELECT dataset, label, count(*) AS n FROM windows GROUP BY dataset, label "
            "ORDER BY dataset, label NULLS LAST"
        ).df()


def list_recordings(store: Store, dataset: str | None = None) -> pd.DataFrame:
    """Recordings (id, dataset, key, subject, session, placement, duration_s, windows) for filters."""
    sql = (
        "SELECT r.id, r.dataset, r.key, r.subject, r.session, r.device, r.placement, r.native_rate_hz, "
        "r.duration_s, count(w.id) AS windows FROM recordings r LEFT JOIN windows w ON w.recording_id = r.id "
    )
    args: list[Any] = []
    if dataset is not None:
        sql += "WHERE r.dataset = ? "
        args.append(dataset)
    sql += "GROUP BY ALL ORDER BY r.dataset, r.id"
    with store.connect() as conn:
        return conn.execute(sql, args).df()


def _as_list(value: str | Iterable[Any] | None) -> list[Any] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    return list(value)


def _signals_to_numpy(column: pa.ChunkedArray, lengths: np.ndarray) -> np.ndarray:
    flat = column.combine_chunks().flatten().to_numpy(zero_copy_only=False)
    if lengths.size == 0:
        return np.empty((0, 0, len(CHANNELS)), dtype=np.float32)
    return flat.astype(np.float32, copy=False).reshape(lengths.size, int(lengths[0]), len(CHANNELS))


def _text(table: pa.Table, name: str) -> np.ndarray:
    return np.asarray(table.column(name).to_pylist(), dtype=object)


def load_windows(
    store: Store,
    dataset: str | Iterable[str] | None = None,
    ids: Iterable[int] | None = None,
    labels: Iterable[str | None] | None = None,
    subjects: Iterable[str] | None = None,
    placement: str | Iterable[str] | None = None,
    limit: int | None = None,
) -> WindowSet:
    """Windows matching every given filter, as one ``WindowSet`` with a ``(n, length, 6)`` array.

    Rows come in window-id order, or in the order of ``ids`` when ids are given (ids that
    do not exist or do not match the other filters are left out). ``labels`` may contain
    ``None`` to include unlabeled windows. All windows must share one rate and length
    (they do unless datasets were ingested under different settings).
    """
    where, args = [], []
    for column, value in (("w.dataset", _as_list(dataset)), ("w.subject", _as_list(subjects)),
                          ("w.placement", _as_list(placement))):
        if value is not None:
            where.append(f"list_contains(?::VARCHAR[], {column})")
            args.append([str(v) for v in value])
    wanted_labels = _as_list(labels)
    if wanted_labels is not None:
        named = [str(v) for v in wanted_labels if v is not None]
        clause = "list_contains(?::VARCHAR[], w.label)"
        if None in wanted_labels:
            clause = f"({clause} OR w.label IS NULL)"
        where.append(clause)
        args.append(named)
    join, order = "", "w.id"
    wanted_ids = _as_list(ids)
    with store.connect() as conn:
        conn.execute("SET enable_progress_bar = false")
        if wanted_ids is not None:
            conn.register("wanted_ids", pa.table({"id": np.asarray(wanted_ids, dtype=np.int64),
                                                  "pos": np.arange(len(wanted_ids), dtype=np.int64)}))
            join, order = " JOIN wanted_ids q ON q.id = w.id", "q.pos"
        sql = (
            f"SELECT w.id, w.dataset, w.subject, w.recording_id, w.placement, w.label, w.native_label, "
            f"w.rate_hz, w.length, w.signals, {order} AS sort_key FROM windows w{join}"
        )
        if where:
            sql += " WHERE " + " AND ".join(where)
        if limit is not None:
            sql += f" ORDER BY {order} LIMIT {int(limit)}"
        table = conn.sql(sql, params=args or None).to_arrow_table()
    # Sorting in SQL would move every signal list through DuckDB's sort (+40% load time);
    # sorting the row order in numpy afterwards costs one gather.
    sort_key = table.column("sort_key").to_numpy()
    if sort_key.size > 1 and not np.all(sort_key[1:] > sort_key[:-1]):
        table = table.take(pa.array(np.argsort(sort_key, kind="stable")))
    lengths = table.column("length").to_numpy()
    rates = np.unique(table.column("rate_hz").to_numpy())
    if np.unique(lengths).size > 1 or rates.size > 1:
        found = sorted(set(_text(table, "dataset").tolist()))
        raise StoreError(
            f"the selected windows mix lengths {sorted(set(lengths.tolist()))} / rates {rates.tolist()} "
            f"(datasets {', '.join(found)}); re-ingest them under the same data settings or load them separately"
        )
    return WindowSet(
        ids=table.column("id").to_numpy(),
        signals=_signals_to_numpy(table.column("signals"), lengths),
        rate_hz=float(rates[0]) if rates.size else 0.0,
        datasets=_text(table, "dataset"),
        subjects=_text(table, "subject"),
        recording_ids=table.column("recording_id").to_numpy(),
        placements=_text(table, "placement"),
        labels=_text(table, "label"),
        native_labels=_text(table, "native_label"),
    )


def get_window(store: Store, window_id: int) -> StoredWindow:
    """One window with its recording's key and session; ``NotFoundError`` if it does not exist."""
    with store.connect() as conn:
        table = conn.sql(
            "SELECT w.id, w.dataset, w.recording_id, r.key, w.subject, r.session, w.placement, w.start_sample, "
            "w.length, w.rate_hz, w.label, w.native_label, w.signals "
            "FROM windows w JOIN recordings r ON r.id = w.recording_id WHERE w.id = ?",
            params=[int(window_id)],
        ).to_arrow_table()
    if table.num_rows == 0:
        raise NotFoundError(f"no window with id {window_id}")
    row = {name: table.column(name)[0].as_py() for name in table.column_names if name != "signals"}
    length = int(row["length"])
    signals = table.column("signals").combine_chunks().flatten().to_numpy(zero_copy_only=False)
    return StoredWindow(
        id=int(row["id"]),
        dataset=row["dataset"],
        recording_id=int(row["recording_id"]),
        recording_key=row["key"],
        subject=row["subject"],
        session=row["session"],
        placement=row["placement"],
        start_sample=int(row["start_sample"]),
        length=length,
        rate_hz=float(row["rate_hz"]),
        label=row["label"],
        native_label=row["native_label"],
        signals=signals.astype(np.float32, copy=False).reshape(length, len(CHANNELS)),
    )


def get_recording_signals(store: Store, recording_id: int) -> RecordingSignals:
    """The whole resampled recording with its activity runs and windows (for the viewer)."""
    with store.connect() as conn:
        found = conn.execute(
            "SELECT dataset, key, subject, session, device, placement, rate_hz, meta FROM recordings WHERE id = ?",
            [int(recording_id)],
        ).fetchall()
        if not found:
            raise NotFoundError(f"no recording with id {recording_id}")
        table = conn.sql(
            "SELECT signals FROM recording_signals WHERE recording_id = ?", params=[int(recording_id)]
        ).to_arrow_table()
        runs = conn.execute(
            "SELECT segment, start_sample, end_sample, label, native_label FROM recording_runs "
            "WHERE recording_id = ? ORDER BY start_sample",
            [int(recording_id)],
        ).df()
        windows = conn.execute(
            "SELECT id, start_sample, length, label FROM windows WHERE recording_id = ? ORDER BY start_sample",
            [int(recording_id)],
        ).df()
    flat = table.column("signals").combine_chunks().flatten().to_numpy(zero_copy_only=False)
    dataset, key, subject, session, device, placement, rate_hz, meta = found[0]
    return RecordingSignals(
        recording_id=int(recording_id),
        dataset=dataset,
        key=key,
        subject=subject,
        session=session,
        device=device,
        placement=placement,
        rate_hz=float(rate_hz),
        signals=flat.astype(np.float32, copy=False).reshape(-1, len(CHANNELS)),
        runs=runs,
        windows=windows,
        meta=json.loads(meta) if meta else {},
    )
