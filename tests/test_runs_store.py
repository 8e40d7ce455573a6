"""Training-run records, checkpoints and the run tracker shared by both training stages."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from lanhar_core.errors import CancelledError, ModelError, NotFoundError, RunStateError
from lanhar_core.models.checkpoint import code_version, load_checkpoint, save_checkpoint
from lanhar_core.tracking import RunTracker
from storage import runs
from storage.db import Store


def test_run_lifecycle_and_epochs(store: Store, tmp_path: Path) -> None:
    run_id = runs.create_run(store, "text", {"lr": 2e-5}, 7, {"sources": ["hapt"]}, "v1")
    run = runs.get_run(store, run_id)
    assert (run.status, run.kind, run.seed, run.config, run.data_selection) == (
        "running", "text", 7, {"lr": 2e-5}, {"sources": ["hapt"]}
    )
    runs.record_epoch(store, run_id, 1, 10, {"align": 1.5}, {"val_accuracy": 0.5}, 12.0)
    runs.record_epoch(store, run_id, 1, 10, {"align": 1.2}, {"val_accuracy": 0.6}, 13.0)
    runs.record_epoch(store, run_id, 2, 20, {"align": 1.0}, {"val_accuracy": 0.7}, 25.0)
    history = runs.epoch_records(store, run_id)
    assert [(e.epoch, e.losses["align"]) for e in history] == [(1, 1.2), (2, 1.0)]
    artifact = tmp_path / "model"
    artifact.mkdir()
    (artifact / "weights.bin").write_bytes(b"x" * 10)
    runs.add_artifact(store, run_id, "text_encoder", artifact)
    runs.finish_run(store, run_id, "finished", 26.0, summary={"steps": 20})
    run = runs.get_run(store, run_id)
    assert (run.status, run.epochs_done, run.steps_done, run.wall_s, run.summary) == ("finished", 2, 20, 26.0, {"steps": 20})
    assert runs.artifacts(store, run_id) == {"text_encoder": artifact}
    assert runs.latest_run(store, "text").id == run_id
    assert runs.latest_run(store, "sensor") is None
    child = runs.create_run(store, "sensor", {}, 0, {}, "v1", parent_run_id=run_id)
    assert runs.get_run(store, child).parent_run_id == run_id
    assert [r.id for r in runs.list_runs(store)] == [child, run_id]
    assert [r.id for r in runs.list_runs(store, kind="text")] == [run_id]


def test_resume_rules(store: Store) -> None:
    run_id = runs.create_run(store, "text", {}, 0, {}, "v1")
    with pytest.raises(RunStateError, match="still running"):
        _reopen_from_other_live_process(store, run_id)
    runs.finish_run(store, run_id, "interrupted", 5.0, error="cancelled")
    assert runs.reopen_run(store, run_id).status == "running"
    runs.finish_run(store, run_id, "finished", 6.0)
    with pytest.raises(RunStateError, match="already finished"):
        runs.reopen_run(store, run_id)
    with pytest.raises(NotFoundError):
        runs.get_run(store, 999)
    with pytest.raises(NotFoundError):
        runs.create_run(store, "sensor", {}, 0, {}, "v1", parent_run_id=999)


def _reopen_from_other_live_process(store: Store, run_id: int) -> None:
    """Pretend the run belongs to another live process (pid 1 always exists)."""
    with store.connect() as conn:
        conn.execute("UPDATE training_runs SET pid = 1 WHERE id = ?", [run_id])
    runs.reopen_run(store, run_id)


def test_stale_running_runs_become_interrupted(store: Store) -> None:
    run_id = runs.create_run(store, "text", {}, 0, {}, "v1")
    with store.connect() as conn:
        conn.execute("UPDATE training_runs SET pid = 2147483000 WHERE id = ?", [run_id])
    assert runs.mark_stale_runs_interrupted(store) == 1
    assert runs.get_run(store, run_id).status == "interrupted"


def test_tracker_statuses_and_wall_time(store: Store) -> None:
    with RunTracker(store, "text", {"a": 1}, 0, {"sources": []}) as run:
        run.record_epoch(1, 3, {"align": 1.0}, {})
        run.summary = {"ok": True}
    result = run.result()
    assert (result.status, result.epochs, result.steps) == ("finished", 1, 3)
    assert runs.get_run(store, result.run_id).code_version == code_version()

    with pytest.raises(CancelledError):
        with RunTracker(store, "text", {}, 0, {}) as cancelled:
            raise CancelledError("stop")
    assert runs.get_run(store, cancelled.run_id).status == "interrupted"
    with RunTracker(store, "text", {}, 0, {}, resume_run_id=cancelled.run_id) as resumed:
        assert resumed.run_id == cancelled.run_id
    assert runs.get_run(store, cancelled.run_id).status == "finished"
    with pytest.raises(RunStateError, match="not a 'sensor' run"):
        RunTracker(store, "sensor", {}, 0, {}, resume_run_id=cancelled.run_id)

    with pytest.raises(ZeroDivisionError):
        with RunTracker(store, "text", {}, 0, {}) as failing:
            _ = 1 / 0
    failed = runs.get_run(store, failing.run_id)
    assert failed.status == "failed" and "ZeroDivisionError" in failed.error


def test_code_version_names_package_and_sources() -> None:
    version = code_version()
    assert "+src." in version


def test_checkpoint_round_trip_restores_weights_optimizer_and_rng(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.1)
    model(torch.randn(4, 3)).sum().backward()
    optimizer.step()
    path = save_checkpoint(tmp_path / "ck.pt", {"model": model}, optimizer, epoch=2, step=17, extra={"note": "x"})
    expected_torch, expected_numpy, expected_python = torch.rand(1), np.random.rand(), random.random()

    other = torch.nn.Linear(3, 2)
    other_opt = torch.optim.AdamW(other.parameters(), lr=0.1)
    state = load_checkpoint(path, {"model": other}, other_opt)
    assert (state.epoch, state.step, state.extra) == (2, 17, {"note": "x"})
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), other.state_dict().values()))
    assert other_opt.state_dict()["state"][0]["step"] == optimizer.state_dict()["state"][0]["step"]
    assert torch.equal(torch.rand(1), expected_torch)
    assert np.random.rand() == expected_numpy and random.random() == expected_python
    with pytest.raises(ModelError, match="lacks module"):
        load_checkpoint(path, {"decoder": other})
