"""Checkpoints shared by every training stage (no store: the recorded run is ``lanhar_core.tracking``).

``save_checkpoint``/``load_checkpoint`` keep what a resumed run needs to continue as if it
had never stopped: module weights, optimizer state, epoch/step counters and the random
number generators. ``code_version`` identifies the code a run was trained with.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import random
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch import nn

import lanhar_core
from lanhar_core.errors import ModelError

CHECKPOINT_FILE = "checkpoint.pt"


@dataclass(frozen=True)
class CheckpointState:
    """Where a checkpoint left off; ``extra`` is whatever the trainer stored alongside."""

    epoch: int
    step: int
    extra: dict[str, Any]


def save_checkpoint(
    path: Path,
    modules: Mapping[str, nn.Module],
    optimizer: torch.optim.Optimizer,
    epoch: int,
    step: int,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write a checkpoint atomically (a crash mid-write leaves the previous one intact)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np_state = cast(tuple[Any, ...], np.random.get_state())
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
    modules: Mapping[str, nn.Module],
    optimizer: torch.optim.Optimizer | None = None,
    restore_rng: bool = True,
) -> CheckpointState:
    """Restore modules (and optimizer, RNG) in place from ``save_checkpoint``'s file."""
    path = Path(path)
    if not path.exists():
        raise ModelError(f"checkpoint {path} does not exist; the run has no completed epoch to resume from")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError) as exc:
        raise ModelError(
            f"checkpoint {path} cannot be loaded (truncated, not written by LanHAR Studio, or holding objects other "
            f"than tensors and plain values, which are refused because they could run code): {exc}"
        ) from exc
    if not isinstance(state, dict) or not isinstance(state.get("modules"), dict):
        raise ModelError(f"checkpoint {path} is not a LanHAR Studio checkpoint (no 'modules' entry)")
    missing = set(modules) - set(state["modules"])
    if missing:
        raise ModelError(f"checkpoint {path} lacks module(s) {sorted(missing)}; it was written by another trainer")
    try:
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
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise ModelError(f"checkpoint {path} does not match this run's model or was damaged: {exc!r}") from exc


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
