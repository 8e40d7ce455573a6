"""Interpretation review: where domain experts catch hallucinated interpretations.

A reviewer picks a collection (one backend's texts), narrows to a dataset, an activity and
the flagged texts, and for each window sees its signals beside its interpretation, the
computed features the text should agree with, why it was flagged, the exact prompt, and
every earlier version. Decisions (accept, reject, edit, regenerate) are stored as new
review rows or new versions, never overwrites, so each one can be undone.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.components.context import get_backend, get_settings, get_store
from app.components.errors import user_errors
from app.components.filters import pick_one, pick_optional
from app.components.jobs import show_job, start_job
from app.components.plots import UNLABELED, imu_figure
from app.components.review_actions import (
    ReviewAction,
    accept,
    edit,
    last_action,
    regenerate,
    reject,
    revision,
    undo_last,
)
from app.components.text import inert_markdown
from lanhar_core.config import Settings
from lanhar_core.jobs import Progress
from lanhar_core.quality import factcheck
from lanhar_core.quality.runs import default_embed, run_factcheck, run_flagging, run_regeneration
from lanhar_core.signal.features import FEATURES, window_features
from storage import datasets as data_store
from storage import interpretations as interp_store
from storage import quality as quality_store
from storage.db import Store

_SELECTED_KEY = "review_selected_window"
SHOW_FLAGGED, SHOW_ALL = "Flagged (outlier or contradiction)", "All"
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
HISTORY_COLUMNS = ["version", "interpretation_id", "origin", "backend", "model", "valid", "review_status", "reviewer", "created_at", "text"]


def collection_flags(store: Store, collection: str) -> pd.DataFrame:
    """Every flag raised on this collection by any quality run (newest run first)."""
    flags = quality_store.flags(store)
    return flags[flags["collection"] == collection]


def choose_rows(current: pd.DataFrame, flags: pd.DataFrame) -> pd.DataFrame:
    """Filters above the list; returns the current interpretations that pass them."""
    rows = current.assign(label=current["label"].fillna(UNLABELED))
    c1, c2, c3, c4 = st.columns([2, 2, 3, 2])
    dataset = pick_optional("Dataset", sorted(rows["dataset"].unique()), "review_dataset", c1)
    if dataset is not None:
        rows = rows[rows["dataset"] == dataset]
    label = pick_optional("Activity", sorted(rows["label"].unique()), "review_label", c2)
    show = c3.radio("Show", [SHOW_FLAGGED, SHOW_ALL], key="review_show", horizontal=True)
    status = pick_optional("Review status", list(interp_store.REVIEW_STATUSES), "review_status", c4)
    if label is not None:
        rows = rows[rows["label"] == label]
    if show == SHOW_FLAGGED:
        rows = rows[rows["window_id"].isin(flags["window_id"])]
    if status is not None:
        rows = rows[rows["review_status"] == status]
    return rows


def pick_row(rows: pd.DataFrame, flags: pd.DataFrame) -> pd.Series:
    """The window picker; each entry says its activity, status and flag reasons."""
    reasons = flags.groupby("window_id")["reason"].agg(lambda r: "/".join(sorted(set(r))))
    by_window = rows.set_index("window_id")

    def describe(window_id: int) -> str:
        row = by_window.loc[window_id]
        flag = f" · flagged: {reasons[window_id]}" if window_id in reasons.index else ""
        return f"window #{window_id} · {row['label']} · {row['review_status']} · v{row['version']} {row['origin']}{flag}"

    options = by_window.index.tolist()
    selected = st.session_state.get(_SELECTED_KEY)
    window_id = st.selectbox(
        f"Interpretation ({len(rows)} match)",
        options,
        index=options.index(selected) if selected in options else 0,
        key=f"review_window_{revision()}",  # a new key after each action, so the labels show the new status
        format_func=describe,
    )
    st.session_state[_SELECTED_KEY] = window_id
    return by_window.loc[window_id].rename(window_id)


def undo_bar(store: Store, reviewer: str) -> None:
    """The last review action of this session and a button to undo it."""
    action: ReviewAction | None = last_action()
    if action is None:
        return
    text, button = st.columns([5, 1])
    text.caption(f"Last action: {action.description}")
    if button.button("Undo", key="review_undo", icon=":material/undo:"):
        with user_errors("Undo failed"):
            undone = undo_last(store, reviewer)
            st.toast(f"Undone: {undone.description}")
            st.rerun()


def signal_panel(window_id: int) -> dict[str, float]:
    """The window's six channels and the feature record the text should agree with; returns the features."""
    window = data_store.get_window(get_store(), window_id)
    title = f"Window #{window.id} · {window.label or UNLABELED} · {window.dataset} subject {window.subject}"
    st.plotly_chart(imu_figure(window.signals, window.rate_hz, title=title, height=400), key="review_plot")
    values = window_features(window.signals, window.rate_hz)
    table = pd.DataFrame(
        {
            "feature": [f.key for f in FEATURES],
            "value": [round(float(values[f.key]), 3) for f in FEATURES],
            "unit": [f.unit for f in FEATURES],
            "meaning": [f.meaning for f in FEATURES],
        }
    )
    with st.expander("Computed features (what the prompt gave the model)"):
        st.dataframe(table, hide_index=True, height=300)
    return values


def interpretation_panel(
    store: Store, collection: str, interpretation_id: int, flags: pd.DataFrame, features: dict[str, float], reviewer: str
) -> None:
    """The current text with its provenance, flags, live fact check, actions, prompt and history."""
    item = interp_store.get_interpretation(store, interpretation_id)
    author = "rule-based writer (not an LLM)" if item.backend == "rules" else f"{item.backend} · {item.model}"
    st.markdown(f"**Version {item.version}** · {item.origin} by {author} · status **{item.review_status}**")
    if not item.valid:
        st.warning(f"Marked invalid: {item.invalid_reason}")
    st.container(border=True).markdown(inert_markdown(item.text))
    flag_details(store, item.id, item.window_id, flags)
    live_fact_check(item.text, features)
    action_buttons(store, item, reviewer)
    with st.expander("Exact prompt"):
        st.caption(f"template {item.prompt_template} · version {item.prompt_version}")
        for message in item.prompt_messages:
            st.markdown(f"*{message.get('role', '')}*")
            st.code(message.get("content", ""), language=None, wrap_lines=True)
    with st.expander("History of versions"):
        history = interp_store.history(store, collection, int(item.window_id))
        st.dataframe(history[HISTORY_COLUMNS], hide_index=True)


def flag_details(store: Store, interpretation_id: int, window_id: int, flags: pd.DataFrame) -> None:
    """Why this window was flagged: K-means distances and ranks, and the fact-check contradictions."""
    own = flags[flags["window_id"] == window_id]
    if own.empty:
        st.caption("Not flagged by any quality run.")
    else:
        st.markdown("**Flags**")
        st.dataframe(own[list(FLAG_COLUMNS)].rename(columns=FLAG_COLUMNS), hide_index=True)
    ids = sorted({interpretation_id, *own["interpretation_id"].astype(int)})
    checks = pd.concat([quality_store.fact_checks(store, interpretation_id=i) for i in ids], ignore_index=True)
    if not checks.empty:
        st.markdown("**Contradictions with the measured features**")
        st.dataframe(checks[CONTRADICTION_COLUMNS], hide_index=True)


def live_fact_check(text: str, features: dict[str, float]) -> None:
    """The fact checker run now on the text shown (stored checks above may be about an older version)."""
    found = factcheck.check(text, features, get_settings().quality.factcheck_rel_tol)
    if not found:
        st.caption("Fact check of this text: no claim contradicts the measured features.")
        return
    st.markdown(f"**Fact check of this text: {len(found)} contradiction(s)**")
    st.dataframe(pd.DataFrame([vars(c) for c in found]), hide_index=True)


def action_buttons(store: Store, item: interp_store.Interpretation, reviewer: str) -> None:
    """Accept / reject / regenerate buttons and the edit form."""
    a, r, g = st.columns(3)
    with user_errors("The action failed"):
        if a.button("Accept", key="review_accept", icon=":material/check:", disabled=item.review_status == "accepted"):
            accept(store, item, reviewer)
            st.rerun()
        if r.button("Reject", key="review_reject", icon=":material/close:", disabled=item.review_status == "rejected"):
            reject(store, item, reviewer)
            st.rerun()
        backend = get_backend()
        if g.button("Regenerate", key="review_regenerate", icon=":material/refresh:",
                    help=f"Ask {backend.name} ({backend.model}) to check this text against the data and correct it"):
            with st.spinner(f"Asking {backend.name} to revise it..."):
                regenerate(store, item, backend)
            st.rerun()
    with st.form("review_edit_form"):
        text = st.text_area("Edit the text", value=item.text, height=220, key=f"review_edit_{item.id}")
        if st.form_submit_button("Save edit (accepted as a new version)"):
            with user_errors("The edit was not saved"):
                edit(store, item, text, reviewer)
                st.rerun()


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
                store, settings, collection, dataset, default_embed(store, settings), progress=p, job_id=p.job_id)),
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
    run_regeneration(store, settings, collection, dataset, get_backend(), default_embed(store, settings),
                     progress=progress, job_id=progress.job_id)


def main() -> None:
    st.title("Review interpretations")
    store = get_store()
    collections = interp_store.list_collections(store)
    if collections.empty:
        st.info(
            "No interpretations yet. Write some with `lanhar interpret windows --dataset NAME` "
            "(the offline `rules` backend needs no set-up)."
        )
        return
    reviewer = st.sidebar.text_input("Reviewer", value="reviewer", key="reviewer_name") or "reviewer"
    collection = pick_one("Collection", collections["collection"].tolist(), "review_collection", st.sidebar)
    summary = collections.set_index("collection").loc[collection]
    st.sidebar.caption(
        f"{summary['windows']} windows · {summary['valid_share']:.0%} valid · {summary['accepted']} accepted · "
        f"{summary['rejected']} rejected · by {summary['backends']}"
    )
    current = interp_store.current_window_interpretations(store, collection)
    quality_runs(store, collection, sorted(current["dataset"].unique()))
    flags = collection_flags(store, collection)
    rows = choose_rows(current, flags)
    undo_bar(store, reviewer)
    if rows.empty:
        st.info("Nothing matches these filters. Flags come from `lanhar quality flag` / `lanhar quality regenerate`; "
                "choose “All” to see every interpretation.")
        return
    row = pick_row(rows, flags)
    left, right = st.columns([1, 1])
    with left:
        features = signal_panel(int(row.name))
    with right:
        interpretation_panel(store, collection, int(row["interpretation_id"]), flags, features, reviewer)


main()
