"""Export: the artifact reproduces the in-memory recognizer, also in a process without lanhar_core."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from lanhar_core.errors import ModelError
from lanhar_core.models.export import export_artifact, load_artifact, verify_export
from lanhar_core.models.recognizer import Preprocessing, Recognizer
from lanhar_core.models.sensor_encoder import create_sensor_encoder
from lanhar_core.models.synthetic import ACTIVITIES, synthetic_windows


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(params=["device", "gravity"])
def recognizer(request) -> Recognizer:
    torch.manual_seed(0)
    encoder = create_sensor_encoder("patch", 16, width=32, layers=2, input_frame=request.param)
    signals, _, _ = synthetic_windows(ACTIVITIES, 4, seed=0)
    encoder.normalizer.fit(signals)
    rec = Recognizer(encoder, Preprocessing(20.0, 120, 60), temperature=0.05, threshold=0.3)
    rng = np.random.default_rng(0)
    for act in ACTIVITIES:
        rec.set_label(act.name, rng.normal(size=16), [act.description()])
    return rec


def test_export_equivalence_and_contents(recognizer: Recognizer, tmp_path) -> None:
    out = export_artifact(recognizer, tmp_path / "artifact")
    expected = {"sensor_encoder.pt", "label_embeddings.npy", "labels.json", "config.json", "README.md", "recognize_example.py"}
    assert expected <= {p.name for p in out.iterdir()}
    config = json.loads((out / "config.json").read_text())
    assert config["preprocessing"]["rate_hz"] == 20.0 and config["preprocessing"]["window_samples"] == 120
    assert config["preprocessing"]["channels"][0] == "acc_x" and config["temperature"] == 0.05
    for n in (1, 7, 100):
        windows = np.random.default_rng(n).normal(0, 3, size=(n, 120, 6)).astype(np.float32)
        diffs = verify_export(out, recognizer, windows)
        assert max(diffs.values()) < 1e-5


def test_verify_export_detects_a_different_model(recognizer: Recognizer, tmp_path) -> None:
    out = export_artifact(recognizer, tmp_path / "artifact")
    with torch.no_grad():
        recognizer.encoder.head.bias.add_(0.5)
    windows, _, _ = synthetic_windows(ACTIVITIES, 2, seed=1)
    with pytest.raises(ModelError, match="does not reproduce"):
        verify_export(out, recognizer, windows)
    with pytest.raises(ModelError, match="not an exported artifact"):
        load_artifact(tmp_path)


def test_standalone_example_runs_without_lanhar_core(recognizer: Recognizer, tmp_path) -> None:
    out = export_artifact(recognizer, tmp_path / "artifact")
    windows, _, _ = synthetic_windows(ACTIVITIES, 3, seed=2)
    np.save(tmp_path / "windows.npy", windows)
    script = textwrap.dedent(
        f"""
        import runpy, sys

        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("lanhar_core", "storage"):
                    raise ImportError("blocked: " + name)

        sys.meta_path.insert(0, Block())
        sys.argv = ["recognize_example.py", {str(out)!r}, {str(tmp_path / 'windows.npy')!r}]
        runpy.run_path({str(out / 'recognize_example.py')!r}, run_name="__main__")
        assert not any(m.split(".")[0] in ("lanhar_core", "storage") for m in sys.modules)
        """
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    expected = recognizer.predict(windows)
    assert [r["label"] for r in rows] == list(expected.labels)
    assert np.allclose([r["probability"] for r in rows], expected.confidence, atol=1e-5)
