"""Recognizer: calibrated scores, unknown, labels at run time, save/load, streaming segments,
and a tiny end-to-end model that recognises a class it only knows from its description."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lanhar_core.data.types import Recording
from lanhar_core.errors import ConfigError, NotFoundError, RecordingTooShortError
from lanhar_core.models.recognizer import UNKNOWN, Predictions, Preprocessing, Recognizer, softmax
from lanhar_core.models.sensor_encoder import create_sensor_encoder
from lanhar_core.models.stage2 import AlignmentData, train_epoch, unique_text_ids, zero_shot_accuracy
from lanhar_core.models.streaming import majority_filter, recognize_recording, segments_from_predictions
from lanhar_core.models.synthetic import ACTIVITIES, synthetic_windows

from window_fixtures import AxisEncoder

pytestmark = pytest.mark.usefixtures("one_thread")


def _recognizer(threshold: float = 0.0) -> Recognizer:
    torch.manual_seed(0)
    encoder = create_sensor_encoder("patch", 8, width=16, layers=1)
    return Recognizer(encoder, Preprocessing(20.0, 120, 60), temperature=0.1, threshold=threshold)


def test_scores_are_softmax_of_cosine_over_temperature_and_labels_change_at_run_time() -> None:
    rec = _recognizer()
    rec.add_label("a", ["axis 0"], AxisEncoder())
    rec.add_label("b", ["axis 1", "axis 2"], AxisEncoder())
    assert np.allclose(np.linalg.norm(rec.label_embeddings, axis=1), 1.0)
    assert np.allclose(rec.label_embeddings[1], np.array([0, 1, 1, 0, 0, 0, 0, 0]) / np.sqrt(2), atol=1e-6)
    windows = np.random.default_rng(0).normal(size=(5, 120, 6)).astype(np.float32)
    pred = rec.predict(windows)
    emb = rec.embed(windows)
    assert np.allclose(pred.probabilities, softmax(emb @ rec.label_embeddings.T / 0.1), atol=1e-6)
    assert np.allclose(pred.probabilities.sum(axis=1), 1.0)
    rec.add_label("c", ["axis 3"], AxisEncoder())
    assert rec.predict(windows).probabilities.shape == (5, 3)
    rec.remove_label("b")
    assert rec.label_names == ["a", "c"]
    with pytest.raises(NotFoundError):
        rec.remove_label("b")
    with pytest.raises(ConfigError):
        rec.add_label(UNKNOWN, ["axis 4"], AxisEncoder())


def test_unknown_below_threshold() -> None:
    rec = _recognizer(threshold=0.99)
    for i in range(4):
        rec.add_label(f"l{i}", [f"axis {i}"], AxisEncoder())
    windows = np.random.default_rng(1).normal(size=(6, 120, 6)).astype(np.float32)
    pred = rec.predict(windows)
    assert (pred.labels == UNKNOWN).all()
    assert (rec.predict(windows, allow_unknown=False).labels != UNKNOWN).all()
    rec.threshold_on, rec.threshold = "cosine", -1.0
    assert (rec.predict(windows).labels != UNKNOWN).all()


def test_save_load_round_trip(tmp_path) -> None:
    rec = _recognizer(threshold=0.3)
    rec.add_label("a", ["axis 0"], AxisEncoder())
    rec.add_label("b", ["axis 5"], AxisEncoder())
    windows = np.random.default_rng(2).normal(size=(4, 120, 6)).astype(np.float32)
    loaded = Recognizer.load(rec.save(tmp_path / "r"))
    assert loaded.label_names == ["a", "b"] and loaded.descriptions["b"] == ["axis 5"]
    assert loaded.threshold == 0.3 and loaded.preprocessing == rec.preprocessing
    assert np.allclose(loaded.predict(windows).probabilities, rec.predict(windows).probabilities, atol=1e-6)


def _predictions(labels: list[str], names: list[str]) -> Predictions:
    probs = np.array([[0.9 if n == lab else 0.1 / (len(names) - 1) for n in names] for lab in labels])
    return Predictions(np.array(labels, dtype=object), probs.max(axis=1), probs, probs, names)


def test_smoothing_removes_flicker_and_short_segments_and_respects_gaps() -> None:
    assert majority_filter(["a", "a", "b", "a", "a"], 3) == ["a"] * 5
    labels = ["a"] * 5 + ["b"] + ["a"] * 2 + ["c"] * 6
    pred = _predictions(labels, ["a", "b", "c"])
    starts = np.arange(len(labels)) * 60
    segs = segments_from_predictions(pred, starts, 20.0, 120, 60, smooth_windows=1, min_segment_s=4.0)
    assert [s.activity for s in segs] == ["a", "c"]
    assert segs[0].start_s == 0.0 and segs[-1].end_s == pytest.approx((starts[-1] + 120) / 20.0)
    assert segs[0].end_s == pytest.approx(segs[1].start_s)
    gap_starts = starts.copy()
    gap_starts[8:] += 600
    segs = segments_from_predictions(pred, gap_starts, 20.0, 120, 60, smooth_windows=3, min_segment_s=0.0)
    assert [s.activity for s in segs] == ["a", "c"] and segs[0].end_s < segs[1].start_s
    assert all(0 < s.confidence <= 1 for s in segs)


def _recording(parts: list[tuple[str, int]], rate_hz: float) -> Recording:
    """Synthetic 6-s windows of each activity laid end to end, interpolated to ``rate_hz``."""
    chunks = []
    for name, n_windows in parts:
        act = next(a for a in ACTIVITIES if a.name == name)
        windows, _, _ = synthetic_windows((act,), n_windows, seed=7)
        chunks.append(windows.reshape(-1, 6))
    at_20 = np.concatenate(chunks)
    t_out = np.arange(int(len(at_20) / 20.0 * rate_hz)) / rate_hz
    t_in = np.arange(len(at_20)) / 20.0
    signals = np.stack([np.interp(t_out, t_in, at_20[:, c]) for c in range(6)], axis=1)
    none = np.full(len(signals), None, dtype=object)
    return Recording("upload", "r1", "me", signals, rate_hz, none, none.copy())


def test_labels_of_an_upload_do_not_decide_where_windows_go() -> None:
    rec = _recognizer()
    rec.add_label("a", ["axis 0"], AxisEncoder())
    plain = _recording([("walk", 3), ("still", 3)], 20.0)
    labels = np.array(["walk"] * 300 + [None] * 20 + ["sit"] * (plain.n_samples - 320), dtype=object)
    labelled = Recording("upload", "r1", "me", plain.signals, 20.0, labels, labels.copy())
    _, _, plain_starts = recognize_recording(rec, plain)
    segments, _, starts = recognize_recording(rec, labelled)
    assert list(starts) == list(plain_starts) == list(range(0, plain.n_samples - 120 + 1, 60))
    assert segments[0].start_s == 0.0 and segments[-1].end_s == pytest.approx(plain.duration_s)


def test_recognize_recording_too_short() -> None:
    rec = _recognizer()
    rec.add_label("a", ["axis 0"], AxisEncoder())
    short = _recording([("walk", 1)], 50.0)
    none = np.full(100, None, dtype=object)
    short = Recording("upload", "r0", "me", short.signals[:100], 50.0, none, none.copy())
    with pytest.raises(RecordingTooShortError, match=r"100 rows = 2\.0 s at 50 Hz; a window needs 6 s"):
        recognize_recording(rec, short)


@pytest.fixture(scope="module")
def text_encoder():
    from lanhar_core.models.text_encoder import TextEncoder

    return TextEncoder.load(None, max_length=32)


def test_tiny_end_to_end_model_beats_chance_and_recognises_a_label_added_by_description(text_encoder) -> None:
    """Stage 2 on unlabeled windows of 5 synthetic activities with interpretation texts from the
    real MiniLM (the paper's setting: stage 2 also sees target windows, never their labels).
    The recognizer starts with 4 labels; held-out windows are recognised above chance; the
    5th activity, absent from the label set, is recognised once added by a description
    (worded unlike any interpretation), without retraining. Streaming finds the change."""
    train = ACTIVITIES[:4]
    signals, _, texts = synthetic_windows(ACTIVITIES, 40, seed=0)
    ids, unique = unique_text_ids(texts)
    data = AlignmentData(signals, ids, text_encoder.encode(unique), 20.0)
    torch.manual_seed(0)
    model = create_sensor_encoder("patch", 384, width=64, layers=2)
    model.normalizer.fit(signals)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    for epoch in range(1, 7):
        train_epoch(model, optimizer, data, 32, seed=0, epoch=epoch)
    rec = Recognizer(model, Preprocessing(20.0, 120, 60), model.temperature())
    for act in train:
        rec.add_label(act.name, [act.description()], text_encoder)
    held_out, labels, _ = synthetic_windows(train, 20, seed=1)
    accuracy = zero_shot_accuracy(model, held_out, labels, rec.label_names, rec.label_embeddings)
    assert accuracy > 0.5, accuracy
    jump = ACTIVITIES[4]
    jumps, _, _ = synthetic_windows((jump,), 30, seed=2)
    assert jump.name not in set(rec.predict(jumps).labels)
    rec.add_label(jump.name, [f"jumping: {jump.description()}"], text_encoder)
    hit_rate = float(np.mean(rec.predict(jumps).labels == jump.name))
    assert hit_rate > 0.5, hit_rate
    segments, _, _ = recognize_recording(rec, _recording([("walk", 5), ("shake", 5)], 50.0), min_segment_s=6.0)
    assert [s.activity for s in segments][0] == "walk" and segments[-1].activity == "shake", segments
    assert segments[-1].end_s == pytest.approx(60.0, abs=3.0)


def _clusters(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit 8-d embeddings of two known activities around axes 0 and 1, and their labels."""
    rng = np.random.default_rng(seed)
    centres = np.eye(8, dtype=np.float32)[[0] * n + [1] * n]
    emb = centres + rng.normal(0, 0.5, size=centres.shape).astype(np.float32)
    return emb / np.linalg.norm(emb, axis=1, keepdims=True), np.array(["a"] * n + ["b"] * n, dtype=object)


def _top(rec: Recognizer, emb: np.ndarray) -> np.ndarray:
    return np.asarray(rec.label_names, dtype=object)[rec.scores(emb)[1].argmax(axis=1)]


def test_calibration_keeps_an_untrained_label_from_taking_known_windows(tmp_path) -> None:
    rec = _recognizer()
    rec.set_label("a", np.eye(8)[0])
    rec.set_label("b", np.eye(8)[1])
    held_out, labels = _clusters(200, 0)
    test, truth = _clusters(200, 1)
    assert np.mean(_top(rec, test) == truth) > 0.9
    rec.set_label("new", np.eye(8)[0] + np.eye(8)[1] + 0.3 * np.eye(8)[2])
    assert np.mean(_top(rec, test) == "new") > 0.15
    rec.calibrate(held_out, labels, ["a", "b"], steal_rate=0.02)
    assert np.mean(_top(rec, test) == "new") <= 0.05 and rec.label_bias[2] > 0 and rec.label_bias[:2].tolist() == [0, 0]
    rec.remove_label("new")
    rec.add_label("other", ["axis 5"], AxisEncoder())
    assert rec.label_names == ["a", "b", "other"] and np.mean(_top(rec, test) == "other") <= 0.05
    rec.save(tmp_path / "r")
    loaded = Recognizer.load(tmp_path / "r")
    assert np.allclose(loaded.label_bias, rec.label_bias) and loaded.trained_labels == {"a", "b"}
    assert (_top(loaded, test) == _top(rec, test)).all()


def test_label_vectors_follow_the_recordings_segment(tmp_path) -> None:
    rec = _recognizer()
    rec.add_label("sit", ["2. Sensor patterns: axis 1", "2. Sensor patterns: Seen from a device on the thigh: axis 2"], AxisEncoder())
    rec.use_placement("pocket")
    assert rec.label_embeddings[0].argmax() == 2
    rec.use_placement("waist")
    assert rec.label_embeddings[0].argmax() == 1
    rec.save(tmp_path / "r")
    assert Recognizer.load(tmp_path / "r").label_embeddings[0].argmax() == 1


def test_a_recording_without_walking_is_flagged_for_a_segment_frame_model() -> None:
    torch.manual_seed(0)
    encoder = create_sensor_encoder("patch", 8, width=16, layers=1)
    rec = Recognizer(encoder, Preprocessing(20.0, 120, 60, frame="segment"), temperature=0.1)
    rec.add_label("a", ["axis 0"], AxisEncoder())
    t = np.arange(20 * 60) / 20.0
    still = np.zeros((len(t), 6), dtype=np.float32)
    still[:, 2] = 9.81
    walking = still.copy()
    walking[:, 2] += 4.0 * np.sin(2 * np.pi * 1.8 * t)
    none = np.full(len(t), None, dtype=object)
    _, sitting, _ = recognize_recording(rec, Recording("upload", "still", "me", still, 20.0, none, none.copy()))
    _, walked, _ = recognize_recording(rec, Recording("upload", "walk", "me", walking, 20.0, none, none.copy()))
    assert sitting.upright_known is False and walked.upright_known is True
