"""Build the built-in sample (``lanhar_core/data/sample/*.npz``) from the real datasets.

Reads three subjects of HAPT and of MotionSense with the project's own readers (so the
sample gets exactly the canonical units and labels a full ingest gets), resamples them to
20 Hz and writes the compressed sample files, plus the app's example recording (one of
them as a phone-style CSV, ``write_example``). Run from the repository root:

    .venv/bin/python bench/build_sample.py [--data ../shared/data]

With ``--embeddings HOME`` it instead rebuilds the shipped text embeddings of the sample
(``interpretations/embeddings.npz``) from the store of ``HOME`` (run the app or
``lanhar data sample`` there first, so the sample and its interpretations are in it).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lanhar_core.config import load_settings
from lanhar_core.data import registry
from lanhar_core.data.resample import resample_recording
from lanhar_core.data.sample import PREFIX, SAMPLE_RATE_HZ, sample_dir, write_example, write_sample
from lanhar_core.sample_interpretations import SAMPLE_EMBEDDINGS, export_sample_embeddings
from storage.datasets import list_datasets
from storage.db import Store

SUBJECTS = {"hapt": ("1", "2", "3"), "motionsense": ("1", "2", "3")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parents[2] / "shared" / "data"
    parser.add_argument("--data", type=Path, default=default, help="folder holding hapt/ and motionsense/")
    parser.add_argument("--embeddings", type=Path, metavar="HOME", help="rebuild the shipped embeddings from HOME's store")
    args = parser.parse_args()
    if args.embeddings:
        settings = load_settings(args.embeddings)
        store = Store(settings.db_path)
        datasets = [d for d in list_datasets(store)["name"] if str(d).startswith(PREFIX)]
        n = export_sample_embeddings(store, settings, datasets)
        print(f"{SAMPLE_EMBEDDINGS}: {n} texts of {datasets}, {SAMPLE_EMBEDDINGS.stat().st_size / 1e6:.2f} MB")
        return
    out = sample_dir()
    out.mkdir(parents=True, exist_ok=True)
    for name, subjects in SUBJECTS.items():
        module = registry.get(name)
        recordings = [resample_recording(r, SAMPLE_RATE_HZ) for r in module.read(args.data / name, subjects=subjects)]
        path = out / f"{name}.npz"
        write_sample(path, module.INFO, recordings, module.INFO.native_rate_hz or 0.0)
        hours = sum(r.duration_s for r in recordings) / 3600
        print(f"{path}: {len(recordings)} recordings, {hours:.2f} h, {path.stat().st_size / 1e6:.2f} MB")
    example = write_example()
    print(f"{example}: the app's example recording, {example.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
