"""One view over a folder, a zip, a tar archive or a single file.

Phone apps export zips, DSADS is shipped as a tar.xz, users unpack things into folders or
hand over one CSV: readers ask for members by name and never care which of these they got.
Members are read lazily, one at a time, so a 400 MB archive is never unpacked to disk or
held in memory.

Every member is decompressed in chunks against ``ExpansionLimits`` (``data.max_expanded_mb``
and ``data.max_compression_ratio``): a zip bomb (a 1 MB zip of one 400 MB CSV) is refused
after reading at most the limit, naming the member and the limit, instead of taking
gigabytes of memory in the CSV parser. The sizes a zip declares are not trusted; the
bytes actually produced are counted. Damaged archives (bad CRC, truncated, encrypted)
raise ``DataFormatError`` naming the member.
"""

from __future__ import annotations

import gzip
import io
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from lanhar_core.config import DataSettings
from lanhar_core.errors import DataFormatError, FileTooLargeError

_CHUNK = 1 << 20
_RATIO_MIN_BYTES = 1 << 20
"""The ratio check starts once a member has expanded to 1 MB: tiny files may compress well."""

_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, OSError)
"""What ``zipfile`` raises on a bad CRC, a truncated stream, an unsupported method or encryption."""


@dataclass(frozen=True)
class ExpansionLimits:
    """Caps on what one archive member may expand to (see the module docstring)."""

    max_member_bytes: int
    max_ratio: float

    @classmethod
    def from_settings(cls, data: DataSettings) -> ExpansionLimits:
        return cls(int(data.max_expanded_mb * 1024 * 1024), float(data.max_compression_ratio))


def _limits(limits: ExpansionLimits | None) -> ExpansionLimits:
    return limits if limits is not None else ExpansionLimits.from_settings(DataSettings())


def _check_expansion(total: int, member: str, compressed_size: int | None, limits: ExpansionLimits) -> None:
    """Refuse ``total`` expanded bytes of ``member`` over the size or the compression-ratio limit."""
    if total > limits.max_member_bytes:
        raise FileTooLargeError(
            f"{member} expands to more than {limits.max_member_bytes / 1024 / 1024:.3g} MB, the limit per archive "
            "member; split the recording or raise data.max_expanded_mb (LANHAR_DATA_MAX_EXPANDED_MB)"
        )
    _check_ratio(total, member, compressed_size, limits)


def _check_ratio(total: int, member: str, compressed_size: int | None, limits: ExpansionLimits) -> None:
    """Refuse ``total`` expanded bytes more than ``max_ratio`` times ``compressed_size``.

    A tar is compressed as one stream, so its members are measured against the whole archive
    (each alone, and all read so far together)."""
    if compressed_size and total >= _RATIO_MIN_BYTES and total > limits.max_ratio * compressed_size:
        raise FileTooLargeError(
            f"{member} expands more than {limits.max_ratio:g} times its compressed size ({compressed_size} bytes), "
            "the limit per archive member (a zip bomb?); raise data.max_compression_ratio "
            "(LANHAR_DATA_MAX_COMPRESSION_RATIO) if the file is genuine"
        )


def _read_capped(handle: IO[bytes], member: str, compressed_size: int | None, limits: ExpansionLimits) -> bytes:
    """All of ``handle``, refused as soon as it passes the size or the compression-ratio limit."""
    parts: list[bytes] = []
    total = 0
    while True:
        chunk = handle.read(_CHUNK)
        if not chunk:
            return b"".join(parts)
        total += len(chunk)
        _check_expansion(total, member, compressed_size, limits)
        parts.append(chunk)


def gunzip_capped(data: bytes, member: str, limits: ExpansionLimits | None = None) -> bytes:
    """``gzip.decompress`` under the expansion limits, with a damaged stream as a ``DataFormatError``."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as handle:
            return _read_capped(handle, member, len(data), _limits(limits))
    except (OSError, EOFError, zlib.error) as exc:
        raise DataFormatError(f"{member} is not a readable gzip file: {exc}") from exc


def read_file_capped(path: Path, where: str, limits: ExpansionLimits | None = None) -> bytes:
    """A file's bytes, gunzipped under the limits when its name ends in ``.gz``."""
    data = path.read_bytes()
    return gunzip_capped(data, where, limits) if path.name.endswith(".gz") else data


def _is_tar(path: Path) -> bool:
    return path.is_file() and any(path.name.endswith(ext) for ext in (".tar", ".tar.xz", ".txz", ".tar.gz", ".tgz", ".tar.bz2"))


def is_zip(path: Path) -> bool:
    """A readable zip; a file named .zip that is not one (truncated, renamed) is an error, not a single file."""
    if path.is_file() and zipfile.is_zipfile(path):
        return True
    if path.is_file() and path.name.lower().endswith(".zip"):
        raise DataFormatError(f"{path.name} is not a readable zip archive (truncated or damaged?); export or copy it again")
    return False


def _open_zip(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except _ZIP_ERRORS as exc:
        raise DataFormatError(f"{path.name} is not a readable zip archive: {exc}") from exc


def _zip_members(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    return [i for i in archive.infolist() if not i.is_dir() and not i.filename.startswith("__MACOSX/")]


def _read_zip_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, where: str, limits: ExpansionLimits) -> bytes:
    """One member, refused up front when its declared size breaks a limit (a zip may understate
    it, so the bytes produced are counted as well)."""
    _check_expansion(info.file_size, where, info.compress_size, limits)
    try:
        with archive.open(info) as handle:
            return _read_capped(handle, where, info.compress_size, limits)
    except _ZIP_ERRORS as exc:
        raise DataFormatError(f"{where}: the archive member is damaged or cannot be read ({exc}); export it again") from exc


def iter_members(path: Path, limits: ExpansionLimits | None = None) -> Iterator[tuple[str, bytes]]:
    """``(posix relative name, content)`` for every file under ``path`` in archive order.

    ``.gz`` members are not decompressed here (readers decide, by name).
    """
    limits = _limits(limits)
    if path.is_dir():
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            yield file.relative_to(path).as_posix(), file.read_bytes()
    elif is_zip(path):
        with _open_zip(path) as archive:
            for info in _zip_members(archive):
                yield info.filename, _read_zip_member(archive, info, f"{path.name}/{info.filename}", limits)
    elif _is_tar(path):
        archive_size = path.stat().st_size
        expanded = 0
        try:
            with tarfile.open(path, "r:*") as archive:
                for member in archive:
                    if member.isfile():
                        handle = archive.extractfile(member)
                        if handle is not None:
                            name = member.name.lstrip("./")
                            where = f"{path.name}/{name}"
                            data = _read_capped(handle, where, archive_size, limits)
                            expanded += len(data)
                            _check_ratio(expanded, f"{where} (with the members before it)", archive_size, limits)
                            yield name, data
        except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
            raise DataFormatError(f"{path.name} is not a readable tar archive: {exc}") from exc
    elif path.is_file():
        yield path.name, path.read_bytes()
    else:
        raise DataFormatError(f"{path} does not exist; give a folder, a zip, a tar archive or a single file")


def list_names(path: Path) -> list[str]:
    """Member names without reading their contents (folders, zips and single files; tars are read once)."""
    if path.is_dir():
        return sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file())
    if is_zip(path):
        with _open_zip(path) as archive:
            return [i.filename for i in _zip_members(archive)]
    if path.is_file() and not _is_tar(path):
        return [path.name]
    return [name for name, _ in iter_members(path)]


def read_member(path: Path, name: str, limits: ExpansionLimits | None = None) -> bytes:
    """The content of one member of a folder, zip or single file, gunzipped when the name ends in ``.gz``."""
    limits = _limits(limits)
    if path.is_dir():
        data = (path / name).read_bytes()
    elif is_zip(path):
        with _open_zip(path) as archive:
            try:
                info = archive.getinfo(name)
            except KeyError as exc:
                raise DataFormatError(f"{path.name} has no member {name!r}") from exc
            data = _read_zip_member(archive, info, f"{path.name}/{name}", limits)
    elif _is_tar(path):
        found = next((content for member, content in iter_members(path, limits) if member == name), None)
        if found is None:
            raise DataFormatError(f"{path.name} has no member {name!r}")
        data = found
    else:
        data = path.read_bytes()
    return gunzip_capped(data, name, limits) if name.endswith(".gz") else data
