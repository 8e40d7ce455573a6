"""The built-in sample: a few subjects of HAPT and MotionSense, shipped in canonical form.

A fresh install has no datasets and often no network, yet the app and the CLI should have
real data to show. ``lanhar_core/data/sample/*.npz`` holds, per dataset, the recordings of
three subjects already converted by the real readers and resampled to 20 Hz (float32,
compressed; see ``ATTRIBUTION.md`` there for sources and licences). ``ensure_sample``
ingests them as datasets ``sample_hapt`` and ``sample_motionsense`` (the ``sample_`` prefix
keeps them apart from full ingests of the same datasets, which evaluation must not mix
with their own excerpt). Ingestion is idempotent, so calling it on every start is cheap.

File layout (no pickles, so loading is safe): ``signals`` (N, 6) float32 of all recordings
end to end, ``offsets`` (R+1,) recording boundaries, ``labels``/``native_labels`` (N,) int16
codes into ``label_names``/``native_names`` (-1 = unlabeled), and ``meta`` a JSON string with
the dataset information and per-recording keys, subjects, sessions, devices and placements.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from lanhar_core.config import Settings
from lanhar_core.data.ingest import IngestReport, Source, ingest_source
from lanhar_core.data.registry import DatasetInfo
from lanhar_core.data.types import GRAVITY, Recording
from lanhar_core.errors import DataFormatError
from lanhar_core.jobs import Progress
from storage.db import Store

SAMPLE_RATE_HZ = 20.0
PREFIX = "sample_"
_INFO_FIELDS = ("title", "placement", "label_map", "attribution", "license", "conversions", "url")


def sample_dir() -> Path:
    """Folder of the shipped sample files."""
    return Path(str(resources.files("lanhar_core.data") / "sample"))


def sample_files() -> list[Path]:
    return sorted(sample_dir().glob("*.npz"))


EXAMPLE_FILE = "example_phone.csv"
EXAMPLE_RECORDING = ("hapt.npz", "exp03_user02")
"""The app's "try an example" recording: HAPT subject 2, whom the default recognizer holds out."""
EXAMPLE_EPOCH_MS = 1_700_000_000_000


def example_path() -> Path:
    return sample_dir() / EXAMPLE_FILE


def write_example(path: Path | None = None) -> Path:
    """Write one sample recording as a phone-style CSV: epoch milliseconds, acc in g, gyro in rad/s, a label column.

    Like the exports of generic phone logger apps (and unlike the store's canonical form),
    so the example exercises the same column, unit and clock guessing a real upload does.
    """
    path = path or example_path()
    file, key = EXAMPLE_RECORDING
    recording = next(r for r in read_sample(sample_dir() / file) if r.key == key)
    time_ms = EXAMPLE_EPOCH_MS + np.round(np.arange(recording.n_samples) * 1000.0 / recording.rate_hz).astype(np.int64)
    acc_g = recording.signals[:, :3] / GRAVITY
    table = pd.DataFrame({
        "timestamp (ms)": time_ms,
        **{f"acc_{a} (g)": np.round(acc_g[:, i], 4) for i, a in enumerate("xyz")},
        **{f"gyro_{a} (rad/s)": np.round(recording.signals[:, 3 + i], 4) for i, a in enumerate("xyz")},
        "activity": [label or "" for label in recording.labels],
    })
    table.to_csv(path, index=False)
    return path


def _codes(values: np.ndarray) -> tuple[np.ndarray, list[str]]:
    names = sorted({str(v) for v in values.tolist() if v is not None})
    index = {name: i for i, name in enumerate(names)}
    codes = np.array([-1 if v is None else index[str(v)] for v in values.tolist()], dtype=np.int16)
    return codes, names


def write_sample(path: Path, info: DatasetInfo, recordings: Sequence[Recording], original_rate_hz: float) -> None:
    """Save recordings (already at ``SAMPLE_RATE_HZ``) in the sample format."""
    if any(r.rate_hz != SAMPLE_RATE_HZ for r in recordings):
        raise DataFormatError(f"sample recordings must be resampled to {SAMPLE_RATE_HZ} Hz first")
    labels, label_names = _codes(np.concatenate([r.labels for r in recordings]))
    native, native_names = _codes(np.concatenate([r.native_labels for r in recordings]))
    meta = {
        "dataset": info.name,
        "info": {name: getattr(info, name) for name in _INFO_FIELDS} | {"label_map": dict(info.label_map)},
        "original_rate_hz": original_rate_hz,
        "label_names": label_names,
        "native_names": native_names,
        "recordings": [
            {"key": r.key, "subject": r.subject, "session": r.session, "device": r.device,
             "placement": r.placement, "source_file": r.source_file}
            for r in recordings
        ],
    }
    np.savez_compressed(
        path,
        signals=np.concatenate([r.signals for r in recordings]).astype(np.float32),
        offsets=np.cumsum([0] + [r.n_samples for r in recordings]).astype(np.int64),
        labels=labels,
        native_labels=native,
        meta=np.array(json.dumps(meta)),
    )


def _decode(codes: np.ndarray, names: list[str]) -> np.ndarray:
    table = np.array([*names, None], dtype=object)
    return table[np.where(codes < 0, len(names), codes)]


def _load(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in ("signals", "offsets", "labels", "native_labels")}
        meta = json.loads(str(data["meta"]))
    return meta, arrays


def read_sample(path: Path) -> Iterator[Recording]:
    """The recordings of one sample file, at ``SAMPLE_RATE_HZ`` in canonical units."""
    meta, arrays = _load(path)
    labels = _decode(arrays["labels"], meta["label_names"])
    native = _decode(arrays["native_labels"], meta["native_names"])
    offsets = arrays["offsets"]
    for i, rec in enumerate(meta["recordings"]):
        a, b = int(offsets[i]), int(offsets[i + 1])
        yield Recording(
            dataset=PREFIX + meta["dataset"],
            key=rec["key"],
            subject=rec["subject"],
            signals=arrays["signals"][a:b],
            rate_hz=SAMPLE_RATE_HZ,
            labels=labels[a:b],
            native_labels=native[a:b],
            session=rec["session"],
            device=rec["device"],
            placement=rec["placement"],
            source_file=rec["source_file"],
            meta={"original_rate_hz": str(meta["original_rate_hz"])},
        )


def sample_source(path: Path) -> Source:
    """A ``Source`` for one shipped sample file, named ``sample_<dataset>``."""
    meta, _ = _load(path)
    info = meta["info"]
    name = PREFIX + meta["dataset"]
    dataset_info = DatasetInfo(
        name=name,
        title=f"{info['title']} - built-in sample ({len(meta['recordings'])} recordings, 20 Hz)",
        placement=info["placement"],
        native_rate_hz=float(meta["original_rate_hz"]),
        label_map=info["label_map"],
        attribution=info["attribution"],
        license=info["license"],
        conversions=info["conversions"] + f" Resampled to {SAMPLE_RATE_HZ:g} Hz when the sample was built.",
        url=info["url"],
    )
    return Source(name=name, reader="sample", info=dataset_info, path=path, files=(path,), options={},
                  read=lambda: read_sample(path))


def ensure_sample(store: Store, settings: Settings, progress: Progress | None = None,
                  files: Iterable[Path] | None = None) -> list[IngestReport]:
    """Ingest the built-in sample datasets unless they are already there (idempotent)."""
    paths = list(files) if files is not None else sample_files()
    if not paths:
        raise DataFormatError(f"no sample files in {sample_dir()}; the installation is incomplete")
    return [ingest_source(store, settings, sample_source(path), progress) for path in paths]
