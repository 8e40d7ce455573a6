"""Stage-1 training on hand-made texts: a recorded run, ablation switches, cancel and resume."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from lanhar_core.config import Settings
from lanhar_core.errors import CancelledError, ConfigError
from lanhar_core.jobs import Progress
from lanhar_core.models.loading import load_text_encoder
from lanhar_core.models.train_text import BalancedSampler, Stage1Data, fit_text_encoder, validation_split
from storage import runs
from storage.db import Store

WINDOW_TEXTS = {
    "walk": ["steady rhythm near two steps per second with clear vertical impacts", "regular periodic steps, moderate strength"],
    "jog": ["fast strong rhythm near three steps per second, hard impacts", "vigorous rapid periodic bouncing with large peaks"],
    "sit": ["almost no motion, the device is still and tilted", "flat signal without rhythm, stable posture"],
}
DESCRIPTIONS = {
    "walk": ["walking: regular steps at a moderate pace", "walking moves the legs rhythmically at about two steps a second"],
    "jog": ["jogging: running at a fast pace with strong impacts", "jogging bounces the body quickly and hard"],
    "sit": ["sitting: the body rests still on a chair", "sitting still with no rhythm"],
}
FAST = {
    "max_length": 32,
    "batch_size": 6,
    "labels_per_batch": 3,
    "per_class": 4,
    "epochs": 2,
    "freeze_layers": 5,
    "recon_length": 8,
    "val_per_class": 2,
    "encode_batch_size": 8,
    "val_fraction": 0.34,
}


def make_data() -> Stage1Data:
    texts, labels, subjects = [], [], []
    for subject in ("s1", "s2", "s3"):
        for label, options in WINDOW_TEXTS.items():
            for i, text in enumerate(options):
                texts.append(f"{text} ({subject} window {i})")
                labels.append(label)
                subjects.append(subject)
    return Stage1Data(
        texts=texts,
        labels=labels,
        subjects=subjects,
        descriptions=DESCRIPTIONS,
        categories={"walk": "locomotion", "jog": "locomotion", "sit": "static"},
        selection={"sources": ["handmade"]},
    )


def test_validation_split_holds_out_whole_subjects() -> None:
    subjects = ["a", "a", "b", "b", "c", "c", "d", "d", "e", "e"]
    train, val = validation_split(subjects, 0.2, seed=0)
    held = {s for s, v in zip(subjects, val) if v}
    assert len(held) == 1 and not held & {s for s, t in zip(subjects, train) if t}


def test_validation_split_of_a_single_subject_falls_back_to_windows() -> None:
    train, val = validation_split(["a"] * 200, 0.2, seed=0)
    assert 20 < val.sum() < 60 and (train ^ val).all()


def test_sampler_balances_labels_and_is_deterministic() -> None:
    data = make_data()
    from lanhar_core.config import TextEncoderSettings

    cfg = TextEncoderSettings(batch_size=4, labels_per_batch=2, per_class=4)
    sampler = BalancedSampler(data, np.arange(len(data.texts)), cfg)
    batches = sampler.epoch(1)
    assert len(batches) == sampler.steps_per_epoch() == 3
    for batch in batches:
        assert len(set(batch.window_labels)) == 2 and len(batch.window_texts) == 4
        assert sorted(set(batch.desc_labels)) == sorted(set(batch.window_labels))
        assert len(batch.desc_texts) == 4  # two descriptions per label
    counts = {label: sum(b.window_labels.count(label) for b in batches) for label in WINDOW_TEXTS}
    assert set(counts.values()) == {4}
    assert [b.window_texts for b in sampler.epoch(1)] == [b.window_texts for b in batches]


def test_labels_without_descriptions_are_refused() -> None:
    data = make_data()
    with pytest.raises(ConfigError, match="no description"):
        Stage1Data(data.texts, data.labels, data.subjects, {"walk": DESCRIPTIONS["walk"]}, data.categories)


def test_training_run_is_recorded_and_its_encoder_loads(store: Store, settings: Settings) -> None:
    result = fit_text_encoder(store, settings, make_data(), FAST)
    assert (result.status, result.epochs, result.steps) == ("finished", 2, 4)
    history = runs.epoch_records(store, result.run_id)
    assert [e.epoch for e in history] == [0, 1, 2]
    assert set(history[1].losses) == {"align", "ca1", "ca2", "ca3", "re", "total"}
    assert history[-1].val_metrics["val_n"] == 6
    assert history[-1].val_metrics["val_accuracy"] > 1 / 3
    record = runs.get_run(store, result.run_id)
    assert record.config["max_length"] == 32 and record.data_selection["val_subjects"]
    encoder = load_text_encoder(settings, store, result.run_id)
    assert encoder.max_length == 32 and encoder.cache is not None
    assert not (settings.models_dir / "runs" / str(result.run_id) / "checkpoint.pt").exists()


def test_switched_off_terms_are_not_computed(store: Store, settings: Settings) -> None:
    flags = FAST | {"epochs": 1, "category": False, "recon": False, "multidesc": False}
    result = fit_text_encoder(store, settings, make_data(), flags)
    assert set(runs.epoch_records(store, result.run_id)[1].losses) == {"align", "total"}
    with pytest.raises(ConfigError, match="switched off"):
        fit_text_encoder(store, settings, make_data(), flags | {"align": False})


def test_geometry_term_is_trained_against_the_frozen_pretrained_encoder(store: Store, settings: Settings) -> None:
    flags = FAST | {"epochs": 1, "category": False, "recon": False, "multidesc": False, "gamma": 1.0}
    result = fit_text_encoder(store, settings, make_data(), flags)
    losses = runs.epoch_records(store, result.run_id)[1].losses
    assert set(losses) == {"align", "geo", "total"} and losses["geo"] > 0
    assert losses["total"] == pytest.approx(losses["align"] + losses["geo"], rel=1e-6)


def test_cancel_after_first_epoch_then_resume_matches_an_uninterrupted_run(store: Store, settings: Settings) -> None:
    config = FAST | {"recon": False}
    reference = fit_text_encoder(store, settings, make_data(), config)

    cancel = threading.Event()

    def stop_after_epoch_one(done: int, total: int | None, message: str) -> None:
        if done >= 2:
            cancel.set()

    with pytest.raises(CancelledError):
        fit_text_encoder(store, settings, make_data(), config, Progress(stop_after_epoch_one, cancel))
    interrupted = runs.list_runs(store, kind="text")[0]
    assert (interrupted.status, interrupted.epochs_done) == ("interrupted", 1)

    resumed = fit_text_encoder(store, settings, make_data(), progress=Progress(), resume_run_id=interrupted.id)
    assert resumed.run_id == interrupted.id
    assert (resumed.status, resumed.epochs, resumed.steps) == ("finished", reference.epochs, reference.steps)
    reference_losses = runs.epoch_records(store, reference.run_id)[-1].losses
    resumed_losses = runs.epoch_records(store, resumed.run_id)[-1].losses
    assert resumed_losses == pytest.approx(reference_losses, rel=1e-4)


def _store_with_interpretations(store: Store) -> None:
    """Windows of three subjects plus texts in collection 'rules:test' (one window per text)."""
    from storage.interpretations import InterpretationIn, add_interpretations

    rows = make_data()
    extra = [("hop on one leg, short bursts", "hop", "s1")]  # a label without any description
    items = list(zip(rows.texts, rows.labels, rows.subjects)) + extra
    with store.connect() as conn:
        ids = [
            conn.execute(
                "INSERT INTO windows (dataset, recording_id, start_sample, length, rate_hz, subject, label, signals) "
                "VALUES ('toy', 1, ?, 2, 20.0, ?, ?, ?) RETURNING id",
                [i, subject, label, [0.0] * 12],
            ).fetchone()[0]
            for i, (_, label, subject) in enumerate(items)
        ]
    texts = [
        InterpretationIn("rules:test", "window", text, "rules", "v1", valid=True, window_id=int(window_id))
        for window_id, (text, _, _) in zip(ids, items)
    ]
    texts.append(InterpretationIn("rules:test", "window", "garbled", "rules", "v1", valid=False, window_id=int(ids[0])))
    texts += [
        InterpretationIn("rules:test", "label", text, "rules", "v1", valid=True, label=label, desc_index=i)
        for label, options in DESCRIPTIONS.items()
        for i, text in enumerate(options)
    ]
    add_interpretations(store, texts)


def test_train_from_store_reads_current_texts_and_records_the_selection(store: Store, settings: Settings) -> None:
    from lanhar_core.models.train_text import load_stage1_data, train_text_encoder

    _store_with_interpretations(store)
    data = load_stage1_data(store, ["toy"], "rules:test")
    assert len(data.texts) == 18 and "garbled" not in data.texts
    assert set(data.subjects) == {"toy/s1", "toy/s2", "toy/s3"}
    assert data.selection["skipped_without_description"] == {"hop": 1}
    assert data.categories == {"walk": "locomotion", "jog": "locomotion", "sit": "static"}

    result = train_text_encoder(store, settings, ["toy"], "rules:test", overrides=FAST | {"epochs": 1, "recon": False})
    record = runs.get_run(store, result.run_id)
    assert result.status == "finished"
    assert record.data_selection["sources"] == ["toy"] and record.data_selection["collection"] == "rules:test"
