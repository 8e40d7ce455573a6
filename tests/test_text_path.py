"""The text path: recognising windows through their interpretations (models/text_path.py).

The writer in the end-to-end tests is the real rules writer and the encoder the real shipped
one; the failing writer is the OpenAI client against the local OpenAI-protocol server (the
remote LLM API these tests cannot reach)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from lanhar_core.cli import main
from lanhar_core.config import LLMSettings
from lanhar_core.errors import BackendError, ModelError
from lanhar_core.llm.openai_backend import OpenAIBackend
from lanhar_core.models.recognizer import Preprocessing, Recognizer
from lanhar_core.models.sensor_encoder import create_sensor_encoder
from lanhar_core.models.text_path import TextReader, text_embeddings, write_window_texts

from fake_llm_server import FakeLLMServer, Reply
from window_fixtures import AxisEncoder

pytestmark = pytest.mark.usefixtures("one_thread")

EXAMPLE = Path(__file__).resolve().parents[1] / "lanhar_core" / "data" / "sample" / "example_phone.csv"


def _recognizer() -> Recognizer:
    torch.manual_seed(0)
    rec = Recognizer(create_sensor_encoder("patch", 8, width=16, layers=1), Preprocessing(20.0, 120, 60), temperature=0.1)
    rec.add_label("a", ["axis 0"], AxisEncoder())
    rec.add_label("b", ["axis 1"], AxisEncoder())
    return rec


def _unit(*rows: list[float]) -> np.ndarray:
    m = np.asarray(rows, dtype=np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def test_text_path_answers_from_the_text_embeddings_with_its_own_calibration() -> None:
    rec = _recognizer()
    windows = np.random.default_rng(0).normal(size=(40, 120, 6)).astype(np.float32)
    rec.calibrate(rec.embed(windows), ["a"] * 20 + ["b"] * 20, ["a", "b"], 0.05)
    # "c" is described close to "a": a text path without calibration would hand it most "a" texts.
    rec.set_label("c", _unit([1.0, 0.0, 0.3, 0, 0, 0, 0, 0])[0])
    a_texts = _unit(*[[1.0, 0.0, 0.2 + 0.01 * i, 0, 0, 0, 0, 0] for i in range(20)])
    before = rec.predict_texts(a_texts, allow_unknown=False).labels
    assert (before == "c").mean() > 0.5
    rec.calibrate_texts(a_texts, ["a"] * 20)
    assert rec.text_label_bias[rec.label_names.index("c")] > 0
    assert (rec.predict_texts(a_texts, allow_unknown=False).labels == "c").mean() <= 0.05
    b_texts = _unit(*[[0.0, 1.0, 0.1 * i, 0, 0, 0, 0, 0] for i in range(5)])
    assert list(rec.predict_texts(b_texts, allow_unknown=False).labels) == ["b"] * 5
    with pytest.raises(ModelError, match="text embeddings must be"):
        rec.predict_texts(np.ones((2, 5), dtype=np.float32))


def test_text_calibration_survives_save_and_load(tmp_path: Path) -> None:
    rec = _recognizer()
    windows = np.random.default_rng(1).normal(size=(10, 120, 6)).astype(np.float32)
    rec.calibrate(rec.embed(windows), ["a"] * 10, ["a", "b"], 0.05)
    rec.set_label("c", _unit([1.0, 0.0, 0.3, 0, 0, 0, 0, 0])[0])
    rec.calibrate_texts(_unit(*[[1.0, 0.0, 0.25, 0, 0, 0, 0, 0]] * 10), ["a"] * 10)
    loaded = Recognizer.load(rec.save(tmp_path / "rec"))
    assert np.allclose(loaded.text_label_bias, rec.text_label_bias) and loaded.text_label_bias.max() > 0
    assert np.allclose(loaded.label_bias, rec.label_bias)


def test_rules_writer_texts_of_real_windows_separate_walking_from_sitting() -> None:
    from lanhar_core.llm.rules_backend import RulesBackend
    from lanhar_core.signal.segment_frame import recording_to_segment_frame

    frame = np.genfromtxt(EXAMPLE, delimiter=",", skip_header=1, usecols=range(7))
    labels = np.genfromtxt(EXAMPLE, delimiter=",", skip_header=1, usecols=7, dtype=str)
    signals = frame[:, 1:7].copy()
    signals[:, :3] *= 9.80665
    starts = [i for i in range(0, len(signals) - 120, 120) if len(set(labels[i:i + 120])) == 1 and labels[i] in ("walk", "sit")]
    windows = np.stack([signals[i:i + 120] for i in starts]).astype(np.float32)
    turned, known = recording_to_segment_frame(windows, 20.0)
    assert known
    texts = write_window_texts(RulesBackend("rules-v3"), turned, 20.0, "waist", np.full(len(turned), known))
    truth = np.array([labels[i] for i in starts])
    rhythmic = np.array(["Rhythmic cycles" in t for t in texts])
    assert rhythmic[truth == "walk"].mean() > 0.8 and rhythmic[truth == "sit"].mean() < 0.2


def test_a_writer_that_fails_stops_the_text_path_with_the_reason() -> None:
    settings = LLMSettings(backend="openai", base_url="", model="fake-model", timeout_s=0.5, max_retries=1,
                           concurrency=1, retry_backoff_s=0.01, api_key="sk-test")
    windows = np.zeros((3, 120, 6), dtype=np.float32)
    windows[:, :, 2] = 9.80665
    with FakeLLMServer(lambda body: "", lambda n, body: Reply(raw_body=b'{"choices": []}')) as server:
        writer = OpenAIBackend(LLMSettings(**{**settings.__dict__, "base_url": server.base_url}))
        with pytest.raises(BackendError, match="wrote no interpretation for 3 of 3 windows"):
            TextReader(AxisEncoder(), writer).predict(_recognizer(), windows, 20.0, "waist")


def test_text_embeddings_embed_the_conclusions_only() -> None:
    class Recording:
        seen: list[str] = []

        def encode(self, texts):
            self.seen.extend(texts)
            return np.ones((len(texts), 4), dtype=np.float32)

        def __init__(self) -> None:
            self.seen = []

    enc = Recording()
    out = text_embeddings(enc, ["1. Strength: ENMO 41 mg. Sedentary intensity.\n2. Rhythm: regularity 0.1. No steps."])
    assert enc.seen == ["Sedentary intensity. No steps."]
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0)


def test_cli_recognizes_a_phone_recording_by_text_with_the_shipped_model(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--home", str(home), "recognize", str(EXAMPLE), "--model", "shipped", "--by", "text", "--placement", "waist",
                 "--labels", "walk,upstairs,downstairs,sit,stand,lie", "--label-col", "activity", "--format", "csv"])
    out, err = capsys.readouterr()
    assert code == 0
    accuracy = float(err.split("window accuracy ")[1].split(",")[0])
    assert accuracy > 0.3, err
    assert "walk" in out and "start_s" in out.splitlines()[0]


def test_labels_without_a_text_calibration_are_named() -> None:
    from lanhar_core.models.text_path import uncalibrated_note

    rec = _recognizer()
    windows = np.random.default_rng(2).normal(size=(10, 120, 6)).astype(np.float32)
    rec.calibrate(rec.embed(windows), ["a"] * 10, ["a", "b"], 0.05)
    assert rec.text_uncalibrated_labels == [] and uncalibrated_note(rec) == ""
    rec.set_label("c", _unit([1.0, 0.0, 0.3, 0, 0, 0, 0, 0])[0])
    assert rec.text_uncalibrated_labels == ["c"] and uncalibrated_note(rec).startswith("c: not trained")
    rec.calibrate_texts(_unit(*[[1.0, 0.0, 0.25, 0, 0, 0, 0, 0]] * 10), ["a"] * 10)
    assert rec.text_uncalibrated_labels == []
