"""One view over a folder, a zip or a tar archive.

Phone apps export zips, DSADS is shipped as a tar.xz, users unpack things into folders:
readers ask for members by name and never care which of these they got. Members are read
lazily, one at a time, so a 400 MB archive is never unpacked to disk or held in memory.
"""

from __future__ import annotations

import gzip
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

from lanhar_core.errors import DataFormatError


def _is_tar(path: Path) -> bool:
    return path.is_file() and any(path.name.endswith(ext) for ext in (".tar", ".tar.xz", ".txz", ".tar.gz", ".tgz", ".tar.bz2"))


def iter_members(path: Path) -> Iterator[tuple[str, bytes]]:
    """``(posix relative name, content)`` for every file under ``path`` in archive order.

    ``.gz`` members are not decompressed here (readers decide, by name).
    """
    if path.is_dir():
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            yield file.relative_to(path).as_posix(), file.read_bytes()
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if not info.is_dir() and not info.filename.startswith("__MACOSX/"):
                    yield info.filename, archive.read(info)
    elif _is_tar(path):
        try:
            with tarfile.open(path, "r:*") as archive:
                for member in archive:
                    if member.isfile():
                        handle = archive.extractfile(member)
                        if handle is not None:
                            yield member.name.lstrip("./"), handle.read()
        except (tarfile.TarError, EOFError) as exc:
            raise DataFormatError(f"{path.name} is not a readable tar archive: {exc}") from exc
    else:
        raise DataFormatError(f"{path} is neither a folder, a zip nor a tar archive")


def list_names(path: Path) -> list[str]:
    """Member names without reading their contents (folders and zips only; tars are read once)."""
    if path.is_dir():
        return sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file())
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            return [i.filename for i in archive.infolist() if not i.is_dir() and not i.filename.startswith("__MACOSX/")]
    return [name for name, _ in iter_members(path)]


def read_member(path: Path, name: str) -> bytes:
    """The content of one member of a folder or zip, gunzipped when the name ends in ``.gz``."""
    if path.is_dir():
        data = (path / name).read_bytes()
    else:
        with zipfile.ZipFile(path) as archive:
            data = archive.read(name)
    return gzip.decompress(data) if name.endswith(".gz") else data
