"""The store when its file cannot be trusted or written: damaged, read-only, mistakes by callers;
and the CLI when its reader goes away (`lanhar jobs list | head`)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from lanhar_core.cli import main
from lanhar_core.config import Settings, load_settings
from lanhar_core.data.ingest import ingest_source
from lanhar_core.errors import InvalidValueError, LanharError, StoreError
from storage import interpretations as it
from storage import jobs as job_store
from storage.db import Store

from data_fixtures import make_source

ROOT = Path(__file__).resolve().parents[1]


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "lanhar_core.cli", *args]


def _unprivileged(command: list[str]) -> list[str]:
    """Run as 'nobody' when the tests run as root, for whom file permissions do not apply."""
    if os.geteuid() != 0:
        return command
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "HOME": tempfile.gettempdir()}


@pytest.fixture
def readable_home() -> Iterator[Path]:
    """A data directory others can read (pytest's tmp_path is private to its user)."""
    folder = Path(tempfile.mkdtemp(prefix="lanhar-ro-"))
    folder.chmod(0o755)
    yield folder / "home"
    for path in (folder, *folder.rglob("*")):
        if path.is_dir():
            path.chmod(stat.S_IRWXU)
    shutil.rmtree(folder)


def _filled_store(home: Path, tmp_path: Path) -> tuple[Settings, Store]:
    settings = load_settings(home)
    settings.ensure_dirs()
    store = Store(settings.db_path)
    ingest_source(store, settings, make_source(tmp_path))
    return settings, store


def test_read_only_store_can_be_read_but_not_written(readable_home: Path, tmp_path: Path) -> None:
    settings, _ = _filled_store(readable_home, tmp_path)
    for path in readable_home.rglob("*"):
        path.chmod(0o444 if path.is_file() else 0o555)
    readable_home.chmod(0o555)
    stats = subprocess.run(_unprivileged(_cli("--home", str(readable_home), "data", "stats")),
                           capture_output=True, text=True, env=_env(), timeout=120)
    assert stats.returncode == 0, stats.stderr
    assert "synth" in stats.stdout and "= total" in stats.stdout
    remove = subprocess.run(_unprivileged(_cli("--home", str(readable_home), "data", "remove", "synth")),
                            capture_output=True, text=True, env=_env(), timeout=120)
    assert remove.returncode == 2 and "is read-only" in remove.stderr and "Traceback" not in remove.stderr
    assert settings.db_path.stat().st_mode & 0o222 == 0


@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncated_store_is_detected_when_it_opens(settings: Settings, tmp_path: Path, keep: float,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    _, store = _filled_store(settings.home, tmp_path)
    data = settings.db_path.read_bytes()
    settings.db_path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(StoreError, match="is damaged .*backup"):
        Store(settings.db_path)
    assert main(["--home", str(settings.home), "data", "stats"]) == 2
    assert "is damaged" in capsys.readouterr().err


def test_intact_store_reopens(settings: Settings, tmp_path: Path) -> None:
    _, store = _filled_store(settings.home, tmp_path)
    assert Store(settings.db_path).schema_version() == store.schema_version()


def test_storage_mistakes_are_lanhar_errors(store: Store) -> None:
    with pytest.raises(InvalidValueError, match="cannot be empty"):
        it.edit_interpretation(store, 1, "  ", "me")
    with pytest.raises(LanharError, match="job status must be one of"):
        job_store.finish_job(store, 1, "exploded")
    assert issubclass(InvalidValueError, ValueError)


def test_jobs_list_into_a_closed_pipe_is_quiet(settings: Settings, store: Store) -> None:
    for _ in range(3):
        job_store.finish_job(store, job_store.create_job(store, "test", {}), "finished")
    process = subprocess.Popen(_cli("--home", str(settings.home), "jobs", "list"), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=_env())
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    err = process.stderr.read().decode()
    assert process.wait(timeout=120) == 0
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_corrupted_blocks_are_reported_as_a_damaged_store(settings: Settings, tmp_path: Path) -> None:
    """One flipped byte per 256 KB block in turn: opening or reading the windows either works
    (the block holds nothing they need) or says the store is damaged; never a DuckDB error."""
    from storage import datasets as dataset_store

    _filled_store(settings.home, tmp_path)
    intact = settings.db_path.read_bytes()
    when_found = []
    for block in range((len(intact) - 3 * 4096) // 262144):
        raw = bytearray(intact)
        raw[3 * 4096 + block * 262144 + 1000] ^= 0xFF
        settings.db_path.write_bytes(bytes(raw))
        stage = "open"
        try:
            store = Store(settings.db_path)
            stage = "query"
            dataset_store.load_windows(store, dataset="synth")
        except StoreError as exc:
            assert "is damaged" in str(exc) and "backup" in str(exc)
            when_found.append(stage)
    assert "query" in when_found and "open" in when_found
