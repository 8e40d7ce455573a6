"""Small helpers every reader uses: file lookup with optional ``.gz``, label mapping, subsets."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from pathlib import Path

import numpy as np

from lanhar_core.errors import DataFormatError


def find_file(folder: Path, name: str) -> Path:
    """``folder/name`` or its gzipped twin ``folder/name.gz`` (the shared copies are gzipped)."""
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.exists():
            return candidate
    raise DataFormatError(f"{name} (or {name}.gz) not found in {folder}")


def strip_gz(name: str) -> str:
    return name[:-3] if name.endswith(".gz") else name


def map_labels(native: np.ndarray, label_map: Mapping[str, str | None]) -> np.ndarray:
    """Canonical labels for an array of native labels (``None`` stays ``None``)."""
    native = np.asarray(native, dtype=object)
    out = np.empty(native.shape, dtype=object)
    for value in set(native.tolist()):
        out[native == value] = None if value is None else label_map.get(value)
    return out


def wanted(value: object, subset: Collection[object] | None) -> bool:
    """True when no subset was asked for or ``value`` (compared as text) is in it."""
    return subset is None or str(value) in {str(s) for s in subset}


def check_placements(requested: Iterable[str], available: Collection[str], dataset: str) -> tuple[str, ...]:
    """Validate a ``placements=`` option early, with the valid choices in the message."""
    chosen = tuple(requested)
    unknown = [p for p in chosen if p not in available]
    if unknown or not chosen:
        raise DataFormatError(
            f"{dataset}: unknown placement(s) {unknown or chosen}; choose from {', '.join(sorted(available))}"
        )
    return chosen
