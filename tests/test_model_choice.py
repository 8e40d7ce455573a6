"""Which recognizer is used: the shipped default on a fresh store, a trained run once there is one."""

from __future__ import annotations

import numpy as np
import pytest

from lanhar_core.config import Settings
from lanhar_core.errors import ConfigError
from lanhar_core.models import shipped
from lanhar_core.models.choice import available_models, choice_for, default_model, recognizer_for
from lanhar_core.models.recognizer import Preprocessing, Recognizer
from lanhar_core.models.sensor_encoder import create_sensor_encoder
from lanhar_core.models.train_sensor import KIND, RECOGNIZER_ARTIFACT
from storage import runs as run_store
from storage.db import Store
from tests.window_fixtures import add_toy_dataset


def _trained_run(store: Store, settings: Settings, sources: list[str]) -> int:
    encoder = create_sensor_encoder(settings.sensor_encoder.preset, 16, settings.data.window_samples)
    recognizer = Recognizer(encoder, Preprocessing.from_settings(settings), temperature=0.1)
    rng = np.random.default_rng(0)
    for name in ("walk", "sit", "jog"):
        recognizer.set_label(name, rng.normal(size=16), [f"{name} description"])
    directory = recognizer.save(settings.models_dir / "trained")
    run_id = run_store.create_run(store, KIND, {}, 0, {"sources": sources}, "test")
    run_store.add_artifact(store, run_id, RECOGNIZER_ARTIFACT, directory)
    run_store.finish_run(store, run_id, "finished", 0.0)
    return run_id


def test_fresh_store_gets_the_shipped_model_with_its_trained_labels(store: Store) -> None:
    choices = available_models(store)
    assert [c.key for c in choices] == ["shipped"] and default_model(store).is_shipped
    recognizer = recognizer_for(choices[0])
    assert recognizer.label_names == sorted(shipped.load_meta()["trained_labels"])
    assert choices[0].placement_note("waist") is None
    assert "not wrist" in (choices[0].placement_note("wrist") or "")
    at_waist = recognizer_for(choices[0], placement="waist").label_names
    assert sorted(at_waist) == ["downstairs", "lie", "sit", "stand", "upstairs", "walk"]  # HAPT's activities
    assert choices[0].default_labels("wrist") == sorted(shipped.load_meta()["trained_labels"])


def test_a_trained_run_becomes_the_default_and_the_shipped_one_stays_available(store: Store, settings: Settings) -> None:
    add_toy_dataset(store, placement="pocket")
    run_id = _trained_run(store, settings, ["toy"])
    choices = available_models(store)
    assert [c.key for c in choices] == [f"run:{run_id}", "shipped"] and default_model(store).key == f"run:{run_id}"
    assert choice_for(store, "shipped").is_shipped and choice_for(store, str(run_id)).key == f"run:{run_id}"
    chosen = choices[0]
    assert chosen.trained_labels == ("sit", "walk") and chosen.placements == ("pocket",)
    assert chosen.default_labels("pocket") == ["sit", "walk"] == chosen.default_labels("")
    assert sorted(recognizer_for(chosen).label_names) == ["sit", "walk"]
    assert recognizer_for(chosen, ["jog"]).label_names == ["jog"]
    with pytest.raises(ConfigError, match="no description of rowing"):
        recognizer_for(chosen, ["rowing"])
