"""``[runtime]``: device selection, threads, and mixed precision only where it is safe."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lanhar_core.config import RuntimeSettings, load_settings, with_overrides
from lanhar_core.errors import ConfigError
from lanhar_core.models.stage2 import AlignmentData, fit_stage2
from lanhar_core.runtime import select_device, training_autocast


def test_cuda_requested_gives_a_gpu_or_a_message_naming_the_setting() -> None:
    if torch.cuda.is_available():
        assert select_device(RuntimeSettings(device="cuda")).type == "cuda"
        return
    with pytest.raises(ConfigError, match=r"\[runtime\] device = 'cuda'.*LANHAR_RUNTIME_DEVICE=cpu"):
        select_device(RuntimeSettings(device="cuda"))
    assert select_device(RuntimeSettings(device="auto")).type == "cpu"


def test_training_refuses_a_missing_gpu_before_any_epoch(monkeypatch: pytest.MonkeyPatch, home) -> None:
    monkeypatch.setenv("LANHAR_RUNTIME_DEVICE", "cuda")
    settings = with_overrides(load_settings(home), "sensor_encoder", epochs=1, batch_size=8)
    rng = np.random.default_rng(0)
    data = AlignmentData(rng.normal(size=(8, 120, 6)).astype(np.float32), np.arange(8) % 4,
                         rng.normal(size=(4, 16)).astype(np.float32), 20.0)
    if torch.cuda.is_available():
        assert fit_stage2(data, settings, 0, 1, True).recognizer.encoder.logit_scale.device.type == "cuda"
        return
    with pytest.raises(ConfigError, match="runtime"):
        fit_stage2(data, settings, 0, 1, True)


def test_device_and_threads_are_validated_and_applied(monkeypatch: pytest.MonkeyPatch, home) -> None:
    monkeypatch.setenv("LANHAR_RUNTIME_DEVICE", "gpu")
    with pytest.raises(ConfigError, match="runtime.device"):
        load_settings(home)
    monkeypatch.setenv("LANHAR_RUNTIME_DEVICE", "cpu")
    monkeypatch.setenv("LANHAR_RUNTIME_THREADS", "1")
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        assert select_device(load_settings(home).runtime).type == "cpu"
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_mixed_precision_never_applies_on_the_cpu() -> None:
    with training_autocast(torch.device("cpu"), True):
        y = torch.nn.Linear(4, 4)(torch.ones(2, 4))
    assert y.dtype == torch.float32
