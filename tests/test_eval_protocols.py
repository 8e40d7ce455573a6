"""Protocol logic on the built-in sample: splits, label sets, label blindness, stored results."""

from __future__ import annotations

import dataclasses
import hashlib
import io
from contextlib import redirect_stdout

import numpy as np
import pandas as pd
import pytest

from lanhar_core.data.sample import ensure_sample
from lanhar_core.eval import pipeline
from lanhar_core.eval.pipeline import OursConfig, TextSet, run_ours, stage2_windows
from lanhar_core.eval.protocols import (
    EvalTask,
    complex_task,
    cross_dataset_task,
    feature_divergence,
    new_activity_task,
    strip_labels,
)
from lanhar_core.eval.report import paper_pair, tables
from lanhar_core.eval.runner import BenchOptions, run_pairs, task_metrics
from lanhar_core.eval.splits import SplitError, max_divergence_split
from lanhar_core.vocab import COMMON_ACTIVITIES
from storage import results as result_store

SOURCE, TARGET = "sample_hapt", "sample_motionsense"


class HashEncoder:
    """A deterministic stand-in for the text encoder: one fixed random unit vector per distinct text."""

    dim = 16
    version = "hash-test"

    def encode(self, texts, batch_size: int = 32, progress=None) -> np.ndarray:  # noqa: ANN001 - test double
        rows = []
        for text in texts:
            seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")
            v = np.random.default_rng(seed).normal(size=self.dim)
            rows.append(v / np.linalg.norm(v))
        return np.asarray(rows, dtype=np.float32).reshape(len(rows), self.dim)


@pytest.fixture
def sample_store(store, settings):
    ensure_sample(store, settings)
    return store


@pytest.fixture
def hash_encoder(monkeypatch: pytest.MonkeyPatch) -> HashEncoder:
    encoder = HashEncoder()
    monkeypatch.setattr(pipeline, "load_text_encoder", lambda settings, store=None: encoder)
    monkeypatch.setattr("lanhar_core.eval.runner.load_text_encoder", lambda settings, store=None: encoder)
    return encoder


def _fake_texts(task: EvalTask) -> TextSet:
    """Texts that depend on the signal only (never the label), like real interpretations."""
    windows = {}
    for ws in (task.train, task.test, task.unlabeled):
        for window_id, signal in zip(ws.ids, ws.signals):
            windows[int(window_id)] = f"energy {np.round(signal[:, :3].std(), 1)}"
    descriptions = {label: [f"{label} one", f"{label} two"] for label in task.eval_labels}
    return TextSet("fake", windows, descriptions)


def test_cross_task_splits_source_by_subject_and_keeps_the_common_labels(sample_store) -> None:
    task = cross_dataset_task(sample_store, SOURCE, TARGET, seed=0)
    assert not set(task.train.subjects) & set(task.val.subjects)
    assert set(task.train.datasets) == set(task.val.datasets) == {SOURCE}
    assert set(task.test.datasets) == {TARGET}
    assert set(task.train.labels) | set(task.val.labels) <= set(COMMON_ACTIVITIES)
    assert set(task.test.labels) == set(COMMON_ACTIVITIES)
    assert task.train_labels == task.eval_labels == COMMON_ACTIVITIES
    assert all(label is None for label in task.unlabeled.labels)
    assert all(label is None for label in task.unlabeled.native_labels)


def test_cross_task_split_depends_on_the_seed_only(sample_store) -> None:
    a = cross_dataset_task(sample_store, SOURCE, TARGET, seed=1)
    b = cross_dataset_task(sample_store, SOURCE, TARGET, seed=1)
    assert a.info["val_subjects"] == b.info["val_subjects"]
    assert np.array_equal(a.train.ids, b.train.ids)


def test_same_source_and_target_is_refused(sample_store) -> None:
    with pytest.raises(SplitError, match="two datasets"):
        cross_dataset_task(sample_store, SOURCE, SOURCE, seed=0)


def test_new_activity_task_scores_all_target_labels_but_trains_on_the_common_ones(sample_store) -> None:
    task = new_activity_task(sample_store, SOURCE, TARGET, seed=0)
    assert task.train_labels == COMMON_ACTIVITIES
    assert set(task.train.labels) <= set(COMMON_ACTIVITIES)
    assert set(task.eval_labels) == {"walk", "upstairs", "downstairs", "sit", "stand", "jog"}
    assert set(task.new_labels) == {"stand", "jog"}
    assert set(task.test.labels) == set(task.eval_labels)


def test_complex_task_halves_share_no_subject(sample_store) -> None:
    task = complex_task(sample_store, TARGET, seed=0, trials=4, dims=4)
    half_a, half_b = set(task.info["half_a"]), set(task.info["half_b"])
    assert half_a and half_b and not half_a & half_b
    assert set(task.train.subjects) <= half_a and set(task.test.subjects) <= half_b
    assert set(task.test.labels) <= set(task.train_labels)


def test_max_divergence_split_picks_the_most_different_halves(sample_store) -> None:
    from storage.datasets import load_windows

    windows = load_windows(sample_store, dataset=TARGET)
    divergence = feature_divergence(windows, dims=4)
    chosen = max_divergence_split(windows.subjects, divergence, n_trials=6, seed=0)
    best = divergence(chosen.train, chosen.test)
    from lanhar_core.eval.splits import subject_split

    for t in range(6):
        other = subject_split(windows.subjects, 0.5, seed=t)
        assert divergence(other.train, other.test) <= best + 1e-9


def test_stage2_windows_never_carry_target_labels(sample_store) -> None:
    task = cross_dataset_task(sample_store, SOURCE, TARGET, seed=0, per_label=10)
    texts = _fake_texts(task)
    source, target = stage2_windows(task, texts, OursConfig("transductive", stage2_target_windows=30), seed=0)
    assert target is not None and len(target) == 30
    assert all(label is None for label in target.labels)
    _, none = stage2_windows(task, texts, OursConfig("inductive"), seed=0)
    assert none is None


def test_shuffled_target_labels_leave_our_predictions_identical(sample_store, settings, hash_encoder) -> None:
    task = cross_dataset_task(sample_store, SOURCE, TARGET, seed=0, per_label=12)
    texts = _fake_texts(task)
    cfg = OursConfig("transductive", train_text=False, sensor_epochs=1, stage2_source_windows=48, stage2_target_windows=48)
    first = run_ours(sample_store, settings, task, texts, cfg, seed=0).predictions

    rng = np.random.default_rng(0)
    shuffled_test = task.test.subset(np.arange(len(task.test)))
    shuffled_test.labels[:] = rng.permutation(shuffled_test.labels)
    task.test = shuffled_test
    second = run_ours(sample_store, settings, task, texts, cfg, seed=0).predictions
    assert np.array_equal(first, second)
    assert set(first) <= set(task.eval_labels)


def test_task_metrics_report_new_activity_and_category_accuracy(sample_store) -> None:
    task = new_activity_task(sample_store, SOURCE, TARGET, seed=0, per_label=2)
    truth = np.array(["walk", "jog", "stand", "sit"], dtype=object)
    predicted = np.array(["walk", "walk", "stand", "stand"], dtype=object)
    metrics = task_metrics(task, truth, predicted, {})
    assert metrics["accuracy"] == 0.5
    assert metrics["new_accuracy"] == 0.5 and metrics["new_n"] == 2
    assert metrics["common_accuracy"] == 0.5
    assert metrics["category_accuracy"] == 1.0


def test_results_are_stored_and_reprinted(sample_store, settings, hash_encoder, monkeypatch) -> None:
    from lanhar_core.eval import runner

    untrained = runner.ours_config
    monkeypatch.setattr(runner, "ours_config", lambda *a, **k: untrained(*a, **k, train_text=False))
    options = BenchOptions(seeds=1, variants=("inductive",), baselines=("features_gbdt", "zeroshot"), quick=True)
    benchmark_id = run_pairs(sample_store, settings, "cross", [(SOURCE, TARGET)], options)
    frame = result_store.results(sample_store, benchmark_id)
    assert sorted(frame["method"]) == ["features_gbdt", "lanhar", "zeroshot"]
    assert result_store.get_benchmark(sample_store, benchmark_id).status == "finished"
    for metrics in frame["metrics"]:
        assert 0.0 <= metrics["accuracy"] <= 1.0
        assert len(metrics["confusion"]) >= 4
    assert result_store.latest_benchmark(sample_store) == benchmark_id
    printed = tables(frame, "cross")
    assert [t.title.split(":")[1].strip() for t in printed[:3]] == [
        "per pair (mean ± std over seeds)", "average over pairs", "recall per true activity (mean over pairs)"]
    from lanhar_core.cli.bench import _print

    out = io.StringIO()
    with redirect_stdout(out):
        _print(sample_store, benchmark_id)
    assert "features_gbdt" in out.getvalue() and "lanhar" in out.getvalue()


def test_ours_keeps_the_stage2_epoch_chosen_on_source_validation(sample_store, settings, hash_encoder) -> None:
    task = cross_dataset_task(sample_store, SOURCE, TARGET, seed=0, per_label=12)
    texts = _fake_texts(task)
    cfg = OursConfig("transductive", train_text=False, sensor_epochs=4, stage2_source_windows=48, stage2_target_windows=48,
                     keep_best_epoch=True)
    seen: list[int] = []
    info = run_ours(sample_store, settings, task, texts, cfg, seed=0, on_epoch=lambda epoch, model, entry: seen.append(epoch)).info
    val = [e["val_macro_f1"] for e in info["stage2_epochs"]]
    assert seen == [1, 2, 3, 4] and len(val) == 4
    assert info["stage2_kept_epoch"] == int(np.argmax(val)) + 1
    last = dataclasses.replace(cfg, keep_best_epoch=False)
    assert run_ours(sample_store, settings, task, texts, last, seed=0).info["stage2_kept_epoch"] == 4


def test_a_baseline_is_fitted_once_per_source_side(sample_store, settings) -> None:
    from lanhar_core.eval.runner import Bench

    options = BenchOptions(seeds=1, variants=(), baselines=("features_gbdt",), quick=True)
    bench = Bench(sample_store, settings, "cross", options, {}, pipeline.Progress())
    task = cross_dataset_task(sample_store, SOURCE, TARGET, seed=0, per_label=12)
    other_target = cross_dataset_task(sample_store, SOURCE, TARGET, seed=0, per_label=12)
    other_target.test = task.test.subset(np.arange(len(task.test)) % 2 == 0)
    other_seed = cross_dataset_task(sample_store, SOURCE, TARGET, seed=1, per_label=12)
    first, log = bench.fitted_baseline(task, "features_gbdt", 0)
    again, log_again = bench.fitted_baseline(other_target, "features_gbdt", 0)
    fresh, log_fresh = bench.fitted_baseline(other_seed, "features_gbdt", 1)
    assert again is first and log_again["fit_reused"] and not log["fit_reused"]
    assert fresh is not first and not log_fresh["fit_reused"]
    assert task.source_key() == other_target.source_key() != other_seed.source_key()


def test_ablation_on_new_activities_runs_only_the_chosen_parts(sample_store, settings, hash_encoder) -> None:
    from lanhar_core.eval.runner import check_ablations, run_ablation

    assert check_ablations(["untrained_text", "full"]) == ("full", "untrained_text")
    with pytest.raises(Exception, match="unknown ablation"):
        check_ablations(["full", "no_llm"])
    options = BenchOptions(seeds=1, quick=True)
    benchmark_id = run_ablation(sample_store, settings, [(SOURCE, TARGET)], options, on="new",
                                ablations=("untrained_text", "no_regeneration"))
    assert result_store.get_benchmark(sample_store, benchmark_id).protocol == "ablation_new"
    frame = result_store.results(sample_store, benchmark_id)
    assert list(frame["variant"]) == ["untrained_text", "no_regeneration"]
    untrained, skipped = frame["metrics"]
    assert untrained["new_n"] > 0 and 0.0 <= untrained["new_accuracy"] <= 1.0
    assert "re-generation" in skipped["not_run"]
    assert tables(frame, "ablation_new")[0].headers[5] == "new_accuracy"


def test_paper_numbers_only_for_the_papers_datasets() -> None:
    assert paper_pair("lanhar", "hapt", "motionsense") == (0.811, 0.765)
    assert paper_pair("lanhar", "motionsense", "hapt") == (0.764, 0.713)
    assert paper_pair("lanhar", "sample_hapt", "sample_motionsense") is None


def test_strip_labels_keeps_signals_and_ids(sample_store) -> None:
    task = cross_dataset_task(sample_store, SOURCE, TARGET, seed=0, per_label=3)
    stripped = strip_labels(task.test)
    assert np.array_equal(stripped.ids, task.test.ids)
    assert np.array_equal(stripped.signals, task.test.signals)
    assert all(label is None for label in stripped.labels)


def test_dataset_spec_selects_one_placement(sample_store) -> None:
    from lanhar_core.eval.protocols import load_spec, split_spec

    assert split_spec("dsads@torso") == ("dsads", "torso")
    assert split_spec("hapt") == ("hapt", None)
    assert set(load_spec(sample_store, "sample_hapt@waist").placements) == {"waist"}
    with pytest.raises(SplitError, match="no windows"):
        load_spec(sample_store, "sample_hapt@wrist")


def test_users_training_and_the_benchmark_run_the_same_stage2_function(
    sample_store, settings, hash_encoder, monkeypatch
) -> None:
    """Both paths go through ``stage2.fit_stage2``, and the model states the rate and length of
    its training windows even when ``[data]`` now says otherwise."""
    import pandas as pd

    from lanhar_core.config import with_overrides
    from lanhar_core.models import stage2, train_sensor
    from lanhar_core.models.recognizer import Recognizer

    task = cross_dataset_task(sample_store, SOURCE, TARGET, seed=0, per_label=12)
    texts = _fake_texts(task)
    calls: list[tuple[int, float]] = []
    real = stage2.fit_stage2

    def spy(data, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003 - passes everything through
        fit = real(data, *args, **kwargs)
        calls.append((data.window_samples, fit.recognizer.preprocessing.rate_hz))
        return fit

    monkeypatch.setattr(stage2, "fit_stage2", spy)
    changed = with_overrides(settings, "data", rate_hz=50.0, window_samples=200, stride_samples=100)
    changed = with_overrides(changed, "sensor_encoder", epochs=1, batch_size=16, val_fraction=0.34)
    cfg = OursConfig("inductive", train_text=False, sensor_epochs=1, stage2_source_windows=48)
    run_ours(sample_store, changed, task, texts, cfg, seed=0)
    frame = pd.DataFrame({"window_id": list(texts.windows), "text": list(texts.windows.values()), "valid": True,
                          "review_status": "unreviewed"})
    monkeypatch.setattr(train_sensor, "current_window_interpretations", lambda s, c, d=None: frame)
    result = train_sensor.train_sensor_encoder(sample_store, changed, hash_encoder, [task.train], "fake", seed=0)
    assert calls == [(120, 20.0), (120, 20.0)]
    preprocessing = Recognizer.load(result.artifacts["recognizer"]).preprocessing
    assert (preprocessing.rate_hz, preprocessing.window_samples, preprocessing.stride_samples) == (20.0, 120, 60)


def _result(source: str, target: str, method: str, variant: str, seed: int, confusion: list[list[int]],
            macro_f1: float) -> dict:
    labels = ["walk", "upstairs", "downstairs"]
    return {"source": source, "target": target, "method": method, "variant": variant, "seed": seed, "wall_s": 1.0,
            "metrics": {"labels": labels, "confusion": confusion, "accuracy": 0.5, "macro_f1": macro_f1}}


def test_recall_and_baseline_gap_tables_come_from_the_stored_confusions() -> None:
    from lanhar_core.eval.report import baseline_gap_table, recall_table

    frame = pd.DataFrame([
        _result("a", "b", "lanhar", "transductive", 0, [[10, 0, 0], [5, 5, 0], [0, 0, 10]], 0.80),
        _result("a", "b", "lanhar", "transductive", 1, [[10, 0, 0], [10, 0, 0], [0, 0, 10]], 0.70),
        _result("a", "b", "dcnn", "supervised", 0, [[10, 0, 0], [0, 10, 0], [0, 10, 0]], 0.60),
        _result("b", "a", "lanhar", "transductive", 0, [[0, 10, 0], [0, 10, 0], [0, 0, 10]], 0.50),
        _result("b", "a", "dcnn", "supervised", 0, [[10, 0, 0], [0, 10, 0], [0, 0, 10]], 0.90),
    ])
    recall = recall_table(frame, "cross")
    assert recall.headers == ["method", "variant", "downstairs", "upstairs", "walk", "stairs"]
    ours = recall.rows[0]
    # upstairs: pair a->b 0.5 and 0.0 over seeds -> 0.25; pair b->a 1.0; mean 0.625
    assert ours[:5] == ["lanhar", "transductive", "1.000", "0.625", "0.500"]
    assert ours[5] == f"{(1.0 + 0.625) / 2:.3f}"
    gap = baseline_gap_table(frame)
    # a->b: 0.75 - 0.60 = +15 points; b->a: 0.50 - 0.90 = -40 points
    assert gap.rows == [["transductive", 2, "-12.5", "1/2", "b->a (dcnn)"]]


def test_text_variant_reads_every_test_window_text_with_the_inductive_recognizer(
    sample_store, settings, hash_encoder, monkeypatch
) -> None:
    from lanhar_core.errors import InsufficientDataError
    from lanhar_core.models import stage2
    from lanhar_core.models.text_path import text_embeddings

    task = cross_dataset_task(sample_store, SOURCE, TARGET, seed=0, per_label=12)
    base = _fake_texts(task)
    val_texts = {int(w): f"energy {np.round(s[:, :3].std(), 1)}" for w, s in zip(task.val.ids, task.val.signals)}
    texts = TextSet("fake", {**base.windows, **val_texts}, base.descriptions)
    fits: list[int] = []
    real = stage2.fit_stage2
    monkeypatch.setattr(stage2, "fit_stage2", lambda *a, **k: fits.append(1) or real(*a, **k))
    cfg = OursConfig("inductive", train_text=False, sensor_epochs=2, stage2_source_windows=48, stage2_target_windows=48)
    inductive = run_ours(sample_store, settings, task, texts, cfg, seed=0)
    text = run_ours(sample_store, settings, task, texts, dataclasses.replace(cfg, variant="text"), seed=0, inductive=inductive)
    assert len(fits) == 1
    read = text_embeddings(hash_encoder, [texts.windows[int(w)] for w in task.test.ids])
    assert list(text.predictions) == list(inductive.recognizer.predict_texts(read, allow_unknown=False).labels)
    without_one = TextSet("fake", {k: v for k, v in texts.windows.items() if k != int(task.test.ids[0])}, texts.descriptions)
    with pytest.raises(InsufficientDataError, match="have no interpretation"):
        run_ours(sample_store, settings, task, without_one, dataclasses.replace(cfg, variant="text"), seed=0, inductive=inductive)


def test_bench_records_the_text_variant_beside_the_inductive_one(sample_store, settings, hash_encoder, monkeypatch) -> None:
    from lanhar_core.eval import runner

    untrained = runner.ours_config
    monkeypatch.setattr(runner, "ours_config", lambda *a, **k: untrained(*a, **k, train_text=False))
    options = BenchOptions(seeds=1, variants=("inductive", "text"), baselines=(), quick=True)
    frame = result_store.results(sample_store, run_pairs(sample_store, settings, "cross", [(SOURCE, TARGET)], options))
    assert sorted(frame["variant"]) == ["inductive", "text"]
    text = frame[frame["variant"] == "text"]["metrics"].iloc[0]
    assert 0.0 <= text["accuracy"] <= 1.0 and sum(map(sum, text["confusion"])) == text["n"]
