"""Training control from the app: resume with the run's own configuration, cancel seen within one step, charts by metric kind."""

from __future__ import annotations

import dataclasses

import pytest

from app.components.plots import epoch_figure, epoch_table, metric_group
from lanhar_core.config import Settings, with_overrides
from lanhar_core.errors import CancelledError
from lanhar_core.models.loading import resume_settings
from lanhar_core.tracking import StoreProgress
from storage import jobs as job_store
from storage import runs as run_store
from storage.db import Store


def test_resume_uses_the_stored_configuration_not_todays(store: Store, settings: Settings) -> None:
    started_with = with_overrides(settings, "sensor_encoder", epochs=300, lr=5e-4, augment_scale=0.1)
    config = {"sensor_encoder": dataclasses.asdict(started_with.sensor_encoder),
              "data": {**dataclasses.asdict(settings.data), "window_samples": 100}, "augmentation": {"x": 1},
              "encoder": {"retired_field": 1}}
    config["sensor_encoder"]["field_from_an_older_version"] = 3
    run_id = run_store.create_run(store, "sensor", config, 0, {"sources": ["toy"]}, "test")
    today = with_overrides(settings, "sensor_encoder", epochs=90)
    resumed = resume_settings(store, today, run_id)
    assert resumed.sensor_encoder.epochs == 300 and resumed.sensor_encoder.lr == 5e-4
    assert resumed.data.window_samples == 100
    assert resumed.sensor_encoder == started_with.sensor_encoder
    assert resumed.text_encoder == today.text_encoder  # sections the run did not store stay as they are


def test_resume_of_a_stage_1_run_reads_its_flat_configuration(store: Store, settings: Settings) -> None:
    stored = {**dataclasses.asdict(settings.text_encoder), "epochs": 12, "lr": 1e-5}
    run_id = run_store.create_run(store, "text", stored, 0, {"sources": ["toy"]}, "test")
    resumed = resume_settings(store, with_overrides(settings, "text_encoder", epochs=2), run_id)
    assert (resumed.text_encoder.epochs, resumed.text_encoder.lr) == (12, 1e-5)


def test_a_cancel_in_the_job_row_stops_the_next_step_without_a_progress_write(store: Store) -> None:
    job_id = job_store.create_job(store, "train-sensor", {})
    progress = StoreProgress(store, job_id, min_interval_s=0.0)
    progress.check_cancelled()
    job_store.request_cancel(store, job_id)  # e.g. from the CLI or another app process
    with pytest.raises(CancelledError):
        progress.check_cancelled()


def test_metrics_are_grouped_so_counts_never_share_the_loss_axis() -> None:
    assert metric_group("loss: align", [3.2]) == "losses"
    assert metric_group("val_loss", [2.0]) == "losses"
    assert metric_group("val_n", [120.0]) == "counts"
    assert metric_group("val_zero_shot_accuracy", [0.4, 0.6]) == "scores (0-1)"
    assert metric_group("val_recall_at_1", [0.1]) == "scores (0-1)"
    assert metric_group("temperature", [0.07]) == "other"


def test_epoch_figure_has_one_axis_per_group(store: Store) -> None:
    run_id = run_store.create_run(store, "sensor", {}, 0, {}, "test")
    for epoch in (1, 2):
        run_store.record_epoch(store, run_id, epoch, epoch * 10, {"align": 3.0 / epoch},
                               {"val_loss": 2.5, "val_zero_shot_accuracy": 0.3 * epoch, "val_n": 120, "temperature": 0.07}, 1.0)
    table = epoch_table(run_store.epoch_records(store, run_id))
    fig = epoch_figure(table)
    titles = [a.text for a in fig.layout.annotations]
    assert titles == ["losses", "scores (0-1)", "counts", "other"]
    by_axis = {}
    for trace in fig.data:
        by_axis.setdefault(trace.yaxis, set()).add(trace.name)
    assert by_axis == {"y": {"loss: align", "val_loss"}, "y2": {"val_zero_shot_accuracy"}, "y3": {"val_n"}, "y4": {"temperature"}}
    compared = epoch_figure(table.assign(run="run 1"), color="run")
    assert {t.name for t in compared.data} >= {"run 1 · val_n", "run 1 · loss: align"}
