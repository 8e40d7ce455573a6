"""Shared fixtures: a throwaway LANHAR_HOME per test and the location of the real datasets."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from lanhar_core.config import Settings, load_settings
from storage.db import Store

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty data directory, also exported as LANHAR_HOME for code that reads the env."""
    path = tmp_path / "lanhar_home"
    monkeypatch.setenv("LANHAR_HOME", str(path))
    return path


@pytest.fixture
def settings(home: Path) -> Settings:
    s = load_settings(home)
    s.ensure_dirs()
    return s


@pytest.fixture
def store(settings: Settings) -> Store:
    return Store(settings.db_path, lock_timeout_s=1.0)


def shared_dataset(name: str) -> Path:
    """Path of a real dataset in ../shared/data, or skip the test saying why."""
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"real dataset {name!r} not present at {path} (only the full checkout with shared/ has it)")
    return path


@pytest.fixture
def one_thread():
    """Torch on one thread: tiny models train several times faster so than on two contended threads."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
