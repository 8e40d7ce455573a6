"""Where the models run: device selection, CPU threads and mixed precision (``[runtime]``).

Every torch entry point (stage 1, stage 2, text embedding, the supervised baselines,
recognition) asks ``select_device`` for its device instead of assuming the CPU, so one
setting moves the whole pipeline to a GPU. Arrays cross the boundary as numpy on the CPU:
callers never see device tensors. The CPU stays the tested default (CI has no GPU).
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

import torch
from torch import nn

from lanhar_core.config import RuntimeSettings
from lanhar_core.errors import ConfigError


def select_device(cfg: RuntimeSettings) -> torch.device:
    """The device ``cfg`` asks for, after applying its thread count.

    'cuda' without a usable GPU raises ``ConfigError`` naming the setting: a run the user
    meant for a GPU should not quietly take the CPU's hours instead.
    """
    if cfg.threads > 0 and torch.get_num_threads() != cfg.threads:
        torch.set_num_threads(cfg.threads)
    if cfg.device == "cpu":
        return torch.device("cpu")
    available = torch.cuda.is_available()
    if cfg.device == "cuda" and not available:
        raise ConfigError(
            f"[runtime] device = 'cuda' but torch {torch.__version__} sees no CUDA GPU "
            f"(built for CUDA {torch.version.cuda or 'none'}); set [runtime] device = 'auto' or 'cpu' "
            "(or LANHAR_RUNTIME_DEVICE=cpu), or install a CUDA build of torch on a machine with a GPU"
        )
    if cfg.device not in ("auto", "cuda"):
        raise ConfigError(f"runtime.device must be 'auto', 'cpu' or 'cuda', got {cfg.device!r}")
    return torch.device("cuda" if available else "cpu")


def module_device(module: nn.Module) -> torch.device:
    """The device holding ``module``'s parameters (the CPU for a module without any)."""
    for parameter in module.parameters():
        return parameter.device
    for buffer in module.buffers():
        return buffer.device
    return torch.device("cpu")


def training_autocast(device: torch.device, enabled: bool) -> AbstractContextManager[object]:
    """bfloat16 autocast for a training forward pass on a GPU; a no-op on the CPU or when disabled."""
    if enabled and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()
