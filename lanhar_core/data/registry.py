"""Known dataset readers and their metadata.

Each reader is a module in ``lanhar_core.data.readers`` exposing ``INFO`` and
``read(path, **options)``. The registry imports a reader only when it is asked for, so
that listing datasets never pays for scipy/tarfile imports of readers nobody uses.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from lanhar_core.data.types import Recording
from lanhar_core.errors import UnknownDatasetError


@dataclass(frozen=True)
class DatasetInfo:
    """What a user and the store need to know about a dataset besides its signals.

    ``label_map`` maps the dataset's own label names to canonical vocabulary names
    (``None`` = deliberately unlabeled). ``conversions`` states every unit, sign and axis
    conversion the reader applies, so a reviewer can check it against the source.
    ``native_rate_hz`` is ``None`` when the rate varies per device or file.
    """

    name: str
    title: str
    placement: str
    native_rate_hz: float | None
    label_map: Mapping[str, str | None]
    attribution: str
    license: str
    conversions: str
    url: str = ""
    download_url: str = ""
    placements: tuple[str, ...] = field(default=())
    options: str = ""


class ReaderModule(Protocol):
    """The interface every reader module satisfies."""

    INFO: DatasetInfo

    def read(self, path: Path, **options: Any) -> Iterator[Recording]: ...


_READERS: dict[str, str] = {
    "hapt": "lanhar_core.data.readers.hapt",
    "motionsense": "lanhar_core.data.readers.motionsense",
    "uschad": "lanhar_core.data.readers.uschad",
    "dsads": "lanhar_core.data.readers.dsads",
    "seglearn_watch": "lanhar_core.data.readers.seglearn_watch",
    "basicmotions": "lanhar_core.data.readers.basicmotions",
    "hhar": "lanhar_core.data.readers.hhar",
    "shoaib": "lanhar_core.data.readers.shoaib",
    "pamap2": "lanhar_core.data.readers.pamap2",
}


def names() -> list[str]:
    """Names of every dataset with a built-in reader, sorted."""
    return sorted(_READERS)


def get(name: str) -> ReaderModule:
    """The reader module for ``name``; raises ``UnknownDatasetError`` listing the known names."""
    module_name = _READERS.get(name.strip().lower())
    if module_name is None:
        raise UnknownDatasetError(
            f"no built-in reader for dataset {name!r}; known: {', '.join(names())}. "
            "Other data can be brought in with the generic CSV/Parquet importer."
        )
    return importlib.import_module(module_name)  # type: ignore[return-value]


def info(name: str) -> DatasetInfo:
    """Shortcut for ``get(name).INFO``."""
    return get(name).INFO
