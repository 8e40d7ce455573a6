"""Review decisions with undo.

The store never overwrites: a decision is a new review row, an edit or a regeneration a
new version. Undo therefore does not delete anything; it records the inverse decision:
the status the interpretation had before (for accept/reject), or ``rejected`` for the
version an edit or a regeneration added, which hands "current" back to the version that
had it. Each session keeps its own stack of actions, so a reviewer undoes only their own.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from lanhar_core.llm.base import Backend
from lanhar_core.quality.runs import regenerate_one
from storage import interpretations as interp_store
from storage.db import Store

_STACK_KEY = "review_undo_stack"
_REVISION_KEY = "review_revision"


@dataclass(frozen=True)
class ReviewAction:
    """What was done, and the (interpretation id, status) pairs that undo it."""

    description: str
    restore: tuple[tuple[int, str], ...]


def _stack() -> list[ReviewAction]:
    return st.session_state.setdefault(_STACK_KEY, [])


def _push(action: ReviewAction) -> None:
    _stack().append(action)
    _bump()


def _bump() -> None:
    st.session_state[_REVISION_KEY] = revision() + 1


def revision() -> int:
    """Counts this session's actions and undos; widgets that show review status are keyed by it so they redraw."""
    return int(st.session_state.get(_REVISION_KEY, 0))


def last_action() -> ReviewAction | None:
    stack = _stack()
    return stack[-1] if stack else None


def _set_status(store: Store, item: interp_store.Interpretation, status: str, reviewer: str) -> None:
    interp_store.set_review(store, item.id, status, reviewer)
    _push(ReviewAction(f"{status} interpretation #{item.id} (window #{item.window_id})", ((item.id, item.review_status),)))


def accept(store: Store, item: interp_store.Interpretation, reviewer: str) -> None:
    _set_status(store, item, "accepted", reviewer)


def reject(store: Store, item: interp_store.Interpretation, reviewer: str) -> None:
    _set_status(store, item, "rejected", reviewer)


def edit(store: Store, item: interp_store.Interpretation, text: str, reviewer: str) -> int:
    """Save the reviewer's text as a new accepted version; undo rejects that version."""
    new_id = interp_store.edit_interpretation(store, item.id, text, reviewer)
    _push(ReviewAction(f"edited interpretation #{item.id} into #{new_id}", ((new_id, "rejected"),)))
    return new_id


def regenerate(store: Store, item: interp_store.Interpretation, backend: Backend) -> int:
    """Ask the backend to revise this text into a new current version; undo rejects that version."""
    new_id = regenerate_one(store, item.id, backend)
    _push(ReviewAction(f"regenerated interpretation #{item.id} into #{new_id}", ((new_id, "rejected"),)))
    return new_id


def undo_last(store: Store, reviewer: str) -> ReviewAction:
    """Record the inverse of the newest action of this session and drop it from the stack."""
    action = _stack()[-1]
    for interpretation_id, status in action.restore:
        interp_store.set_review(store, interpretation_id, status, reviewer, note=f"undo: {action.description}")
    _stack().pop()
    _bump()
    return action
