"""Downloads against a local HTTP server that supports Range and can cut a transfer short."""

from __future__ import annotations

import hashlib
import io
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from lanhar_core.config import Settings
from lanhar_core.data.download import download_dataset, extract, fetch
from lanhar_core.errors import ChecksumMismatchError, DataFormatError, DownloadError

PAYLOAD = bytes(range(256)) * 4000  # ~1 MB


class _Server:
    """Serves ``files`` by path; ``cut_next`` makes the next response stop after that many bytes."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {"/data.bin": PAYLOAD}
        self.cut_next: int | None = None
        self.ranges: list[str | None] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                body = outer.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                header = self.headers.get("Range")
                outer.ranges.append(header)
                start = int(header.split("=")[1].split("-")[0]) if header else 0
                if start >= len(body):
                    self.send_response(416)
                    self.end_headers()
                    return
                self.send_response(206 if header else 200)
                if header:
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                chunk = body[start:]
                if outer.cut_next is not None:
                    chunk, outer.cut_next = chunk[: outer.cut_next], None
                    self.wfile.write(chunk)
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(chunk)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server()
    srv.thread.start()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


def test_plain_download_with_expected_checksum(server: _Server, tmp_path: Path) -> None:
    digest, resumed = fetch(f"{server.url}/data.bin", tmp_path / "data.bin", hashlib.sha256(PAYLOAD).hexdigest())
    assert (tmp_path / "data.bin").read_bytes() == PAYLOAD and not resumed
    assert digest == hashlib.sha256(PAYLOAD).hexdigest()
    assert not (tmp_path / "data.bin.part").exists()


def test_interrupted_transfer_resumes_with_range(server: _Server, tmp_path: Path) -> None:
    dest = tmp_path / "data.bin"
    server.cut_next = 300_000
    with pytest.raises(DownloadError, match="run the same command again to resume"):
        fetch(f"{server.url}/data.bin", dest)
    assert (tmp_path / "data.bin.part").stat().st_size == 300_000 and not dest.exists()
    digest, resumed = fetch(f"{server.url}/data.bin", dest, hashlib.sha256(PAYLOAD).hexdigest())
    assert resumed and dest.read_bytes() == PAYLOAD
    assert server.ranges == [None, "bytes=300000-"]


def test_checksum_mismatch_is_an_error_and_discards_the_file(server: _Server, tmp_path: Path) -> None:
    with pytest.raises(ChecksumMismatchError, match="expected 0000"):
        fetch(f"{server.url}/data.bin", tmp_path / "data.bin", "0" * 64)
    assert not (tmp_path / "data.bin").exists() and not (tmp_path / "data.bin.part").exists()


def test_http_errors_and_unreachable_hosts(server: _Server, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="HTTP 404"):
        fetch(f"{server.url}/missing.zip", tmp_path / "missing.zip")
    with pytest.raises(DownloadError, match="cannot reach"):
        fetch("http://127.0.0.1:9/nothing.zip", tmp_path / "nothing.zip", timeout_s=2)


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("RawData/labels.txt", "1 1 5 1 250\n")
    return buffer.getvalue()


def test_download_dataset_records_then_verifies_the_checksum_and_unpacks(
    server: _Server, settings: Settings
) -> None:
    server.files["/hapt.zip"] = _zip_bytes()
    first = download_dataset(settings, "hapt", url=f"{server.url}/hapt.zip")
    assert "recorded on first download" in first.checksum
    assert (first.extracted_to / "RawData" / "labels.txt").exists()
    second = download_dataset(settings, "hapt", url=f"{server.url}/hapt.zip")
    assert second.checksum.startswith("verified") and second.sha256 == first.sha256
    server.files["/hapt.zip"] = _zip_bytes() + b"tampered"
    (settings.downloads_dir / "hapt.zip").unlink()
    with pytest.raises(ChecksumMismatchError):
        download_dataset(settings, "hapt", url=f"{server.url}/hapt.zip")


def test_dataset_without_a_url_says_where_to_get_it(settings: Settings) -> None:
    from lanhar_core.data import registry

    without = [n for n in registry.names() if not registry.info(n).download_url]
    if not without:
        pytest.skip("every registered dataset has a download URL")
    with pytest.raises(DownloadError, match="no public download URL"):
        download_dataset(settings, without[0])


def test_extract_refuses_path_traversal(tmp_path: Path) -> None:
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../outside.txt", "x")
    with pytest.raises(DataFormatError, match="outside"):
        extract(archive, tmp_path / "out")
    assert not (tmp_path / "outside.txt").exists()
