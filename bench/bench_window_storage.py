"""Where should window signals live: a DuckDB array column or a sibling Parquet file?

Measures, for N windows of 120x6 float32 (default 100k, the issue's yardstick), the time
to write them, the time to load all of them back into one ``(n, 120, 6)`` numpy array, the
time to load a filtered 10% subset (one "dataset"), and the size on disk. Each layout is
loaded the fast way (Arrow, flattened child array -> numpy; no Python lists). The winner
is recorded, with these numbers, in the docstring of ``storage/datasets.py``.

Run: ``.venv/bin/python bench/bench_window_storage.py [--n 100000] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

LENGTH, CHANNELS = 120, 6
WIDTH = LENGTH * CHANNELS


def _signals(n: int) -> np.ndarray:
    """Realistic-ish IMU values (smooth, not random noise) so compression is representative."""
    rng = np.random.default_rng(0)
    t = np.arange(LENGTH, dtype=np.float32) / 20.0
    freq = rng.uniform(0.5, 3.0, size=(n, 1, 1)).astype(np.float32)
    base = np.array([0, 0, 9.81, 0, 0, 0], dtype=np.float32)
    wave = np.sin(2 * np.pi * freq * t[None, :, None]) * rng.uniform(0.1, 3.0, size=(n, 1, CHANNELS))
    noise = rng.normal(0, 0.05, size=(n, LENGTH, CHANNELS))
    return (base + wave + noise).astype(np.float32)


def _arrow_table(signals: np.ndarray, list_type: str) -> pa.Table:
    n = signals.shape[0]
    values = pa.array(signals.reshape(-1))
    if list_type == "fixed":
        column = pa.FixedSizeListArray.from_arrays(values, WIDTH)
    else:
        column = pa.ListArray.from_arrays(pa.array(np.arange(0, (n + 1) * WIDTH, WIDTH, dtype=np.int32)), values)
    return pa.table({"id": np.arange(n, dtype=np.int64), "dataset": np.arange(n) % 10, "signals": column})


def _to_numpy(table: pa.Table) -> np.ndarray:
    column = table.column("signals").combine_chunks()
    return column.values.to_numpy(zero_copy_only=False).reshape(-1, LENGTH, CHANNELS)


def _duckdb_layout(sql_type: str, list_type: str) -> Callable[[Path, np.ndarray], dict[str, Callable[[], np.ndarray]]]:
    def setup(folder: Path, signals: np.ndarray) -> dict[str, Callable[[], object]]:
        path = folder / f"windows_{list_type}.duckdb"
        data = _arrow_table(signals, list_type)

        def write() -> None:
            with duckdb.connect(str(path)) as conn:
                conn.execute(f"CREATE OR REPLACE TABLE windows (id BIGINT, dataset INTEGER, signals {sql_type})")
                conn.register("incoming", data)
                conn.execute("INSERT INTO windows SELECT id, dataset, signals FROM incoming")

        def load_all() -> np.ndarray:
            with duckdb.connect(str(path), read_only=True) as conn:
                return _to_numpy(conn.sql("SELECT signals FROM windows ORDER BY id").to_arrow_table())

        def load_subset() -> np.ndarray:
            with duckdb.connect(str(path), read_only=True) as conn:
                sql = "SELECT signals FROM windows WHERE dataset = 3 ORDER BY id"
                return _to_numpy(conn.sql(sql).to_arrow_table())

        return {"write": write, "load_all": load_all, "load_subset": load_subset, "path": path}

    return setup


def _parquet_layout(folder: Path, signals: np.ndarray) -> dict[str, Callable[[], object]]:
    meta_path = folder / "meta.duckdb"
    parquet_path = folder / "signals.parquet"
    data = _arrow_table(signals, "fixed")

    def write() -> None:
        with duckdb.connect(str(meta_path)) as conn:
            conn.execute("CREATE OR REPLACE TABLE windows (id BIGINT, dataset INTEGER)")
            conn.register("incoming", data.select(["id", "dataset"]))
            conn.execute("INSERT INTO windows SELECT * FROM incoming")
        pq.write_table(data.select(["id", "signals"]), parquet_path, compression="zstd")

    def load_all() -> np.ndarray:
        with duckdb.connect(str(meta_path), read_only=True) as conn:
            ids = conn.execute("SELECT id FROM windows ORDER BY id").fetchnumpy()["id"]
        table = pq.read_table(parquet_path)
        order = np.searchsorted(table.column("id").to_numpy(), ids)
        return _to_numpy(table)[order]

    def load_subset() -> np.ndarray:
        with duckdb.connect(str(meta_path), read_only=True) as conn:
            ids = conn.execute("SELECT id FROM windows WHERE dataset = 3 ORDER BY id").fetchnumpy()["id"]
        table = pq.read_table(parquet_path, filters=[("id", "in", pa.array(ids))])
        return _to_numpy(table)

    return {"write": write, "load_all": load_all, "load_subset": load_subset, "path": parquet_path, "extra": meta_path}


def _best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="number of windows")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    args = parser.parse_args()
    signals = _signals(args.n)
    layouts = {
        "duckdb FLOAT[] (list)": _duckdb_layout("FLOAT[]", "list"),
        f"duckdb FLOAT[{WIDTH}] (array)": _duckdb_layout(f"FLOAT[{WIDTH}]", "fixed"),
        "parquet sibling (zstd)": _parquet_layout,
    }
    print(f"{args.n} windows of {LENGTH}x{CHANNELS} float32 ({signals.nbytes / 1e6:.0f} MB raw), best of {args.repeat}")
    print(f"{'layout':<28}{'write s':>9}{'load all s':>12}{'load 10% s':>12}{'disk MB':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, setup in layouts.items():
            folder = Path(tmp) / name.split()[0] / str(len(name))
            folder.mkdir(parents=True)
            ops = setup(folder, signals)
            write_s = _best(ops["write"], 1)
            loaded = ops["load_all"]()
            if not np.array_equal(loaded, signals):
                raise SystemExit(f"{name}: loaded signals differ from what was written")
            all_s = _best(ops["load_all"], args.repeat)
            subset_s = _best(ops["load_subset"], args.repeat)
            size = sum(p.stat().st_size for p in folder.iterdir()) / 1e6
            print(f"{name:<28}{write_s:>9.2f}{all_s:>12.3f}{subset_s:>12.3f}{size:>9.1f}")


if __name__ == "__main__":
    main()
