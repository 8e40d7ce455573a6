"""Synthetic recordings and sources for the data-pipeline tests, plus a whole-store snapshot."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from lanhar_core.data.ingest import Source
from lanhar_core.data.registry import DatasetInfo
from lanhar_core.data.types import GRAVITY, Recording
from lanhar_core.errors import DataFormatError
from storage.db import Store

TABLES = ("datasets", "recordings", "recording_signals", "recording_runs", "windows", "label_map", "activities")
INFO = DatasetInfo(
    name="synth", title="synthetic", placement="waist", native_rate_hz=50.0, label_map={"W": "walk", "S": "sit"},
    attribution="test", license="CC0", conversions="none",
)


def snapshot(store: Store) -> dict[str, list]:
    """Every row of every data table: 'exactly as before' means this compares equal."""
    with store.connect() as conn:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in TABLES}


def make_recording(key: str, seconds: float = 30.0, rate: float = 50.0, label: str | None = "W", subject: str = "1") -> Recording:
    n = int(seconds * rate)
    t = np.arange(n) / rate
    signals = np.zeros((n, 6))
    signals[:, 2] = GRAVITY + np.sin(2 * np.pi * 1.8 * t)
    signals[:, 3] = 0.3 * np.sin(2 * np.pi * 0.9 * t)
    native = np.full(n, label, dtype=object)
    canonical = np.array([INFO.label_map.get(v) if v else None for v in native], dtype=object)
    return Recording("synth", key, subject, signals, rate, canonical, native, placement="waist", source_file=f"{key}.csv")


def make_source(tmp_path: Path, recordings: list[Recording] | None = None, content: str = "v1", name: str = "synth", fail_at: int | None = None) -> Source:
    folder = tmp_path / f"src_{name}"
    folder.mkdir(exist_ok=True)
    (folder / "data.txt").write_text(content)
    recs = recordings if recordings is not None else [make_recording("a"), make_recording("b", label="S", subject="2")]

    def read() -> Iterator[Recording]:
        for i, rec in enumerate(recs):
            if fail_at is not None and i == fail_at:
                raise DataFormatError(f"broken file at recording {i}")
            yield rec

    return Source(name=name, reader="synthetic", info=INFO, path=folder, files=(folder / "data.txt",), options={}, read=read)
