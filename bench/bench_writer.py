"""Rules-writer throughput end to end into the store, against the same windows without the store.

    LANHAR_HOME=DIR OMP_NUM_THREADS=1 python bench/bench_writer.py --dataset motionsense --windows 2000

Three passes over the same ``--windows`` windows of a dataset already in the store, in one
run so that their ratios do not depend on how busy the machine is:

- ``features``: ``window_features`` per window and ``window_features_batch`` over all of
  them (pure numpy; the floor under any writer that reads the feature record);
- ``writer only``: prompts built and texts written and validated for windows already in
  memory, no store (the writer's own limit on this machine);
- ``end to end``: ``interpret_windows`` into a fresh collection (loading windows, feature
  records per batch, writing, validating, committing versions; the store pinned for the
  run, ``Store.pinned``).

Each line prints windows/s and the share of the writer-only rate the end-to-end path keeps.
The fresh collections are named ``bench-writer-<time>-<pass>`` and stay in the store.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from lanhar_core.cli.common import print_table
from lanhar_core.config import load_settings
from lanhar_core.interpret import dataset_candidates, interpret_windows
from lanhar_core.llm.registry import make_backend
from lanhar_core.llm.validation import parse_window_reply
from lanhar_core.prompts import window_prompt
from lanhar_core.signal.features import window_features, window_features_batch
from storage import interpretations as store_it
from storage.datasets import load_windows
from storage.db import Store


def _rate(n: int, fn: Callable[[], object]) -> tuple[float, float]:
    start = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - start
    return n / elapsed, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--windows", type=int, default=2000)
    args = parser.parse_args()
    settings = load_settings()
    store = Store(settings.db_path)
    backend = make_backend(settings, "rules")
    ids = store_it.dataset_window_ids(store, args.dataset, args.windows)
    windows = load_windows(store, ids=ids)
    n = len(windows)
    candidates, forbidden = dataset_candidates(store, args.dataset)
    placements = [str(p or "") for p in windows.placements]

    def writer_only() -> None:
        specs = [window_prompt(w, windows.rate_hz, p, candidates) for w, p in zip(windows.signals, placements)]
        for gen in backend.generate(specs):
            parse_window_reply(gen.text, forbidden)

    def end_to_end() -> object:
        return interpret_windows(store, settings, args.dataset, backend, f"bench-writer-{time.time():.0f}", window_ids=ids)

    rows = []
    per_window = _rate(n, lambda: [window_features(w, windows.rate_hz) for w in windows.signals])
    batch = _rate(n, lambda: window_features_batch(windows.signals, windows.rate_hz))
    writer = _rate(n, writer_only)
    e2e = _rate(n, end_to_end)
    for name, (rate, elapsed) in (("features per window", per_window), ("features batch", batch),
                                  ("writer only (no store)", writer), ("end to end", e2e)):
        rows.append([name, round(elapsed, 2), round(rate, 1), round(rate / writer[0], 3)])
    print(f"{args.dataset}: {n} windows, rules backend {backend.model}, batch {settings.llm.batch_size}")
    print_table(["pass", "s", "windows/s", "share of writer-only"], rows)


if __name__ == "__main__":
    main()
