"""Smartwatch shoulder-physiotherapy exercises (Burns et al. 2018), as bundled with seglearn.

The bundle is one pickled dict (``watch_dataset.npy``, gzipped in the shared copy) with
140 series; each series is one recording of one exercise by one subject.

The pickle is never handed to ``np.load`` with pickles allowed: a crafted file could run any
code on load. ``_SafeUnpickler`` rebuilds only numpy arrays, dtypes and latin-1 bytes (all
the real bundle contains) and refuses any other global by name.
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Collection, Iterator
from pathlib import Path

import numpy as np

from lanhar_core.data.importers.archive import read_file_capped
from lanhar_core.data.readers._common import check_placements, map_labels, wanted
from lanhar_core.data.registry import DatasetInfo
from lanhar_core.data.types import GRAVITY, Recording
from lanhar_core.errors import DataFormatError

RATE_HZ = 50.0
NATIVE_NAMES = {
    "PEN": "shoulder_pendulum",
    "ABD": "shoulder_abduction",
    "FEL": "shoulder_forward_elevation",
    "IR": "shoulder_internal_rotation",
    "ER": "shoulder_external_rotation",
    "TRAP": "trapezius_extension",
    "ROW": "upright_row",
}

INFO = DatasetInfo(
    name="seglearn_watch",
    title="Smartwatch shoulder physiotherapy exercises (Burns et al. 2018, seglearn bundle)",
    placement="wrist",
    native_rate_hz=RATE_HZ,
    label_map=NATIVE_NAMES,
    attribution=(
        "Burns, Leung, Hardisty, Whyne, Henry, McLachlin. Shoulder physiotherapy exercise recognition: machine "
        "learning the inertial signals from a smartwatch. Physiological Measurement 39(7), 2018."
    ),
    license="BSD-3-Clause (seglearn package)",
    conversions=(
        "acc: g * 9.80665 -> m/s^2 (median |acc| over all samples is 1.07 g, so g with gravity). "
        "gyro: rad/s as documented by seglearn, unchanged (median |gyro| 0.64 rad/s, 99.9th percentile 8 rad/s: "
        "plausible for rad/s, impossible as deg/s). Axes and signs unchanged (Android Wear watch). The relative "
        "sign of gyro vs acc axes could NOT be confirmed from the data (the kinematic check is inconclusive for "
        "these arm exercises). Left-arm series are not mirrored; the arm is in meta['side']."
    ),
    url="https://github.com/dmbee/seglearn",
    placements=("wrist",),
    options="subjects: subject numbers 1..10 (default all)",
)


def _bundle_file(path: Path) -> Path:
    if path.is_file():
        return path
    for name in ("watch_dataset.npy.gz", "watch_dataset.npy"):
        if (path / name).exists():
            return path / name
    raise DataFormatError(f"{path}: watch_dataset.npy(.gz) not found")


def _latin1_bytes(text: str, encoding: str) -> bytes:
    """What ``_codecs.encode`` does in a protocol-2 pickle of bytes, for latin-1 only."""
    if encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(f"byte string encoded as {encoding!r}, only latin-1 is accepted")
    return text.encode("latin-1")


_ALLOWED_GLOBALS = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("numpy.core.multiarray", "_reconstruct"): np.ndarray.__new__,
    ("numpy._core.multiarray", "_reconstruct"): np.ndarray.__new__,
    ("_codecs", "encode"): _latin1_bytes,
}
"""The only callables a bundle may reference; ``_reconstruct(cls, shape, dtype)`` is an empty ``ndarray``."""


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> object:
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refers to {module}.{name}, which is not a numpy array part; such a file could run code"
            ) from None


def _unpickle_bundle(raw: bytes, where: str) -> object:
    """The object stored in a ``.npy`` of dtype object, rebuilt by ``_SafeUnpickler``."""
    handle = io.BytesIO(raw)
    try:
        version = np.lib.format.read_magic(handle)
        reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = reader(handle)
    except ValueError as exc:
        raise DataFormatError(f"{where} is not a .npy file: {exc}") from exc
    if dtype != np.dtype(object) or shape != ():
        raise DataFormatError(f"{where}: expected one pickled dict (dtype object, shape ()), got dtype {dtype}, shape {shape}")
    try:
        array = _SafeUnpickler(handle).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as exc:
        raise DataFormatError(f"{where}: refused to load the bundle: {exc}") from exc
    return array.item() if isinstance(array, np.ndarray) else array


def _load(file: Path) -> dict:
    raw = read_file_capped(file, file.name)
    bundle = _unpickle_bundle(raw, file.name)
    if not isinstance(bundle, dict):
        raise DataFormatError(f"{file.name}: the bundle is a {type(bundle).__name__}, not a dict")
    missing = [k for k in ("X", "y", "y_labels", "subject", "side") if k not in bundle]
    if missing:
        raise DataFormatError(f"{file.name}: bundle lacks keys {missing}")
    return bundle


def read(
    path: Path,
    subjects: Collection[int | str] | None = None,
    placements: Collection[str] = ("wrist",),
) -> Iterator[Recording]:
    """Yield one ``Recording`` per exercise series in canonical units (see ``INFO.conversions``)."""
    check_placements(placements, INFO.placements, INFO.name)
    bundle = _load(_bundle_file(Path(path)))
    names = list(bundle["y_labels"])
    for index, (series, label, subject, side) in enumerate(zip(bundle["X"], bundle["y"], bundle["subject"], bundle["side"])):
        subject_id = str(int(subject))
        if not wanted(subject_id, subjects):
            continue
        series = np.asarray(series, dtype=np.float64)
        native = np.full(series.shape[0], names[int(label)], dtype=object)
        yield Recording(
            dataset=INFO.name,
            key=f"series{index:03d}",
            subject=subject_id,
            signals=np.hstack([series[:, :3] * GRAVITY, series[:, 3:6]]),
            rate_hz=RATE_HZ,
            labels=map_labels(native, INFO.label_map),
            native_labels=native,
            device="smartwatch",
            placement=INFO.placement,
            source_file="watch_dataset.npy",
            meta={"side": "right" if int(side) == 1 else "left"},
        )
