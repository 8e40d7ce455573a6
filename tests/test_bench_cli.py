"""`lanhar bench`: option parsing, refusals, and the --quick run end to end on the built-in sample."""

from __future__ import annotations

from pathlib import Path

import pytest

from lanhar_core.cli import main
from lanhar_core.cli.bench import parse_pairs
from lanhar_core.errors import ConfigError
from lanhar_core.eval.runner import REAL_DATASETS
from storage import results as result_store
from storage.db import Store


def test_pairs_default_to_every_ordered_pair_of_the_four_datasets() -> None:
    pairs = parse_pairs(None, None)
    assert len(pairs) == 12 and len(set(pairs)) == 12
    assert {d for p in pairs for d in p} == set(REAL_DATASETS)
    assert "dsads@torso" in REAL_DATASETS
    assert parse_pairs(None, "hapt,motionsense") == [("hapt", "motionsense"), ("motionsense", "hapt")]
    assert parse_pairs("hapt:uschad, dsads:hapt", None) == [("hapt", "uschad"), ("dsads", "hapt")]


@pytest.mark.parametrize("text", ["hapt", "hapt:hapt", "hapt:", "a:b:c"])
def test_malformed_pairs_are_refused(text: str) -> None:
    with pytest.raises(ConfigError, match="SOURCE:TARGET"):
        parse_pairs(text, None)


def test_unknown_dataset_is_refused_with_the_ingest_hint(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--home", str(home), "bench", "cross", "--pairs", "hapt:motionsense"]) == 2
    assert "lanhar data ingest" in capsys.readouterr().err


def test_results_without_any_benchmark_says_what_to_run(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--home", str(home), "bench", "results"]) == 2
    assert "bench cross --quick" in capsys.readouterr().err


def test_quick_cross_benchmark_runs_stores_and_reprints(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--home", str(home), "bench", "cross", "--quick"]) == 0
    out = capsys.readouterr().out
    assert "sample_hapt" in out and "average over pairs" in out
    for method in ("lanhar", "features_gbdt", "dcnn", "transformer", "zeroshot"):
        assert method in out

    store = Store(home / "lanhar.duckdb")
    benchmark_id = result_store.latest_benchmark(store, "cross")
    frame = result_store.results(store, benchmark_id)
    assert set(frame["variant"]) >= {"transductive", "inductive", "supervised", "pretrained"}
    assert (frame["seed"] == 0).all()

    assert main(["--home", str(home), "bench", "results", "--benchmark", benchmark_id]) == 0
    again = capsys.readouterr().out
    assert benchmark_id in again and "lanhar" in again
    assert main(["--home", str(home), "bench", "results", "--list"]) == 0
    assert benchmark_id in capsys.readouterr().out


def test_results_of_a_running_benchmark_say_how_long_it_has_run(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from storage import results as result_store
    from storage.db import Store

    store = Store(home / "lanhar.duckdb")
    benchmark_id = result_store.create_benchmark(store, "cross", {"pairs": []}, "test")
    assert main(["--home", str(home), "bench", "results", "--benchmark", benchmark_id]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert f"benchmark {benchmark_id} (cross, running, 0 results, running for " in header
    assert "wall" not in header


def test_variant_none_runs_the_baselines_only(home: Path, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANHAR_EVAL_BASELINES", "features_gbdt")
    assert main(["--home", str(home), "bench", "cross", "--quick", "--variant", "none"]) == 0
    assert "features_gbdt" in capsys.readouterr().out
    store = Store(home / "lanhar.duckdb")
    frame = result_store.results(store, result_store.latest_benchmark(store, "cross"))
    assert list(frame["method"]) == ["features_gbdt"]

    monkeypatch.setenv("LANHAR_EVAL_BASELINES", "")
    assert main(["--home", str(home), "bench", "cross", "--quick", "--variant", "none"]) == 2
    assert "nothing to run" in capsys.readouterr().err


def test_unknown_ablation_is_refused_before_anything_runs(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--home", str(home), "bench", "ablation", "--quick", "--ablations", "full,no_llm"]) == 2
    assert "unknown ablation(s) ['no_llm']" in capsys.readouterr().err
    assert result_store.list_benchmarks(Store(home / "lanhar.duckdb")).empty
