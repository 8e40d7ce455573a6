"""Small synthetic datasets written through the real dataset store, for interpretation tests."""

from __future__ import annotations

import numpy as np

from lanhar_core.data.types import GRAVITY, Recording
from lanhar_core.data.windowing import make_windows, runs
from storage.datasets import DatasetRecord, PreparedRecording, write_dataset
from storage.db import Store

RATE_HZ = 20.0
LENGTH = 120


def _segment(kind: str, variant: int, identical: bool) -> np.ndarray:
    t = np.arange(LENGTH) / RATE_HZ
    signals = np.zeros((LENGTH, 6), dtype=np.float32)
    signals[:, 2] = GRAVITY
    if kind == "walk":
        freq = 1.8 if identical else 1.6 + 0.05 * variant
        signals[:, 2] += 2.5 * np.sin(2 * np.pi * freq * t)
        signals[:, 0] += 0.8 * np.sin(np.pi * freq * t)
        signals[:, 4] = 0.6 * np.sin(2 * np.pi * freq * t + 0.3)
    else:
        signals[:, 0] += 0.0 if identical else 0.01 * variant
    return signals


def add_toy_dataset(
    store: Store, n_windows: int = 4, dataset: str = "toy", identical: bool = False, placement: str = "waist"
) -> list[int]:
    """One recording of ``n_windows`` back-to-back 6 s windows alternating walk and sit; returns the window ids.

    ``identical`` makes every window the same walking segment (same prompt for each).
    """
    kinds = ["walk" if identical or i % 2 == 0 else "sit" for i in range(n_windows)]
    signals = np.concatenate([_segment(k, i, identical) for i, k in enumerate(kinds)])
    labels = np.repeat(np.array(kinds, dtype=object), LENGTH)
    rec = Recording(
        dataset=dataset, key="subject1/trial1", subject="1", signals=signals, rate_hz=RATE_HZ,
        labels=labels, native_labels=labels.copy(), placement=placement,
    )
    record = DatasetRecord(
        name=dataset, reader="toy", title="toy data", placement=placement, native_rate_hz=RATE_HZ, rate_hz=RATE_HZ,
        window_samples=LENGTH, stride_samples=LENGTH, content_hash=f"toy-{n_windows}-{identical}", source_path="",
        attribution="synthetic", license="CC0", conversions="", params={},
    )
    prepared = PreparedRecording(rec, RATE_HZ, rec.n_samples, make_windows(rec, LENGTH, LENGTH), runs(rec))
    with store.transaction() as conn:
        write_dataset(conn, record, [prepared])
        rows = conn.execute("SELECT id FROM windows WHERE dataset = ? ORDER BY id", [dataset]).fetchall()
    return [int(r[0]) for r in rows]


class AxisEncoder:
    """Text 'encoder' for hand-made label vectors: 'axis N' -> unit vector N."""

    def encode(self, texts):
        out = np.zeros((len(texts), 8), dtype=np.float32)
        for i, t in enumerate(texts):
            out[i, int(t.split()[-1])] = 1.0
        return out
