"""Review decisions, each one logged in the store so that undo and redo outlive the browser session.

The store never overwrites: a decision is a set of new review rows, an edit a new version.
``storage.interpretations`` logs each decision (a bulk action is one) with the status every
interpretation had before, so undo records those statuses again and redo the new ones, for
the reviewer who made it, after a reload or on another machine.

Regenerate does not replace the text the reviewer is looking at: the reply is stored as a
*candidate* (a version kept out of "current" until chosen) and the page shows it beside the
current text; keeping either one is the decision that is logged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import streamlit as st

from lanhar_core.llm.base import Backend
from lanhar_core.quality.runs import regenerate_one
from storage import interpretations as interp_store
from storage.db import Store

_REVISION_KEY = "review_revision"


def _bump() -> None:
    st.session_state[_REVISION_KEY] = revision() + 1


def revision() -> int:
    """Counts this session's decisions; widgets that show review status are keyed by it so they redraw."""
    return int(st.session_state.get(_REVISION_KEY, 0))


def _where(item: interp_store.Interpretation) -> str:
    return f"#{item.id} (window #{item.window_id})"


def _set_status(store: Store, item: interp_store.Interpretation, status: str, reviewer: str) -> int:
    verb = {"accepted": "accept", "rejected": "reject"}[status]
    decision = interp_store.decide(store, reviewer, item.collection, verb, f"{status} {_where(item)}",
                                   [interp_store.StatusChange(item.id, item.review_status, status)])
    _bump()
    return decision


def accept(store: Store, item: interp_store.Interpretation, reviewer: str) -> int:
    """Accept the text; returns the decision id."""
    return _set_status(store, item, "accepted", reviewer)


def reject(store: Store, item: interp_store.Interpretation, reviewer: str) -> int:
    """Reject the text; returns the decision id."""
    return _set_status(store, item, "rejected", reviewer)


def edit(store: Store, item: interp_store.Interpretation, text: str, reviewer: str) -> int:
    """Save the reviewer's text as a new accepted version; returns its id (undo rejects it)."""
    new_id, _ = interp_store.decide_edit(store, reviewer, item.id, text)
    _bump()
    return new_id


def regenerate_candidate(store: Store, item: interp_store.Interpretation, backend: Backend, reviewer: str) -> int:
    """Ask the backend to revise the text; the reply waits beside it as a candidate. Returns the candidate's id."""
    candidate = regenerate_one(store, item.id, backend)
    interp_store.mark_candidate(store, candidate, reviewer)
    _bump()
    return candidate


def keep_candidate(store: Store, item: interp_store.Interpretation, candidate: int, reviewer: str) -> int:
    """The candidate replaces the current text (accepted, so an automatic run cannot displace it)."""
    decision = interp_store.decide(store, reviewer, item.collection, "keep-candidate",
                                   f"kept regenerated #{candidate} over {_where(item)}",
                                   [interp_store.StatusChange(candidate, "rejected", "accepted")])
    _bump()
    return decision


def keep_current(store: Store, item: interp_store.Interpretation, candidate: int, reviewer: str) -> int:
    """The current text stays; the candidate is rejected (it remains in the history)."""
    decision = interp_store.decide(store, reviewer, item.collection, "keep-current",
                                   f"kept {_where(item)} over regenerated #{candidate}",
                                   [interp_store.StatusChange(candidate, "rejected", "rejected")])
    _bump()
    return decision


def bulk_status(store: Store, collection: str, ids: Sequence[int], status: str, reviewer: str) -> int:
    """Accept or reject every listed interpretation as one decision (one undo)."""
    before = interp_store.statuses(store, ids)
    verb = {"accepted": "accept", "rejected": "reject"}[status]
    decision = interp_store.decide(store, reviewer, collection, f"bulk-{verb}", f"{status} {len(ids)} texts",
                                   [interp_store.StatusChange(i, before[i], status) for i in ids])
    _bump()
    return decision


def bulk_regenerate(
    store: Store, collection: str, ids: Sequence[int], backend: Backend, reviewer: str,
    on_progress: Callable[[int, int], None] | None = None,
) -> tuple[int | None, list[int]]:
    """Regenerate each listed text into its new current version, logged as one decision; (decision id, skipped ids).

    Texts a reviewer accepted are skipped: they are the reviewer's word, and a regenerated
    version could not become current over them anyway. Undo rejects the new versions.
    """
    before = interp_store.statuses(store, ids)
    todo = [i for i in ids if before[i] != "accepted"]
    new_ids = []
    for n, interpretation_id in enumerate(todo, 1):
        new_ids.append(regenerate_one(store, interpretation_id, backend))
        if on_progress:
            on_progress(n, len(todo))
    decision = None
    if new_ids:
        decision = interp_store.decide(store, reviewer, collection, "bulk-regenerate", f"regenerated {len(new_ids)} texts",
                                       [interp_store.StatusChange(i, "rejected", "unreviewed") for i in new_ids])
    _bump()
    return decision, [i for i in ids if before[i] == "accepted"]


def undo(store: Store, reviewer: str) -> interp_store.Decision:
    """Unmake the reviewer's newest decision still in force."""
    decision = interp_store.undo_decision(store, reviewer)
    _bump()
    return decision


def redo(store: Store, reviewer: str) -> interp_store.Decision:
    """Make the reviewer's most recently undone decision again."""
    decision = interp_store.redo_decision(store, reviewer)
    _bump()
    return decision
