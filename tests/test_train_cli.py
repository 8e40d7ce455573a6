"""The README's model path through the CLI: stage 1, stage 2, export, recognize a phone recording.

Budgets are tiny (a few steps, one epoch) so it runs in CI; what is checked is that each
command works on what the previous one produced, and that runs are recorded as finished.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lanhar_core.cli import main
from lanhar_core.config import load_settings
from lanhar_core.data.sample import ensure_sample
from lanhar_core.interpret import interpret_labels, interpret_windows
from lanhar_core.llm.rules_backend import RulesBackend
from storage import runs as run_store
from storage.db import Store


@pytest.fixture
def tiny_budgets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "LANHAR_TEXT_ENCODER_EPOCHS": "1",
        "LANHAR_TEXT_ENCODER_PER_CLASS": "4",
        "LANHAR_TEXT_ENCODER_MAX_LENGTH": "32",
        "LANHAR_TEXT_ENCODER_VAL_PER_CLASS": "4",
        "LANHAR_SENSOR_ENCODER_EPOCHS": "1",
    }.items():
        monkeypatch.setenv(name, value)


def _walking_csv(path: Path) -> Path:
    """30 s of a 1.8 Hz bounce at 50 Hz in g and deg/s, as a phone export table would hold it."""
    t = np.arange(0, 30, 0.02)
    frame = pd.DataFrame(
        {
            "time": t,
            "ax": 0.05 * np.sin(2 * np.pi * 1.8 * t),
            "ay": np.zeros_like(t),
            "az": 1.0 + 0.3 * np.sin(2 * np.pi * 1.8 * t),
            "gx": 20 * np.sin(2 * np.pi * 0.9 * t),
            "gy": np.zeros_like(t),
            "gz": np.zeros_like(t),
        }
    )
    frame.to_csv(path, index=False)
    return path


def test_stage1_stage2_export_and_recognize_from_the_cli(
    home: Path, tmp_path: Path, tiny_budgets: None, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = load_settings(home)
    settings.ensure_dirs()
    store = Store(settings.db_path)
    ensure_sample(store, settings)
    interpret_windows(store, settings, "sample_hapt", RulesBackend())
    interpret_labels(store, settings, RulesBackend())

    assert main(["--home", str(home), "train", "text", "--source", "sample_hapt"]) == 0
    text_run = run_store.latest_run(store, "text")
    assert text_run is not None and text_run.status == "finished"

    assert main(["--home", str(home), "train", "sensor", "--source", "sample_hapt"]) == 0
    sensor_run = run_store.latest_run(store, "sensor")
    assert sensor_run is not None and sensor_run.status == "finished"
    assert sensor_run.parent_run_id == text_run.id

    artifact = tmp_path / "artifact"
    assert main(["--home", str(home), "export", str(sensor_run.id), "--out", str(artifact)]) == 0
    assert (artifact / "README.md").exists()

    capsys.readouterr()
    recording = _walking_csv(tmp_path / "walk.csv")
    assert main(
        ["--home", str(home), "recognize", str(recording), "--format", "json", "--time-col", "time",
         "--time-unit", "s", "--acc-cols", "ax,ay,az", "--gyro-cols", "gx,gy,gz", "--acc-unit", "g", "--gyro-unit", "deg/s"]
    ) == 0
    segments = json.loads(capsys.readouterr().out)
    assert segments, "a 30 s recording gives at least one segment"
    assert segments[0]["start_s"] == pytest.approx(0.0, abs=0.1)
    assert segments[-1]["end_s"] == pytest.approx(30.0, abs=6.5)
