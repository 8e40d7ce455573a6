"""Re-generation loop: accept rule, stopping rule, reviewer-locked members, fact-check veto."""

from __future__ import annotations

import numpy as np
import pytest

from lanhar_core.llm.base import Generation
from lanhar_core.quality.outliers import OutlierParams
from lanhar_core.quality.regenerate import ItemState, RegenerationParams, regenerate, substitution_gain

DIM = 6


def embed(texts: list[str]) -> np.ndarray:
    """'good N' near e0, 'bad N' far away along another axis, 'better N' exactly at e0."""
    rows = []
    for text in texts:
        kind, number = text.split()[:2]
        rng = np.random.default_rng(int(number))
        v = np.zeros(DIM)
        v[0] = 1.0
        if kind == "good":
            v += rng.normal(0, 0.05, DIM)
        elif kind == "bad":
            v[1 + int(number) % (DIM - 1)] += 2.0
        elif kind == "worse":
            v[1 + int(number) % (DIM - 1)] += 4.0
        rows.append(v)
    return np.array(rows)


def _items(n_good: int = 30, bad: tuple[int, ...] = (101, 102, 103)) -> list[ItemState]:
    items = [ItemState(i, 1000 + i, "walk", f"good {i}") for i in range(n_good)]
    items += [ItemState(b, 1000 + b, "walk", f"bad {b}") for b in bad]
    return items


def _params(**kw: object) -> RegenerationParams:
    return RegenerationParams(outliers=OutlierParams(max_flags=5, max_flag_share=0.2), **kw)


def reviser(reply: str) -> object:
    def revise(batch: list[ItemState]) -> list[Generation]:
        return [Generation(text=f"{reply} {it.text.split()[1]}", ok=True) for it in batch]

    return revise


def test_substitution_gain_prefers_candidates_near_the_centre() -> None:
    members = np.array([[0.0, 0.0], [0.0, 0.2], [0.2, 0.0], [3.0, 3.0]])
    before, after = substitution_gain(members, 3, np.array([0.1, 0.1]))
    assert after < before
    before, worse = substitution_gain(members, 3, np.array([6.0, 6.0]))
    assert worse > before


def test_better_candidates_are_accepted_and_worse_ones_rejected() -> None:
    items = _items()
    result = regenerate(items, embed, reviser("better"), _params(max_iterations=1))
    first = result.iterations[0]
    assert {f.index for f in first.flags} >= {30, 31, 32}
    accepted = {d.index for d in first.decisions if d.decision == "accepted"}
    assert {30, 31, 32} <= accepted
    assert all(items[i].text.startswith("better") for i in (30, 31, 32))
    assert result.final_mean_distance < result.initial_mean_distance

    items = _items()
    result = regenerate(items, embed, reviser("worse"), _params(max_iterations=1))
    decisions = result.iterations[0].decisions
    assert decisions and all(d.decision == "rejected" for d in decisions)
    assert all(d.distance_after > d.distance_before for d in decisions)
    assert [it.text for it in items] == [it.text for it in _items()]


def test_loop_stops_when_the_distance_no_longer_changes() -> None:
    calls: list[int] = []

    def sink(iteration: object, _items: list[ItemState]) -> None:
        calls.append(iteration.number)  # type: ignore[attr-defined]

    result = regenerate(_items(), embed, reviser("worse"), _params(patience=3, max_iterations=10), on_iteration=sink)
    assert result.stop_reason == "converged"
    assert len(result.iterations) == 3 and calls == [1, 2, 3]

    result = regenerate(_items(), embed, reviser("better"), _params(patience=2, max_iterations=10))
    assert result.stop_reason in ("converged", "nothing flagged")
    assert result.iterations[0].count("accepted") >= 3
    assert result.final_mean_distance < result.initial_mean_distance

    result = regenerate(_items(), embed, reviser("worse"), _params(patience=5, max_iterations=2))
    assert result.stop_reason == "max_iterations" and len(result.iterations) == 2


def test_identical_and_failed_replies_are_recorded_not_applied() -> None:
    def same(batch: list[ItemState]) -> list[Generation]:
        return [Generation(text=it.text, ok=True) if i % 2 else Generation("", False, "timeout") for i, it in enumerate(batch)]

    items = _items()
    result = regenerate(items, embed, same, _params(max_iterations=5, patience=2))
    kinds = {d.decision for it in result.iterations for d in it.decisions}
    assert kinds == {"unchanged", "failed"}
    assert result.stop_reason == "converged" and result.accepted_share == 0.0
    assert result.final_mean_distance == pytest.approx(result.initial_mean_distance)


def test_reviewer_locked_members_are_never_flagged_or_replaced() -> None:
    items = _items()
    items[30].locked = True
    seen: list[int] = []

    def revise(batch: list[ItemState]) -> list[Generation]:
        seen.extend(it.interpretation_id for it in batch)
        return [Generation(text=f"better {it.text.split()[1]}", ok=True) for it in batch]

    regenerate(items, embed, revise, _params(max_iterations=3))
    assert 101 not in seen
    assert items[30].text == "bad 101"
    assert items[31].text.startswith("better")


def test_contradictions_are_flagged_and_veto_acceptance() -> None:
    items = _items()

    def check(item: ItemState, text: str) -> int:
        if item.interpretation_id == 5:
            return 1 if text.startswith("good") else 0
        return 2 if text.startswith("better") and item.interpretation_id == 102 else 0

    result = regenerate(items, embed, reviser("better"), _params(max_iterations=1), check=check)
    reasons = {f.index: f.reason for f in result.iterations[0].flags}
    assert reasons[5] == "contradiction"
    assert reasons[30] == "outlier"
    by_index = {d.index: d for d in result.iterations[0].decisions}
    assert by_index[31].decision == "rejected" and by_index[31].contradictions_after == 2
    assert by_index[30].decision == "accepted"
    assert by_index[5].contradictions_before == 1 and by_index[5].contradictions_after == 0
