"""Export: the ONNX artifact reproduces the in-memory recognizer, also in a process without torch."""

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

pytestmark = pytest.mark.usefixtures("one_thread")


def _recognizer(frame: str) -> Recognizer:
    torch.manual_seed(0)
    encoder = create_sensor_encoder("patch", 16, width=32, layers=2, input_frame=frame)
    signals, _, _ = synthetic_windows(ACTIVITIES, 4, seed=0)
    encoder.normalizer.fit(signals)
    rec = Recognizer(encoder, Preprocessing(20.0, 120, 60), temperature=0.05, threshold=0.3)
    rng = np.random.default_rng(0)
    for act in ACTIVITIES:
        rec.set_label(act.name, rng.normal(size=16), [act.description()])
    return rec


@pytest.fixture(params=["device", "gravity"])
def recognizer(request) -> Recognizer:
    return _recognizer(request.param)


@pytest.fixture(scope="module")
def artifact(tmp_path_factory) -> tuple[Recognizer, object]:
    """One export with the int8 model for the tests that only read it (exporting costs seconds)."""
    rec = _recognizer("device")
    return rec, export_artifact(rec, tmp_path_factory.mktemp("artifact"), int8=True)


def test_export_equivalence_and_contents(recognizer: Recognizer, tmp_path) -> None:
    out = export_artifact(recognizer, tmp_path / "artifact")
    expected = {"sensor_encoder.onnx", "label_embeddings.npy", "labels.json", "config.json", "README.md",
                "recognize_example.py"}
    assert expected == {p.name for p in out.iterdir()}
    config = json.loads((out / "config.json").read_text())
    assert config["preprocessing"]["rate_hz"] == 20.0 and config["preprocessing"]["window_samples"] == 120
    assert config["preprocessing"]["channels"][0] == "acc_x" and config["temperature"] == 0.05
    assert config["model_int8"] is None
    for n in (1, 7, 100):
        windows = np.random.default_rng(n).normal(0, 3, size=(n, 120, 6)).astype(np.float32)
        diffs = verify_export(out, recognizer, windows)
        assert set(diffs) == {"embedding_max_abs_diff", "probability_max_abs_diff"}
        assert max(diffs.values()) < 1e-4


def test_int8_model_is_smaller_and_its_differences_are_reported(artifact) -> None:
    recognizer, out = artifact
    assert (out / "sensor_encoder.int8.onnx").stat().st_size < 0.8 * (out / "sensor_encoder.onnx").stat().st_size
    windows, _, _ = synthetic_windows(ACTIVITIES, 6, seed=3)
    diffs = verify_export(out, recognizer, windows)
    assert 0 < diffs["int8_embedding_max_abs_diff"] < 0.5
    assert 0 <= diffs["int8_top_label_changed_share"] <= 1
    assert diffs["embedding_max_abs_diff"] < 1e-4


def test_verify_export_detects_a_different_model_and_old_artifacts_are_refused(recognizer: Recognizer, tmp_path) -> None:
    out = export_artifact(recognizer, tmp_path / "artifact")
    with torch.no_grad():
        recognizer.encoder.head.bias.add_(0.5)
    windows, _, _ = synthetic_windows(ACTIVITIES, 2, seed=1)
    with pytest.raises(ModelError, match="does not reproduce"):
        verify_export(out, recognizer, windows)
    with pytest.raises(ModelError, match="not an exported artifact"):
        load_artifact(tmp_path)
    with pytest.raises(ModelError, match="no int8 model"):
        load_artifact(out, int8=True)
    old = tmp_path / "old"
    old.mkdir()
    (old / "sensor_encoder.pt").write_bytes(b"torchscript")
    (old / "config.json").write_text(json.dumps({"format_version": 1}))
    with pytest.raises(ModelError, match="TorchScript artifact.*lanhar export"):
        load_artifact(old)


def test_standalone_example_runs_without_torch_or_lanhar_core(artifact, tmp_path) -> None:
    recognizer, out = artifact
    windows, _, _ = synthetic_windows(ACTIVITIES, 3, seed=2)
    np.save(tmp_path / "windows.npy", windows)
    script = textwrap.dedent(
        f"""
        import runpy, sys

        BLOCKED = ("torch", "lanhar_core", "storage")

        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in BLOCKED:
                    raise ImportError("blocked: " + name)

        sys.meta_path.insert(0, Block())
        sys.argv = ["recognize_example.py", {str(out)!r}, {str(tmp_path / 'windows.npy')!r}] + sys.argv[1:]
        runpy.run_path({str(out / 'recognize_example.py')!r}, run_name="__main__")
        assert not any(m.split(".")[0] in BLOCKED for m in sys.modules), "a blocked module was imported"
        """
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    expected = recognizer.predict(windows)
    for extra in ([], ["--int8"]):
        done = subprocess.run([sys.executable, "-c", script, *extra], cwd=tmp_path, capture_output=True, text=True,
                              timeout=300, env=env)
        assert done.returncode == 0, done.stderr
        rows = [json.loads(line) for line in done.stdout.splitlines()]
        assert len(rows) == len(windows)
        if not extra:
            assert [r["label"] for r in rows] == list(expected.labels)
            assert np.allclose([r["probability"] for r in rows], expected.confidence, atol=1e-4)
        else:
            assert np.allclose([r["probability"] for r in rows], expected.confidence, atol=0.2)


def test_cli_export_with_int8_reports_both_models(artifact, home, tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    from lanhar_core.cli import main

    recognizer, _ = artifact
    saved = recognizer.save(tmp_path / "recognizer")
    out = tmp_path / "exported"
    assert main(["--home", str(home), "export", str(saved), "--out", str(out), "--int8"]) == 0
    printed = capsys.readouterr().out
    assert "onnxruntime matches the in-memory one" in printed and "int8 model: max abs diff" in printed
    assert json.loads((out / "config.json").read_text())["model_int8"] == "sensor_encoder.int8.onnx"
    assert (out / "sensor_encoder.int8.onnx").exists()
