"""Interpretation review: a reviewer's work loop over the flagged texts.

The queue opens on the texts the quality runs flagged (the sample's are flagged in the
background on first run), worst first. For each one the reviewer sees the window's signals
beside the text, the fact-check's findings highlighted in the text, why it was flagged, the
exact prompt and every earlier version, and decides: accept, reject, edit, or regenerate,
which puts the model's new version beside the current one with a word diff so either can
be kept. Every decision (a bulk one too) is logged in the store, so undo and redo work for
this reviewer after a reload or in another session. Buttons carry keyboard shortcuts.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.components import cached
from app.components.context import get_backend, get_settings, get_store
from app.components.errors import user_errors
from app.components.filters import pick_one, pick_optional
from app.components.jobs import show_job, start_job
from app.components.markup import diff_counts, diff_sides, escape, highlight
from app.components.plots import UNLABELED, imu_figure
from app.components.review_actions import (
    accept,
    bulk_regenerate,
    bulk_status,
    edit,
    keep_candidate,
    keep_current,
    redo,
    regenerate_candidate,
    reject,
    revision,
    undo,
)
from app.components.selection import selection
from lanhar_core.config import Settings
from lanhar_core.interpret import window_signals_as_written
from lanhar_core.jobs import Progress
from lanhar_core.quality import factcheck
from lanhar_core.quality.runs import default_embed, run_factcheck, run_flagging, run_regeneration
from lanhar_core.sample_interpretations import SAMPLE_FLAG_JOB
from lanhar_core.signal.features import FEATURES, window_features
from storage import datasets as data_store
from storage import interpretations as interp_store
from storage import jobs as job_store
from storage import quality as quality_store
from storage.db import Store

_CURRENT_KEY = "review_current_window"
_NAV_KEY = "review_nav"
SHOW_FLAGGED, SHOW_ALL, SHOW_SELECTED = "Flagged", "All", "Selected on the map"
SHORTCUTS = {"accept": "A", "reject": "X", "regenerate": "G", "undo": "Z", "redo": "Y", "next": "N", "previous": "P",
             "keep_current": "1", "keep_candidate": "2", "save_edit": "Ctrl+Enter"}
FLAG_COLUMNS = {
    "run_id": "run",
    "run_kind": "run kind",
    "iteration": "iteration",
    "reason": "reason",
    "grp": "group",
    "cluster": "cluster",
    "distance": "distance",
    "cluster_mean_distance": "cluster mean distance",
    "rank": "rank",
    "n_contradictions": "contradictions",
}
CONTRADICTION_COLUMNS = ["run_id", "claim", "feature", "claimed_value", "measured_value", "rule", "severity"]
FINDING_COLUMNS = ["kind", "severity", "claim", "feature", "claimed_value", "measured_value", "rule"]
HISTORY_COLUMNS = ["version", "interpretation_id", "origin", "backend", "model", "valid", "review_status", "reviewer", "created_at", "text"]


# ---------------------------------------------------------------- cached reads


@st.cache_data(show_spinner=False, max_entries=256)
def _features(db_path: str, window_id: int, collection: str) -> dict[str, float]:
    """The feature record in the axes the collection's writer saw (the body-segment frame for rules-v3)."""
    return window_features(*window_signals_as_written(get_store(), window_id, collection))


def default_collection(collections: pd.DataFrame, flagged: dict[str, int]) -> int:
    """Index of the collection to open on: the one with the most flagged texts, else the largest."""
    names = collections["collection"].tolist()
    if any(flagged.values()):
        return names.index(max(names, key=lambda c: flagged.get(c, 0)))
    return cached.largest_collection(collections)


# ---------------------------------------------------------------- the queue


def queue(current: pd.DataFrame, flags: pd.DataFrame, summary: pd.DataFrame) -> pd.DataFrame:
    """Filters above the queue; returns the texts that pass them, flagged ones worst first."""
    rows = current.assign(label=current["label"].fillna(UNLABELED)).join(summary, on="window_id")
    selected, origin = selection()
    modes = [SHOW_FLAGGED, SHOW_ALL] + ([SHOW_SELECTED] if selected else [])
    c1, c2, c3, c4 = st.columns([2, 2, 4, 2])
    dataset = pick_optional("Dataset", sorted(rows["dataset"].unique()), "review_dataset", c1)
    if dataset is not None:
        rows = rows[rows["dataset"] == dataset]
    label = pick_optional("Activity", sorted(rows["label"].unique()), "review_label", c2)
    default_mode = 0 if not flags.empty else 1
    show = c3.radio("Show", modes, index=default_mode, key="review_show", horizontal=True,
                    help=f"{len(selected)} windows selected on {origin}" if selected else None)
    status = pick_optional("Review status", list(interp_store.REVIEW_STATUSES), "review_status", c4)
    if label is not None:
        rows = rows[rows["label"] == label]
    if show == SHOW_FLAGGED:
        rows = rows[rows["reasons"].notna()].sort_values(["worst", "window_id"], ascending=[False, True])
    elif show == SHOW_SELECTED:
        rows = rows[rows["window_id"].isin(selected)]
    if status is not None:
        rows = rows[rows["review_status"] == status]
    return rows


def _go(window_id: int) -> None:
    st.session_state[_CURRENT_KEY] = int(window_id)
    st.session_state[_NAV_KEY] = int(st.session_state.get(_NAV_KEY, 0)) + 1


def _jumped(key: str) -> None:
    st.session_state[_CURRENT_KEY] = int(st.session_state[key])


JUMP_LIST_SPAN = 100  # texts listed before and after the current one (a 100k-text list would cost seconds per rerun)


def navigator(rows: pd.DataFrame) -> tuple[pd.Series, int | None]:
    """Previous / next buttons and a jump list around the current text; returns the row shown and the one after it."""
    order = rows["window_id"].to_numpy()
    current = st.session_state.get(_CURRENT_KEY)
    found = (order == current).nonzero()[0] if current is not None else []
    pos = int(found[0]) if len(found) else 0
    current = int(order[pos])
    st.session_state[_CURRENT_KEY] = current
    prev_id = int(order[pos - 1]) if pos > 0 else None
    next_id = int(order[pos + 1]) if pos + 1 < len(order) else None
    first = max(0, pos - JUMP_LIST_SPAN)
    options = [int(w) for w in order[first : pos + JUMP_LIST_SPAN + 1]]
    by_window = rows.iloc[first : pos + JUMP_LIST_SPAN + 1].set_index("window_id")

    def describe(window_id: int) -> str:
        row = by_window.loc[window_id]
        flag = f" · flagged: {row['reasons']}" if isinstance(row["reasons"], str) else ""
        return f"window #{window_id} · {row['label']} · {row['review_status']} · v{row['version']} {row['origin']}{flag}"

    back, where, forward = st.columns([1, 6, 1], vertical_alignment="bottom")
    back.button("Previous", key="review_prev", icon=":material/arrow_back:", disabled=prev_id is None,
                shortcut=SHORTCUTS["previous"], on_click=_go, args=(prev_id,), width="stretch")
    forward.button("Next", key="review_next", icon=":material/arrow_forward:", disabled=next_id is None,
                   shortcut=SHORTCUTS["next"], on_click=_go, args=(next_id,), width="stretch")
    jump_key = f"review_jump_{st.session_state.get(_NAV_KEY, 0)}_{revision()}"
    where.selectbox(f"Text {pos + 1} of {len(order)}", options, index=pos - first, key=jump_key, format_func=describe,
                    on_change=_jumped, args=(jump_key,))
    return by_window.loc[current].rename(current), next_id


def decision_bar(store: Store, reviewer: str) -> None:
    """Undo / redo of this reviewer's stored decisions, with what each would unmake or make again."""
    last, again = interp_store.undoable(store, reviewer), interp_store.redoable(store, reviewer)
    text, u, r = st.columns([6, 1, 1], vertical_alignment="center")
    parts = []
    if last:
        parts.append(f"last decision: {last.description}")
    if again:
        parts.append(f"redo: {again.description}")
    text.caption(f"**{reviewer}** · " + (" · ".join(parts) if parts else "no decision yet"))
    with user_errors("Undo failed"):
        if u.button("Undo", key="review_undo", icon=":material/undo:", disabled=last is None,
                    shortcut=SHORTCUTS["undo"], width="stretch"):
            st.toast(f"Undone: {undo(store, reviewer).description}")
            st.rerun()
    with user_errors("Redo failed"):
        if r.button("Redo", key="review_redo", icon=":material/redo:", disabled=again is None,
                    shortcut=SHORTCUTS["redo"], width="stretch"):
            st.toast(f"Redone: {redo(store, reviewer).description}")
            st.rerun()


# ---------------------------------------------------------------- one text


def signal_panel(store: Store, window_id: int, collection: str) -> dict[str, float]:
    """The window's six channels and the feature record the text should agree with; returns the features."""
    window = data_store.get_window(store, window_id)
    title = f"Window #{window.id} · {window.label or UNLABELED} · {window.dataset} subject {window.subject}"
    st.plotly_chart(imu_figure(window.signals, window.rate_hz, title=title, height=400), key="review_plot")
    values = _features(str(store.path), window_id, collection)
    table = pd.DataFrame(
        {
            "feature": [f.key for f in FEATURES],
            "value": [round(float(values[f.key]), 3) for f in FEATURES],
            "unit": [f.unit for f in FEATURES],
            "meaning": [f.meaning for f in FEATURES],
        }
    )
    with st.expander("Computed features (what the prompt gave the model)"):
        st.dataframe(table, hide_index=True, height=300,
                     column_config={"meaning": st.column_config.TextColumn(width="large")})
    return values


def checked_text(text: str, features: dict[str, float]) -> list[factcheck.Contradiction]:
    """The text with the fact-check's findings on it (red: major, orange: minor); returns the findings."""
    found = factcheck.check(text, features, get_settings().quality.factcheck_rel_tol)
    spans = [(a, b, c.severity) for c in found for a, b in c.spans]
    st.container(border=True).markdown(highlight(text, spans))
    return found


def findings_table(found: list[factcheck.Contradiction]) -> None:
    if not found:
        st.caption("Fact check of this text: no claim contradicts the measured features.")
        return
    kinds = ", ".join(f"{n} {k}" for k, n in pd.Series([c.kind for c in found]).value_counts().items())
    st.markdown(f"**Fact check of this text: {len(found)} finding(s)** ({kinds}; highlighted above)")
    frame = pd.DataFrame([vars(c) for c in found])[FINDING_COLUMNS]
    st.dataframe(frame, hide_index=True, column_config={"rule": st.column_config.TextColumn(width="large"),
                                                         "claim": st.column_config.TextColumn(width="medium")})


def interpretation_panel(
    store: Store, collection: str, row: pd.Series, flags: pd.DataFrame, features: dict[str, float], reviewer: str,
    next_id: int | None,
) -> None:
    """The current text (or the current text and a regenerated candidate side by side), actions, flags, prompt, history."""
    item = interp_store.get_interpretation(store, int(row["interpretation_id"]))
    author = "rule-based writer (not an LLM)" if item.backend == "rules" else f"{item.backend} · {item.model}"
    st.markdown(f"**Version {item.version}** · {item.origin} by {author} · status **{item.review_status}**")
    if not item.valid:
        st.warning(f"Marked invalid: {item.invalid_reason}")
    candidate_id = interp_store.pending_candidate(store, collection, int(row.name))
    if candidate_id is not None:
        candidate_panel(store, item, interp_store.get_interpretation(store, candidate_id), features, reviewer)
    else:
        findings_table(checked_text(item.text, features))
        action_buttons(store, item, reviewer, next_id)
    flag_details(store, item.id, item.window_id, flags)
    with st.expander("Exact prompt"):
        st.caption(f"template {item.prompt_template} · version {item.prompt_version}")
        for message in item.prompt_messages:
            st.markdown(f"*{message.get('role', '')}*")
            st.code(message.get("content", ""), language=None, wrap_lines=True)
    with st.expander("History of versions"):
        history = interp_store.history(store, collection, int(item.window_id))
        st.dataframe(history[HISTORY_COLUMNS], hide_index=True,
                     column_config={"text": st.column_config.TextColumn(width="large")})


def candidate_panel(
    store: Store, item: interp_store.Interpretation, candidate: interp_store.Interpretation,
    features: dict[str, float], reviewer: str,
) -> None:
    """Current and regenerated text side by side with a word diff; the reviewer keeps one of them."""
    removed, added = diff_counts(item.text, candidate.text)
    st.info(f"Regenerated by {candidate.backend} · {candidate.model} (#{candidate.id}): {removed} words removed, "
            f"{added} added. Keep one of the two.")
    left_md, right_md = diff_sides(item.text, candidate.text)
    rel_tol = get_settings().quality.factcheck_rel_tol
    n_now = len(factcheck.check(item.text, features, rel_tol))
    n_new = len(factcheck.check(candidate.text, features, rel_tol))
    left, right = st.columns(2)
    left.markdown(f"**Current** (v{item.version}, {n_now} fact-check finding(s))")
    left.container(border=True).markdown(left_md)
    right.markdown(f"**Candidate** (v{candidate.version}, {n_new} finding(s)"
                   + ("" if candidate.valid else f", invalid: {escape(candidate.invalid_reason or '')}") + ")")
    right.container(border=True).markdown(right_md)
    with user_errors("The choice was not saved"):
        if left.button("Keep current", key="review_keep_current", icon=":material/undo:",
                       shortcut=SHORTCUTS["keep_current"], width="stretch"):
            keep_current(store, item, candidate.id, reviewer)
            st.rerun()
        if right.button("Keep candidate", key="review_keep_candidate", icon=":material/check:", type="primary",
                        shortcut=SHORTCUTS["keep_candidate"], width="stretch"):
            keep_candidate(store, item, candidate.id, reviewer)
            st.rerun()


def action_buttons(store: Store, item: interp_store.Interpretation, reviewer: str, next_id: int | None) -> None:
    """Accept / reject (then on to the next text), regenerate into a candidate, and the edit form."""
    a, r, g = st.columns(3)
    with user_errors("The action failed"):
        if a.button("Accept", key="review_accept", icon=":material/check:", disabled=item.review_status == "accepted",
                    shortcut=SHORTCUTS["accept"], width="stretch"):
            accept(store, item, reviewer)
            _advance(next_id)
        if r.button("Reject", key="review_reject", icon=":material/close:", disabled=item.review_status == "rejected",
                    shortcut=SHORTCUTS["reject"], width="stretch"):
            reject(store, item, reviewer)
            _advance(next_id)
        backend = get_backend()
        if g.button("Regenerate", key="review_regenerate", icon=":material/refresh:", shortcut=SHORTCUTS["regenerate"],
                    width="stretch",
                    help=f"Ask {backend.name} ({backend.model}) to check this text against the data; "
                         "its version is shown beside this one"):
            with st.spinner(f"Asking {backend.name} to revise it..."):
                regenerate_candidate(store, item, backend, reviewer)
            st.rerun()
    with st.form("review_edit_form"):
        text = st.text_area("Edit the text", value=item.text, height=220, key=f"review_edit_{item.id}")
        if st.form_submit_button("Save edit (accepted as a new version)", shortcut=SHORTCUTS["save_edit"]):
            with user_errors("The edit was not saved"):
                edit(store, item, text, reviewer)
                st.rerun()


def _advance(next_id: int | None) -> None:
    if next_id is not None:
        _go(next_id)
    st.rerun()


def flag_details(store: Store, interpretation_id: int, window_id: int, flags: pd.DataFrame) -> None:
    """Why this window was flagged: K-means distances and ranks, and the stored fact-check contradictions."""
    own = flags[flags["window_id"] == window_id]
    with st.expander("Why it was flagged" if not own.empty else "Not flagged by any quality run", expanded=False):
        if own.empty:
            st.caption("No quality run flagged this window.")
            return
        st.dataframe(own[list(FLAG_COLUMNS)].rename(columns=FLAG_COLUMNS), hide_index=True)
        ids = sorted({interpretation_id, *own["interpretation_id"].astype(int)})
        checks = pd.concat([quality_store.fact_checks(store, interpretation_id=i) for i in ids], ignore_index=True)
        if not checks.empty:
            st.markdown("**Contradictions stored by the runs** (possibly about an older version)")
            st.dataframe(checks[CONTRADICTION_COLUMNS], hide_index=True,
                         column_config={"rule": st.column_config.TextColumn(width="large")})


# ---------------------------------------------------------------- bulk, runs, log


def bulk_actions(store: Store, collection: str, rows: pd.DataFrame, reviewer: str) -> None:
    """Accept, reject or regenerate every text of the queue as one decision (one undo)."""
    ids = [int(i) for i in rows["interpretation_id"]]
    with st.expander(f"Bulk actions on the {len(ids)} texts of this queue (one undo each)"):
        st.caption("Narrow the queue with the filters above, or select windows on the Embeddings map "
                   "and choose “Selected on the map”.")
        a, r, g = st.columns(3)
        confirm = st.checkbox(f"Yes, apply to all {len(ids)} texts", key="review_bulk_confirm")
        with user_errors("The bulk action failed"):
            if a.button("Accept all", key="review_bulk_accept", disabled=not confirm or not ids, width="stretch"):
                bulk_status(store, collection, ids, "accepted", reviewer)
                st.rerun()
            if r.button("Reject all", key="review_bulk_reject", disabled=not confirm or not ids, width="stretch"):
                bulk_status(store, collection, ids, "rejected", reviewer)
                st.rerun()
            if g.button("Regenerate all", key="review_bulk_regenerate", disabled=not confirm or not ids, width="stretch"):
                bar = st.progress(0.0, text="regenerating...")
                _, skipped = bulk_regenerate(store, collection, ids, get_backend(), reviewer,
                                             lambda done, total: bar.progress(done / total, text=f"{done}/{total}"))
                if skipped:
                    st.toast(f"{len(skipped)} accepted texts were left as they are")
                st.rerun()


def decision_log(store: Store, reviewer: str) -> None:
    with st.expander("Your decisions (stored; undo and redo follow this list)"):
        log = interp_store.decision_log(store, reviewer, limit=30)
        if log.empty:
            st.caption("No decision yet.")
        else:
            st.dataframe(log, hide_index=True, column_config={"description": st.column_config.TextColumn(width="large")})


_QUALITY_JOB_KEY = "review_quality_job"


def quality_runs(store: Store, collection: str, datasets: list[str]) -> None:
    """Sidebar: flag, fact-check or re-generate one dataset of the collection as a background quality run."""
    settings = get_settings()
    with st.sidebar.expander("Quality runs", expanded=False):
        dataset = pick_one("Dataset to process", datasets, "review_quality_dataset")
        if dataset is None:
            return
        st.caption(f"Re-generation uses the configured backend: **{settings.llm.backend}**")
        runs = {
            "Flag outliers & contradictions": ("quality-flag", lambda p: run_flagging(
                store, settings, collection, dataset, default_embed(store, settings, p), progress=p, job_id=p.job_id)),
            "Fact-check": ("quality-factcheck", lambda p: run_factcheck(
                store, settings, collection, dataset, progress=p, job_id=p.job_id)),
            "Re-generate flagged": ("quality-regenerate", lambda p: regenerate_dataset(store, settings, collection, dataset, p)),
        }
        for label, (kind, work) in runs.items():
            if st.button(label, key=f"review_{kind}"):
                with user_errors(f"{label} could not be started"):
                    st.session_state[_QUALITY_JOB_KEY] = start_job(
                        store, kind, {"collection": collection, "dataset": dataset}, work
                    )
        if _QUALITY_JOB_KEY in st.session_state:
            show_job(store, st.session_state[_QUALITY_JOB_KEY])


def regenerate_dataset(store: Store, settings: Settings, collection: str, dataset: str, progress: Progress) -> None:
    """Iterative re-generation of the dataset's flagged texts with the configured backend (runs in the job thread)."""
    run_regeneration(store, settings, collection, dataset, get_backend(), default_embed(store, settings, progress),
                     progress=progress, job_id=progress.job_id)


def sample_flagging(store: Store) -> None:
    """The first-run flagging of the sample, while it runs (the queue fills when it finishes)."""
    jobs = job_store.list_jobs(store, SAMPLE_FLAG_JOB, limit=1)
    if jobs and jobs[0].status == "running":
        st.caption("Flagging the sample's texts in the background (first run only); the flagged queue appears when it ends.")
        show_job(store, jobs[0].id)


def shortcut_help() -> None:
    st.sidebar.caption(
        "Keys: " + " · ".join(f"**{k}** {name.replace('_', ' ')}" for name, k in SHORTCUTS.items())
    )


def main() -> None:
    st.title("Review interpretations")
    store = get_store()
    marks = cached.marks()
    db = str(store.path)
    collections = cached.collections(db, marks)
    if collections.empty:
        st.info("No interpretations yet: the built-in sample's are written on the first run of the app. "
                "For your own data use the Datasets page, then `lanhar interpret windows --dataset NAME`.")
        return
    sample_flagging(store)
    flagged = {c: len(cached.flag_summary(db, c, marks)) for c in collections["collection"]}
    reviewer = st.sidebar.text_input("Reviewer", value="reviewer", key="reviewer_name").strip() or "reviewer"
    names = collections["collection"].tolist()
    collection = st.sidebar.selectbox("Collection", names, index=default_collection(collections, flagged),
                                      key="review_collection",
                                      format_func=lambda c: f"{c} ({flagged.get(c, 0)} flagged)")
    summary = collections.set_index("collection").loc[collection]
    st.sidebar.caption(
        f"{summary['windows']} windows · {summary['valid_share']:.0%} valid · {summary['accepted']} accepted · "
        f"{summary['rejected']} rejected · by {summary['backends']}"
    )
    shortcut_help()
    current = cached.current_index(db, collection, marks)
    flags = cached.collection_flags(db, collection, marks)
    quality_runs(store, collection, sorted(current["dataset"].unique()))
    rows = queue(current, flags, cached.flag_summary(db, collection, marks))
    decision_bar(store, reviewer)
    if rows.empty:
        st.info("Nothing matches these filters. Choose “All” to see every interpretation, or flag a dataset "
                "under “Quality runs” in the sidebar.")
        return
    row, next_id = navigator(rows)
    left, right = st.columns([1, 1])
    with left:
        features = signal_panel(store, int(row.name), collection)
    with right:
        interpretation_panel(store, collection, row, flags, features, reviewer, next_id)
    bulk_actions(store, collection, rows, reviewer)
    decision_log(store, reviewer)


main()
