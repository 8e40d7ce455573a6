"""Turning an uploaded phone recording into canonical recordings, through the library's importers.

Uploads are written to a temporary folder under their own name (the importers read zip
archives and CSV/Parquet files from disk, and name them in their error messages) and
removed right after import. Nothing is written to the store, so a bad upload cannot cost
anything already stored. The size limit is ``data.max_upload_mb``, checked before a byte
is parsed.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pandas as pd
import pyarrow.parquet as pq

from lanhar_core.data.importers.archive import ExpansionLimits, list_names, read_member
from lanhar_core.data.importers.generic import TABLE_SUFFIXES, ImportSpec, import_table
from lanhar_core.data.importers.phyphox import import_phyphox
from lanhar_core.data.importers.sensorlogger import import_sensorlogger
from lanhar_core.data.importers.tables import header_line, sniff_separator
from lanhar_core.data.types import Recording
from lanhar_core.errors import DataFormatError, FileTooLargeError

SENSOR_LOGGER, PHYPHOX, GENERIC = "Sensor Logger export", "phyphox export", "Generic CSV / Parquet"
PLATFORM_FROM_METADATA = "from Metadata.csv"
PLATFORMS = (PLATFORM_FROM_METADATA, "ios", "android")
"""The app's platform choices for a Sensor Logger upload (only exports without Metadata.csv need one)."""
FORMATS = {
    SENSOR_LOGGER: ["zip"],
    PHYPHOX: ["zip", "csv"],
    GENERIC: ["csv", "txt", "tsv", "parquet"],
}
T = TypeVar("T")
UPLOAD_DATASET = "upload"
"""Dataset name given to uploaded recordings (they are recognised, never stored)."""


def check_size(name: str, size: int, max_upload_mb: float) -> None:
    """Refuse an upload over the configured limit with the same message ingestion uses."""
    if size > max_upload_mb * 1024 * 1024:
        raise FileTooLargeError(
            f"{name} is {size / 1024 / 1024:.1f} MB, over the {max_upload_mb:g} MB limit; "
            "split it or raise data.max_upload_mb (LANHAR_DATA_MAX_UPLOAD_MB)"
        )


def with_upload(name: str, data: bytes, read: Callable[[Path], T]) -> T:
    """Write the upload to a temporary file, run ``read`` on it, and remove the file again."""
    with tempfile.TemporaryDirectory(prefix="lanhar-upload-") as folder:
        path = Path(folder) / Path(name).name
        path.write_bytes(data)
        return read(path)


def first_table(name: str, data: bytes, limits: ExpansionLimits | None = None) -> tuple[str, bytes]:
    """The upload itself, or for a zip of tables its first table (gunzipped), to fill the column-mapping form."""
    if not name.lower().endswith(".zip"):
        return name, data

    def first(path: Path) -> tuple[str, bytes]:
        tables = [n for n in list_names(path) if n.lower().endswith(TABLE_SUFFIXES)]
        if not tables:
            raise DataFormatError(f"{name}: the archive holds no table ({', '.join(TABLE_SUFFIXES)})")
        return tables[0].removesuffix(".gz"), read_member(path, tables[0], limits)

    return with_upload(name, data, first)


def table_columns(name: str, data: bytes) -> list[str]:
    """Column names of an uploaded table, for the column-mapping form."""
    if name.lower().endswith(".parquet"):
        return with_upload(name, data, lambda path: list(pq.read_schema(path).names))
    header = header_line(data)
    return [c.strip().strip('"') for c in header.split(sniff_separator(header))] if header else []


def read_table_head(name: str, data: bytes, rows: int) -> pd.DataFrame:
    """The first ``rows`` rows of an uploaded table, for guessing its units and rate."""
    if name.lower().endswith(".parquet"):
        return with_upload(name, data, lambda path: pq.read_table(path).slice(0, rows).to_pandas())
    header = data[:65536].decode("utf-8", errors="replace").splitlines()[0] if data else ""
    try:
        return pd.read_csv(io.BytesIO(data), sep=sniff_separator(header), nrows=rows)
    except (ValueError, pd.errors.ParserError) as exc:
        raise DataFormatError(f"{name}: cannot read it as a table ({exc})") from exc


def import_upload(
    fmt: str,
    name: str,
    data: bytes,
    max_upload_mb: float,
    spec: ImportSpec | None = None,
    subject: str = "me",
    limits: ExpansionLimits | None = None,
    platform: str | None = None,
    placement: str = "",
) -> list[Recording]:
    """Recordings of one upload in canonical units; raises the importers' ``LanharError`` on bad input.

    ``limits`` caps what archive members may expand to (default: ``DataSettings``'s);
    ``platform`` ('ios'/'android') is for Sensor Logger exports without ``Metadata.csv``;
    ``placement`` (where the phone was worn) is recorded on phone exports, a generic table
    takes it from ``spec``.
    """
    check_size(name, len(data), max_upload_mb)
    max_bytes = int(max_upload_mb * 1024 * 1024)
    if fmt == SENSOR_LOGGER:
        return with_upload(name, data, lambda p: import_sensorlogger(
            p, UPLOAD_DATASET, subject=subject, placement=placement, max_bytes=max_bytes, limits=limits, platform=platform
        ))
    if fmt == PHYPHOX:
        return with_upload(name, data, lambda p: import_phyphox(
            p, UPLOAD_DATASET, subject=subject, placement=placement, max_bytes=max_bytes, limits=limits))
    if spec is None:
        raise ValueError("a generic table needs a column mapping (ImportSpec)")
    return with_upload(name, data, lambda p: import_table(p, spec, max_bytes=max_bytes, limits=limits))
