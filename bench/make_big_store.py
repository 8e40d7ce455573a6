"""A large store for speed tests: the built-in sample's real windows repeated with jitter, about 100k windows.

Each copy of a sample recording gets Gaussian noise (``--jitter`` of each channel's std) and
a small gain change, a new recording key and subject, and is ingested through the normal
pipeline (resampling, windowing) as dataset ``big_<sample dataset>``. Each copied window gets
the current interpretation of the window it was copied from in every collection (the texts
are the sample's, so the speed of the pages is measured on realistic texts without writing
100k new ones), and the big datasets are flagged like the sample. Run from the repository root:

    PYTHONPATH=$PWD OMP_NUM_THREADS=1 .venv/bin/python bench/make_big_store.py --home /tmp/lh-big [--windows 100000]
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from lanhar_core.config import load_settings
from lanhar_core.data.ingest import ingest_source
from lanhar_core.data.sample import ensure_sample, read_sample, sample_files, sample_source
from lanhar_core.data.types import Recording
from lanhar_core.quality.runs import default_embed, run_flagging
from lanhar_core.sample_interpretations import ensure_sample_interpretations, flag_sample, import_sample_embeddings
from storage import interpretations as store_it
from storage.datasets import list_datasets
from storage.db import Store

BIG_PREFIX = "big_"


def jittered(path: Path, name: str, copies: int, jitter: float, seed: int) -> Iterator[Recording]:
    """``copies`` noisy copies of every recording of one sample file (as dataset ``name``), each with its own key and subject."""
    rng = np.random.default_rng(seed)
    originals = list(read_sample(path))
    for copy in range(copies):
        for rec in originals:
            std = rec.signals.std(axis=0, keepdims=True)
            gain = 1.0 + rng.normal(0, 0.02, (1, rec.signals.shape[1]))
            noise = rng.normal(0, 1, rec.signals.shape) * std * jitter
            signals = (rec.signals * gain + noise).astype(rec.signals.dtype)
            yield dataclasses.replace(rec, dataset=name, key=f"{rec.key}~copy{copy}", subject=f"{rec.subject}~{copy}",
                                      signals=signals)


def copy_interpretations(store: Store, big: str, sample: str) -> int:
    """Give every window of ``big`` the current text of the sample window it copies, in each collection."""
    positions = store_it.window_positions(store, [big, sample])
    positions["base_key"] = positions["recording_key"].str.split("~copy").str[0]
    source = positions[positions["dataset"] == sample].set_index(["base_key", "start_sample"])["window_id"]
    copies = positions[positions["dataset"] == big]
    added = 0
    for collection in store_it.list_collections(store)["collection"]:
        current = store_it.current_window_interpretations(store, str(collection), sample).set_index("window_id")
        items = []
        for window_id, key, start in copies[["window_id", "base_key", "start_sample"]].itertuples(index=False):
            original = source.get((key, start))
            if original is None or original not in current.index:
                continue
            row = current.loc[original]
            items.append(store_it.InterpretationIn(
                collection=str(collection), target_kind="window", window_id=int(window_id), text=row["text"],
                backend=row["backend"], model=row["model"], valid=bool(row["valid"]), fields=row["fields"],
                params={"copied_from_window": int(original)},
            ))
        for start in range(0, len(items), 20_000):
            added += len(store_it.add_interpretations(store, items[start : start + 20_000]))
    return added


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--windows", type=int, default=100_000, help="approximate total number of windows")
    parser.add_argument("--jitter", type=float, default=0.05, help="noise std as a share of each channel's std")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    settings = load_settings(args.home)
    settings.ensure_dirs()
    store = Store(settings.db_path)
    started = time.perf_counter()
    samples = [r.dataset for r in ensure_sample(store, settings)]
    ensure_sample_interpretations(store, settings, samples)
    flag_sample(store, settings, samples)
    per_copy = int(list_datasets(store)["windows"].sum())
    copies = max(1, args.windows // per_copy - 1)
    import_sample_embeddings(store)
    embed = default_embed(store, settings)
    for path in sample_files():
        base = sample_source(path)
        name = BIG_PREFIX + base.name
        source = dataclasses.replace(base, name=name, info=dataclasses.replace(base.info, name=name),
                                     read=lambda p=path, n=name: jittered(p, n, copies, args.jitter, args.seed))
        report = ingest_source(store, settings, source)
        texts = copy_interpretations(store, name, base.name)
        print(f"{name}: {report.windows} windows, {texts} texts "
              f"({time.perf_counter() - started:.0f} s)", flush=True)
        for collection in store_it.list_collections(store)["collection"]:
            flagged = run_flagging(store, settings, str(collection), name, embed)
            print(f"  flagged {collection}: {flagged.n_flagged} of {flagged.n_items} ({time.perf_counter() - started:.0f} s)",
                  flush=True)
    total = int(list_datasets(store)["windows"].sum())
    print(f"{settings.db_path}: {total} windows in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
