"""Fetching the public datasets' official archives, resumably and with checksums.

Archives are large (MotionSense ~ 400 MB, DSADS ~ 160 MB) and university servers drop
connections, so a transfer writes to ``<file>.part`` and a later run continues from where
it stopped with an HTTP ``Range`` request (servers that ignore ``Range`` just send the whole
file again). The finished file is only renamed into place once its SHA-256 is right.

Checksums: no official SHA-256 is published for these archives and none could be
verified offline, so the first complete download of a URL records its checksum in
``<downloads>/checksums.json`` (trust on first use) and every later download of that URL
is verified against it; the result says which of the two happened. A caller that knows
the checksum passes ``expected_sha256``.

Plain ``urllib``: no extra dependency for something this small.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import shutil
import tarfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from lanhar_core.config import Settings
from lanhar_core.data import registry
from lanhar_core.errors import ChecksumMismatchError, DataFormatError, DownloadError
from lanhar_core.jobs import Progress

CHUNK_BYTES = 1 << 16
CHECKSUMS_FILE = "checksums.json"


@dataclass(frozen=True)
class DownloadResult:
    """Where the archive is, its checksum, and how the checksum was established."""

    path: Path
    sha256: str
    size: int
    resumed: bool
    checksum: str
    extracted_to: Path | None = None

    def summary(self) -> str:
        lines = [f"{self.path} ({self.size / 1e6:.1f} MB, sha256 {self.sha256})", f"checksum: {self.checksum}"]
        if self.resumed:
            lines.append("resumed an interrupted download")
        if self.extracted_to is not None:
            lines.append(f"extracted to {self.extracted_to}")
        return "\n".join(lines)


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def fetch(url: str, dest: Path, expected_sha256: str | None = None, progress: Progress | None = None,
          timeout_s: float = 60.0) -> tuple[str, bool]:
    """Download ``url`` to ``dest`` via ``dest.part``, resuming a previous partial transfer.

    Returns ``(sha256, resumed)``. Raises ``DownloadError`` when the transfer fails or is
    cut short (the partial file is kept for the next attempt) and ``ChecksumMismatchError``
    when the finished file has the wrong checksum (the partial file is deleted: it is bad).
    """
    progress = progress or Progress()
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    offset = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": "lanhar-studio", **({"Range": f"bytes={offset}-"} if offset else {})}
    resumed = False
    try:
        response = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout_s)
    except urllib.error.HTTPError as exc:
        if exc.code != 416 or not offset:
            raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}") from exc
        resumed = True  # 416: nothing left to send, the partial file is already complete
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DownloadError(
            f"cannot reach {url} ({reason}); check the network, or download the file by hand to {dest}"
        ) from exc
    else:
        with response:
            resumed = bool(offset) and response.status == 206
            start = offset if resumed else 0
            length = response.headers.get("Content-Length")
            total = start + int(length) if length is not None else None
            done = start
            progress.update(done, total, f"downloading {dest.name}")
            try:
                with part.open("ab" if resumed else "wb") as out:
                    while chunk := response.read(CHUNK_BYTES):
                        out.write(chunk)
                        done += len(chunk)
                        progress.update(done, total)
                        progress.check_cancelled()
            except (http.client.HTTPException, OSError) as exc:
                raise DownloadError(
                    f"download of {url} interrupted after {done / 1e6:.1f} MB ({exc!r}); "
                    "run the same command again to resume"
                ) from exc
            if total is not None and done < total:
                raise DownloadError(
                    f"download of {url} stopped at {done} of {total} bytes; run the same command again to resume"
                )
    digest = _sha256(part)
    if expected_sha256 and digest != expected_sha256.lower():
        part.unlink()
        raise ChecksumMismatchError(
            f"{dest.name}: SHA-256 is {digest}, expected {expected_sha256}; the file was deleted. "
            "Retry; if it persists the archive changed upstream or the transfer is being altered."
        )
    part.replace(dest)
    return digest, resumed


def _load_checksums(folder: Path) -> dict[str, str]:
    path = folder / CHECKSUMS_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _save_checksums(folder: Path, checksums: dict[str, str]) -> None:
    (folder / CHECKSUMS_FILE).write_text(json.dumps(checksums, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def extract(archive: Path, target: Path) -> Path:
    """Unpack a zip or tar archive into ``target``, refusing members that would escape it."""
    target.mkdir(parents=True, exist_ok=True)
    root = target.resolve()
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            names = zf.namelist()
            _check_members(names, root, archive)
            zf.extractall(target)
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tf:
            tf.extractall(target, filter="data")
    else:
        raise DataFormatError(f"{archive.name} is neither a zip nor a tar archive")
    return target


def _check_members(names: list[str], root: Path, archive: Path) -> None:
    for name in names:
        if not (root / name).resolve().is_relative_to(root) or PurePosixPath(name).is_absolute():
            raise DataFormatError(f"{archive.name}: member {name!r} would be written outside {root}; not extracting")


def download_dataset(settings: Settings, name: str, progress: Progress | None = None, url: str | None = None,
                     expected_sha256: str | None = None, unpack: bool = True) -> DownloadResult:
    """Fetch dataset ``name``'s official archive into ``settings.downloads_dir`` (and unpack it there).

    The unpacked folder is what ``lanhar data ingest NAME FOLDER`` reads.
    """
    info = registry.info(name)
    url = url or info.download_url
    if not url:
        raise DownloadError(
            f"{name} has no public download URL; get it from {info.url or 'its publisher'} and use `lanhar data ingest`"
        )
    folder = settings.downloads_dir
    folder.mkdir(parents=True, exist_ok=True)
    filename = urllib.parse.unquote(PurePosixPath(urllib.parse.urlparse(url).path).name) or f"{name}.download"
    dest = folder / filename
    checksums = _load_checksums(folder)
    expected = expected_sha256 or checksums.get(url)
    if dest.exists() and expected and _sha256(dest) == expected:
        digest, resumed, status = expected, False, "verified (already downloaded)"
    else:
        digest, resumed = fetch(url, dest, expected, progress)
        if expected:
            status = "verified against the expected SHA-256"
        else:
            status = f"recorded on first download in {folder / CHECKSUMS_FILE}; later downloads are verified against it"
            checksums[url] = digest
            _save_checksums(folder, checksums)
    extracted = None
    if unpack and (zipfile.is_zipfile(dest) or tarfile.is_tarfile(dest)):
        target = folder / name
        if target.exists():
            shutil.rmtree(target)
        extracted = extract(dest, target)
    return DownloadResult(dest, digest, dest.stat().st_size, resumed, status, extracted)
