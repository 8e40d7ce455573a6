"""Checkpoints and run bookkeeping shared by every training stage.

``save_checkpoint``/``load_checkpoint`` keep what a resumed run needs to continue as if it
had never stopped: module weights, optimizer state, epoch/step counters and the random
number generators. ``RunTracker`` wraps a training loop in a row of ``training_runs``:
created (or reopened, to resume) on entry, updated per epoch, closed as finished, failed
or interrupted on exit, with wall time accumulated across resumptions.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import random
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import torch
from torch import nn

import lanhar_core
from lanhar_core.config import Settings
from lanhar_core.errors import CancelledError, ModelError, RunStateError
from storage import runs as run_store
from storage.db import Store

CHECKPOINT_FILE = "checkpoint.pt"


@dataclass(frozen=True)
class CheckpointState:
    """Where a checkpoint left off; ``extra`` is whatever the trainer stored alongside."""

    epoch: int
    step: int
    extra: dict[str, Any]


def save_checkpoint(
    path: Path,
    modules: dict[str, nn.Module],
    optimizer: torch.optim.Optimizer,
    epoch: int,
    step: int,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write a checkpoint atomically (a crash mid-write leaves the previous one intact)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np_state = np.random.get_state()
    state = {
        "modules": {name: module.state_dict() for name, module in modules.items()},
        "optimizer": optimizer.state_dict(),
        "epoch": epoch,
        "step": step,
        "extra": extra or {},
        "rng": {
            "torch": torch.get_rng_state(),
            "numpy": (np_state[0], torch.from_numpy(np_state[1].copy()), *np_state[2:]),
            "python": random.getstate(),
        },
    }
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(
    path: Path,
    modules: dict[str, nn.Module],
    optimizer: torch.optim.Optimizer | None = None,
    restore_rng: bool = True,
) -> CheckpointState:
    """Restore modules (and optimizer, RNG) in place from ``save_checkpoint``'s file."""
    path = Path(path)
    if not path.exists():
        raise ModelError(f"checkpoint {path} does not exist; the run has no completed epoch to resume from")
    state = torch.load(path, map_location="cpu", weights_only=False)
    missing = set(modules) - set(state["modules"])
    if missing:
        raise ModelError(f"checkpoint {path} lacks module(s) {sorted(missing)}; it was written by another trainer")
    for name, module in modules.items():
        module.load_state_dict(state["modules"][name])
    if optimizer is not None:
        optimizer.load_state_dict(state["optimizer"])
    if restore_rng:
        rng = state["rng"]
        torch.set_rng_state(rng["torch"])
        np_state = rng["numpy"]
        np.random.set_state((np_state[0], np_state[1].numpy(), *np_state[2:]))
        random.setstate(rng["python"])
    return CheckpointState(epoch=int(state["epoch"]), step=int(state["step"]), extra=dict(state["extra"]))


_RUN_SECTIONS = {"text": ("text_encoder", "data"), "sensor": ("sensor_encoder", "data")}


def resume_settings(store: Store, settings: Settings, run_id: int) -> Settings:
    """``settings`` with the sections a run stored (its epochs, batch size, learning rates, window size...).

    A resumed run must continue the run it was, not one with today's configuration: a run
    started with 300 epochs and resumed with a default of 90 would otherwise stop early.
    A stage-1 run stores its ``text_encoder`` section flat, a stage-2 run stores named
    sections. Fields the run predates keep today's values; fields today's code no longer
    has are ignored.
    """
    record = run_store.get_run(store, run_id)
    config = record.config
    for section in _RUN_SECTIONS.get(record.kind, ()):
        stored = config.get(section)
        if stored is None and record.kind == "text" and section == "text_encoder":
            stored = config
        if not isinstance(stored, dict):
            continue
        current = getattr(settings, section)
        known = {f.name for f in dataclasses.fields(current)}
        values = {k: v for k, v in stored.items() if k in known}
        settings = dataclasses.replace(settings, **{section: dataclasses.replace(current, **values)})
    return settings


def code_version() -> str:
    """Package version, ``git describe`` when run from a checkout, and a hash of the sources.

    The source hash identifies the code even outside git or with uncommitted changes.
    """
    root = Path(lanhar_core.__file__).resolve().parent
    digest = hashlib.sha256()
    for file in sorted(root.rglob("*.py")):
        digest.update(file.relative_to(root).as_posix().encode())
        digest.update(file.read_bytes())
    parts = [_package_version(), f"src.{digest.hexdigest()[:12]}"]
    try:
        described = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=root.parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        parts.insert(1, f"git.{described}")
    except (OSError, subprocess.SubprocessError):
        pass
    return "+".join(parts)


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("lanhar-studio")
    except PackageNotFoundError:
        return "unknown"


@dataclass
class RunResult:
    """What a training function returns: the run's id and state, its artifacts and last metrics."""

    run_id: int
    status: str
    epochs: int
    steps: int
    wall_s: float
    artifacts: dict[str, Path] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    history: list[run_store.EpochRecord] = field(default_factory=list)


class RunTracker:
    """Context manager that records one training run (new or resumed) in the store.

    On a ``CancelledError`` or ``KeyboardInterrupt`` the run is marked ``interrupted`` (it
    can be resumed from its last checkpoint); on any other exception ``failed``; otherwise
    ``finished`` with ``summary``. Exceptions propagate.
    """

    def __init__(
        self,
        store: Store,
        kind: str,
        config: dict[str, Any],
        seed: int,
        data_selection: dict[str, Any],
        parent_run_id: int | None = None,
        resume_run_id: int | None = None,
    ) -> None:
        self.store = store
        if resume_run_id is not None:
            if run_store.get_run(store, resume_run_id).kind != kind:
                raise RunStateError(f"run {resume_run_id} is not a {kind!r} run; resume it with its own command")
            record = run_store.reopen_run(store, resume_run_id)
            self.run_id = record.id
            self.previous_wall_s = record.wall_s
        else:
            self.run_id = run_store.create_run(store, kind, config, seed, data_selection, code_version(), parent_run_id)
            self.previous_wall_s = 0.0
        self.summary: dict[str, Any] = {}
        self._started = time.monotonic()

    def wall_s(self) -> float:
        """Total wall time of the run, including earlier attempts it resumed."""
        return self.previous_wall_s + time.monotonic() - self._started

    def record_epoch(self, epoch: int, step: int, losses: dict[str, float], val_metrics: dict[str, Any]) -> None:
        run_store.record_epoch(self.store, self.run_id, epoch, step, losses, val_metrics, self.wall_s())

    def add_artifact(self, name: str, path: Path) -> None:
        run_store.add_artifact(self.store, self.run_id, name, path)

    def result(self) -> RunResult:
        record = run_store.get_run(self.store, self.run_id)
        history = run_store.epoch_records(self.store, self.run_id)
        return RunResult(
            run_id=record.id,
            status=record.status,
            epochs=record.epochs_done,
            steps=record.steps_done,
            wall_s=record.wall_s,
            artifacts=run_store.artifacts(self.store, self.run_id),
            metrics=history[-1].val_metrics if history else {},
            history=history,
        )

    def __enter__(self) -> RunTracker:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            run_store.finish_run(self.store, self.run_id, "finished", self.wall_s(), summary=self.summary)
        elif issubclass(exc_type, (CancelledError, KeyboardInterrupt)):
            run_store.finish_run(self.store, self.run_id, "interrupted", self.wall_s(), error=str(exc) or "interrupted")
        else:
            run_store.finish_run(self.store, self.run_id, "failed", self.wall_s(), error=f"{exc_type.__name__}: {exc}")
