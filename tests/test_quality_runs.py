"""Quality runs against a real store: flag, fact-check and re-generate a rules collection with planted corruptions."""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pytest

from lanhar_core.config import Settings, with_overrides
from lanhar_core.interpret import interpret_windows
from lanhar_core.llm.rules_backend import RulesBackend
from lanhar_core.quality.runs import regenerate_one, run_factcheck, run_flagging, run_kl, run_regeneration
from storage import interpretations as it
from storage import quality as q
from storage.db import Store

from window_fixtures import add_toy_dataset

COLLECTION = "rules:rules-v2"
NOISE = " Lorem ipsum dolor sit amet, consectetur adipiscing elit, zebra quantum marmalade."


def embed(texts: list[str]) -> np.ndarray:
    """Deterministic hashed bag of words (stands in for the text encoder)."""
    out = np.zeros((len(texts), 64))
    for row, text in enumerate(texts):
        for token in re.findall(r"[a-z]+", text.lower()):
            out[row, int(hashlib.md5(token.encode()).hexdigest()[:8], 16) % 64] += 1.0
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


def _corrupt(text: str) -> str:
    return re.sub(r"step (\d+(?:\.\d+)?) Hz", lambda m: f"step {float(m.group(1)) * 3:.1f} Hz", text) + NOISE


@pytest.fixture
def collection(store: Store, settings: Settings) -> dict[str, int]:
    add_toy_dataset(store, n_windows=24)
    interpret_windows(store, settings, "toy", RulesBackend("rules-v2"))
    current = it.current_window_interpretations(store, COLLECTION, "toy")
    walk = current[current["label"] == "walk"].reset_index(drop=True)
    planted = {}
    for name, row in (("free", walk.iloc[1]), ("locked", walk.iloc[3])):
        item = it.InterpretationIn(
            collection=COLLECTION, target_kind="window", text=_corrupt(row["text"]), backend="rules", model="rules-v2",
            valid=True, window_id=int(row["window_id"]),
        )
        planted[name] = it.add_interpretation(store, item)
        planted[f"{name}_window"] = int(row["window_id"])
    it.set_review(store, planted["locked"], "accepted", "expert")
    return planted


def _settings(settings: Settings) -> Settings:
    return with_overrides(settings, "quality", max_flags=2, max_flag_share=0.2, patience=2, max_iterations=4)


def test_flag_and_factcheck_runs_find_the_planted_corruption(store: Store, settings: Settings, collection: dict[str, int]) -> None:
    report = run_flagging(store, _settings(settings), COLLECTION, "toy", embed)
    flags = q.flags(store, run_id=report.run_id)
    by_id = dict(zip(flags["interpretation_id"], flags["reason"]))
    assert by_id[collection["free"]] == "both"
    assert collection["locked"] not in by_id
    assert report.n_locked == 1 and 0 < report.flagged_share < 0.5

    fc = run_factcheck(store, settings, COLLECTION, "toy")
    checks = q.fact_checks(store, run_id=fc.run_id)
    assert set(checks["interpretation_id"]) == {collection["free"], collection["locked"]}
    assert set(checks["feature"]) <= {"step_freq_hz", "dominant_freq_hz"}
    assert fc.n_claims > 10 * fc.n_texts
    assert q.get_run(store, report.run_id).status == "finished"


def test_regeneration_fixes_the_free_corruption_and_leaves_the_reviewed_one(
    store: Store, settings: Settings, collection: dict[str, int]
) -> None:
    report = run_regeneration(store, _settings(settings), COLLECTION, "toy", RulesBackend("rules-v2"), embed)
    summary = q.get_run(store, report.run_id).summary
    assert summary["n_accepted"] >= 1
    assert summary["mean_distance_after"] < summary["mean_distance_before"]
    assert report.result.stop_reason in ("converged", "nothing flagged", "max_iterations")

    current = it.current_window_interpretations(store, COLLECTION, "toy").set_index("window_id")
    fixed = current.loc[collection["free_window"]]
    assert fixed["origin"] == "regenerated" and NOISE not in fixed["text"]
    chain = it.history(store, COLLECTION, collection["free_window"])
    assert int(chain.iloc[-1]["parent_id"]) == collection["free"]
    locked = current.loc[collection["locked_window"]]
    assert int(locked["interpretation_id"]) == collection["locked"] and NOISE in locked["text"]

    cands = q.candidates(store, run_id=report.run_id)
    assert collection["locked"] not in set(cands["interpretation_id"])
    accepted = cands[cands["decision"] == "accepted"]
    assert int(accepted.iloc[0]["new_interpretation_id"]) == int(fixed["interpretation_id"])
    iterations = q.iterations(store, report.run_id)
    assert len(iterations) == len(report.result.iterations)
    assert q.texts_before_run(store, report.run_id)[collection["free_window"]].endswith(NOISE)


def test_kl_run_on_raw_and_features(store: Store, settings: Settings) -> None:
    add_toy_dataset(store, n_windows=12, dataset="a")
    add_toy_dataset(store, n_windows=12, dataset="b")
    for rep in ("raw", "features"):
        report = run_kl(store, settings, "a", "b", rep, labels=("walk", "sit"))
        assert {r.label for r in report.rows["current"]} == {"walk", "sit"}
        assert np.isfinite(report.average())
    assert len(q.kl_results(store)) == 4


def test_regenerate_one_stores_the_revision_as_the_next_current_version(store: Store, collection: dict[str, int]) -> None:
    window = collection["free_window"]
    new_id = regenerate_one(store, collection["free"], RulesBackend("rules-v2"))
    revised = it.get_interpretation(store, new_id)
    assert revised.origin == "regenerated" and revised.parent_id == collection["free"]
    assert NOISE not in revised.text and revised.valid
    assert revised.prompt_messages and "previous response" in revised.prompt_messages[-1]["content"]
    current = it.current_window_interpretations(store, COLLECTION, "toy").set_index("window_id")
    assert current.loc[window, "interpretation_id"] == new_id

    locked_window = collection["locked_window"]
    regenerate_one(store, collection["locked"], RulesBackend("rules-v2"))
    current = it.current_window_interpretations(store, COLLECTION, "toy").set_index("window_id")
    assert current.loc[locked_window, "interpretation_id"] == collection["locked"], "an accepted version stays current"
