"""Quality records: runs, flags (kept across runs), iterations, candidates, fact checks, KL tables."""

from __future__ import annotations

import pandas as pd
import pytest

from lanhar_core.errors import NotFoundError
from storage import quality as q
from storage.db import Store
from storage.interpretations import InterpretationIn, add_interpretation


def _flag(interp: int, reason: str = "outlier", rank: int | None = 1) -> q.FlagRow:
    return q.FlagRow(interp, 10 + interp, "walk", 0, 0.5, 0.3, rank, reason, 0 if reason == "outlier" else 1)


def test_runs_and_flags_of_earlier_runs_are_kept(store: Store) -> None:
    first = q.create_run(store, "flag", "rules:rules-v2", "sample", {"k": None})
    q.add_flags(store, first, 0, [_flag(1), _flag(2, "contradiction", None)])
    q.finish_run(store, first, "finished", {"flagged": 2})
    second = q.create_run(store, "flag", "rules:rules-v2", "sample", {"k": 2})
    q.add_flags(store, second, 0, [_flag(1, "both")])
    q.finish_run(store, second, "finished", {"flagged": 1})

    all_flags = q.flags(store)
    assert len(all_flags) == 3
    for_one = q.flags(store, interpretation_id=1)
    assert list(for_one["run_id"]) == [second, first]
    assert list(for_one["reason"]) == ["both", "outlier"]
    contradiction = q.flags(store, run_id=first, window_id=12).iloc[0]
    assert pd.isna(contradiction["rank"]) and contradiction["reason"] == "contradiction"
    run = q.get_run(store, first)
    assert run.status == "finished" and run.summary == {"flagged": 2} and run.params == {"k": None}
    assert [r.id for r in q.list_runs(store, kind="flag")] == [second, first]
    with pytest.raises(NotFoundError):
        q.get_run(store, 999)
    with pytest.raises(ValueError):
        q.add_flags(store, first, 0, [_flag(3, "weird")])


def test_iteration_candidates_and_texts_before_a_run(store: Store) -> None:
    base = InterpretationIn(collection="c", target_kind="window", text="old text", backend="rules", model="m", valid=True, window_id=7)
    old_id = add_interpretation(store, base)
    new_id = add_interpretation(store, InterpretationIn(**{**base.__dict__, "text": "new text", "origin": "regenerated"}))
    run = q.create_run(store, "regenerate", "c", "d", {}, backend="rules")
    q.record_iteration(
        store,
        run,
        q.IterationRow(1, 10, 2, 2, 1, 1, 0, 0, 0, 0, 0.40, 0.38),
        [_flag(old_id), _flag(99)],
        [
            q.CandidateRow(old_id, 7, "new text", "accepted", 0.4, 0.38, 0, 0, None, new_id),
            q.CandidateRow(99, None, "worse", "rejected", 0.4, 0.45, None, None),
        ],
    )
    it = q.iterations(store, run)
    assert it.iloc[0]["n_accepted"] == 1 and it.iloc[0]["mean_distance_after"] == pytest.approx(0.38)
    cands = q.candidates(store, run_id=run)
    assert list(cands["decision"]) == ["accepted", "rejected"]
    assert int(cands.iloc[0]["new_interpretation_id"]) == new_id
    assert q.texts_before_run(store, run) == {7: "old text"}
    with pytest.raises(ValueError):
        q.record_iteration(store, run, q.IterationRow(2, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0.1, 0.1), [], [
            q.CandidateRow(1, None, "x", "maybe", None, None, None, None)
        ])
    assert len(q.iterations(store, run)) == 1  # the failed iteration left nothing behind


def test_fact_checks_and_kl_tables(store: Store) -> None:
    run = q.create_run(store, "factcheck", "c", "d", {})
    q.add_fact_checks(store, run, [q.FactCheckRow(5, None, "2.5 Hz", "step_freq_hz", 2.5, 1.1, "frequency", "major")])
    checks = q.fact_checks(store, interpretation_id=5)
    assert checks.iloc[0]["feature"] == "step_freq_hz" and checks.iloc[0]["severity"] == "major"
    kl_run = q.create_run(store, "kl", None, None, {"a": "x", "b": "y"})
    rows = [q.KLRow("walk", 0.1, 1.0, 0.1, 50, 60), q.KLRow("sit", 0.2, 1.0, 0.2, 40, 30)]
    q.add_kl(store, kl_run, "x", "y", "raw", "gaussian", rows)
    q.add_kl(store, kl_run, "x", "y", "text", "gaussian", rows, collection="c", variant=f"before_run:{run}")
    table = q.kl_results(store, kl_run)
    assert len(table) == 4 and set(table["variant"]) == {"current", f"before_run:{run}"}
