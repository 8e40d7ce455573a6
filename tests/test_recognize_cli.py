"""`lanhar recognize` on a fresh store: the shipped default recognizer, guessed units, scored labels."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

from lanhar_core.cli import main
from lanhar_core.data.sample import example_path


def test_recognize_without_a_trained_model_uses_the_shipped_one(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--home", str(home), "recognize", str(example_path()), "--format", "csv", "--placement", "waist"]) == 0
    captured = capsys.readouterr()
    assert "model: default recognizer (shipped" in captured.err and "warning" not in captured.err
    assert "guessed acc unit g" in captured.err and "guessed timestamp unit ms" in captured.err
    assert "window accuracy" in captured.err and "segment accuracy" in captured.err
    segments = pd.read_csv(io.StringIO(captured.out))
    assert list(segments.columns[:4]) == ["recording", "start_s", "end_s", "activity"]
    assert "labels: downstairs, lie, sit, stand, upstairs, walk\n" in captured.err  # the ones trained at the waist
    assert set(segments["activity"]) <= {"downstairs", "lie", "sit", "stand", "upstairs", "walk", "unknown"}
    assert segments["end_s"].max() > 300


def test_recognize_warns_about_an_untrained_placement_and_refuses_a_short_file(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    short = tmp_path / "short.csv"
    pd.read_csv(example_path()).head(5).to_csv(short, index=False)
    assert main(["--home", str(home), "recognize", str(short), "--placement", "wrist"]) == 2
    err = capsys.readouterr().err
    assert "not wrist" in err
    assert "5 rows = 0.2 s at 20 Hz; a window needs 6 s" in err
