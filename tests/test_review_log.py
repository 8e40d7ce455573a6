"""The review decision log: undo and redo from the store, per reviewer, bulk decisions as one."""

from __future__ import annotations

import pytest

from lanhar_core.errors import NotFoundError
from storage import interpretations as it
from storage.db import Store

from window_fixtures import add_toy_dataset

COLLECTION = "rules:rules-v2"


def _texts(store: Store, n: int = 3) -> list[int]:
    windows = add_toy_dataset(store, n_windows=n)
    return it.add_interpretations(store, [
        it.InterpretationIn(collection=COLLECTION, target_kind="window", window_id=w, text=f"text {w}",
                            backend="rules", model="rules-v2", valid=True)
        for w in windows
    ])


def _status(store: Store, ids: list[int]) -> list[str]:
    found = it.statuses(store, ids)
    return [found[i] for i in ids]


def test_undo_and_redo_survive_a_new_store_object(store: Store) -> None:
    a, b, _ = _texts(store)
    it.decide(store, "ana", COLLECTION, "accept", f"accepted #{a}", [it.StatusChange(a, "unreviewed", "accepted")])
    it.decide(store, "ana", COLLECTION, "reject", f"rejected #{b}", [it.StatusChange(b, "unreviewed", "rejected")])
    reopened = Store(store.path)  # a reload, another session or another process sees the same log
    assert it.undoable(reopened, "ana").action == "reject"
    assert it.undo_decision(reopened, "ana").action == "reject"
    assert it.undo_decision(reopened, "ana").action == "accept"
    assert _status(store, [a, b]) == ["unreviewed", "unreviewed"]
    assert it.redo_decision(store, "ana").action == "accept"  # the most recently undone comes back first
    assert _status(store, [a, b]) == ["accepted", "unreviewed"]
    assert it.redoable(store, "ana").action == "reject"
    assert list(it.decision_log(store, "ana")["state"]) == ["undone", "done"]


def test_a_new_decision_clears_the_redo_list(store: Store) -> None:
    a, b, _ = _texts(store)
    it.decide(store, "ana", COLLECTION, "accept", "a", [it.StatusChange(a, "unreviewed", "accepted")])
    it.undo_decision(store, "ana")
    it.decide(store, "ana", COLLECTION, "accept", "b", [it.StatusChange(b, "unreviewed", "accepted")])
    assert it.redoable(store, "ana") is None
    with pytest.raises(NotFoundError, match="nothing to redo"):
        it.redo_decision(store, "ana")
    assert list(it.decision_log(store, "ana")["state"]) == ["done", "dropped"]


def test_reviewers_undo_only_their_own_decisions(store: Store) -> None:
    a, b, _ = _texts(store)
    it.decide(store, "ana", COLLECTION, "accept", "a", [it.StatusChange(a, "unreviewed", "accepted")])
    it.decide(store, "ben", COLLECTION, "reject", "b", [it.StatusChange(b, "unreviewed", "rejected")])
    assert it.undo_decision(store, "ana").changes == (it.StatusChange(a, "unreviewed", "accepted"),)
    assert _status(store, [a, b]) == ["unreviewed", "rejected"]
    with pytest.raises(NotFoundError, match="no decision to undo"):
        it.undo_decision(store, "ana")


def test_a_bulk_decision_is_one_undo(store: Store) -> None:
    ids = _texts(store, 4)
    it.decide(store, "ana", COLLECTION, "bulk-reject", "4 texts", [it.StatusChange(i, "unreviewed", "rejected") for i in ids])
    assert set(_status(store, ids)) == {"rejected"}
    assert len(it.undo_decision(store, "ana").changes) == 4
    assert set(_status(store, ids)) == {"unreviewed"}


def test_a_bulk_decision_on_a_missing_interpretation_changes_nothing(store: Store) -> None:
    ids = _texts(store, 2)
    with pytest.raises(NotFoundError):
        it.decide(store, "ana", COLLECTION, "bulk-accept", "x",
                  [it.StatusChange(ids[0], "unreviewed", "accepted"), it.StatusChange(10**9, "unreviewed", "accepted")])
    assert _status(store, ids) == ["unreviewed", "unreviewed"] and it.undoable(store, "ana") is None


def test_edit_undo_gives_current_back_and_redo_restores_the_edit(store: Store) -> None:
    a, *_ = _texts(store)
    window = it.get_interpretation(store, a).window_id
    new_id, _ = it.decide_edit(store, "ana", a, "corrected text")

    def current_text() -> str:
        cur = it.current_window_interpretations(store, COLLECTION)
        return cur.loc[cur["window_id"] == window, "text"].iloc[0]

    assert current_text() == "corrected text"
    it.undo_decision(store, "ana")
    assert current_text() == f"text {window}"
    it.redo_decision(store, "ana")
    assert current_text() == "corrected text"


def test_a_candidate_waits_outside_current_until_kept(store: Store) -> None:
    a, *_ = _texts(store)
    window = it.get_interpretation(store, a).window_id
    it.decide(store, "ana", COLLECTION, "accept", "a", [it.StatusChange(a, "unreviewed", "accepted")])
    [candidate] = it.add_interpretations(store, [it.InterpretationIn(
        collection=COLLECTION, target_kind="window", window_id=window, text="candidate", backend="rules",
        model="rules-v2", valid=True, origin="regenerated")])
    it.mark_candidate(store, candidate, "ana")
    assert it.pending_candidate(store, COLLECTION, window) == candidate
    cur = it.current_window_interpretations(store, COLLECTION)
    assert cur.loc[cur["window_id"] == window, "interpretation_id"].iloc[0] == a
    it.decide(store, "ana", COLLECTION, "keep-candidate", "kept", [it.StatusChange(candidate, "rejected", "accepted")])
    assert it.pending_candidate(store, COLLECTION, window) is None
    cur = it.current_window_interpretations(store, COLLECTION)
    assert cur.loc[cur["window_id"] == window, "text"].iloc[0] == "candidate"  # newest accepted wins over the older accepted one
