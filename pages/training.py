"""Training: start stage 1 (text encoder) and stage 2 (sensor encoder) runs, follow them, compare them.

Training takes minutes to hours on a CPU, so a run goes to a background thread as a
tracked job: the page polls its job row, a cancel is acknowledged at once and stops the run
within one step (the run is then ``interrupted`` and can be resumed with the configuration
it was started with, not today's settings), and every run, whoever started it (this app or
``lanhar train``), is listed with its per-epoch metrics from the store; two runs can be
compared epoch by epoch and setting by setting.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.components import cached
from app.components.cached import largest_collection
from app.components.context import get_settings, get_store
from app.components.errors import user_errors
from app.components.jobs import show_job, start_job
from app.components.plots import epoch_figure, epoch_table
from lanhar_core.config import with_overrides
from lanhar_core.jobs import Progress
from lanhar_core.models.loading import resume_settings
from lanhar_core.models.train_sensor import train_sensor_encoder
from lanhar_core.models.train_text import train_text_encoder
from storage import jobs as job_store
from storage import runs as run_store
from storage.db import Store

STAGE_1, STAGE_2 = "Stage 1: text encoder", "Stage 2: sensor encoder"
JOB_KINDS = {"text": "train-text", "sensor": "train-sensor"}
NEWEST_STAGE_1 = "newest finished stage-1 run (else the pre-trained encoder)"


def start_form(store: Store) -> None:
    """The form that starts a new run in the background."""
    collections = cached.collections(str(store.path), cached.marks())
    if collections.empty:
        st.info("Training needs interpretations: run `lanhar interpret windows --dataset NAME` and `lanhar interpret labels`.")
        return
    c1, c2 = st.columns(2)
    stage = c1.radio("Stage", [STAGE_1, STAGE_2], horizontal=True, key="train_stage")
    collection = c2.selectbox("Interpretation collection", collections["collection"].tolist(), key="train_collection",
                              index=largest_collection(collections))
    covered = sorted(cached.current_index(str(store.path), collection, cached.marks())["dataset"].unique())
    settings = get_settings()
    with st.form("train_form"):
        sources = st.multiselect("Source datasets (interpreted in this collection)", covered, default=covered[:1])
        if stage == STAGE_1:
            epochs = st.number_input("Epochs", 1, 100, settings.text_encoder.epochs)
            submitted = st.form_submit_button("Start stage 1")
            work, params = stage_1_work(collection, sources, int(epochs))
        else:
            finished = [r.id for r in run_store.list_runs(store, "text") if r.status == "finished"]
            c3, c4 = st.columns(2)
            encoder = c3.selectbox("Text encoder", [NEWEST_STAGE_1, *finished],
                                   format_func=lambda v: v if isinstance(v, str) else f"stage-1 run {v}")
            targets = c4.multiselect("Unlabeled target datasets (optional)", covered)
            epochs = st.number_input("Epochs", 1, 500, settings.sensor_encoder.epochs)
            submitted = st.form_submit_button("Start stage 2")
            text_encoder = None if isinstance(encoder, str) else int(encoder)
            work, params = stage_2_work(collection, sources, targets, text_encoder, int(epochs))
    if submitted:
        if not sources:
            st.warning("Choose at least one source dataset.")
            return
        with user_errors("The run could not be started"):
            start_job(store, JOB_KINDS["text" if stage == STAGE_1 else "sensor"], params, work)
            st.rerun()


def stage_1_work(collection: str, sources: list[str], epochs: int) -> tuple:
    """The background work and job parameters of a stage-1 run."""
    store, settings = get_store(), get_settings()

    def work(progress: Progress) -> None:
        train_text_encoder(store, settings, sources, collection, overrides={"epochs": epochs}, progress=progress)

    return work, {"collection": collection, "sources": sources, "epochs": epochs}


def stage_2_work(collection: str, sources: list[str], targets: list[str], text_encoder: int | None, epochs: int) -> tuple:
    """The background work and job parameters of a stage-2 run."""
    store = get_store()
    settings = with_overrides(get_settings(), "sensor_encoder", epochs=epochs)

    def work(progress: Progress) -> None:
        train_sensor_encoder(store, settings, text_encoder, sources, collection, progress=progress, target_datasets=targets)

    params = {"collection": collection, "sources": sources, "targets": targets, "text_encoder": text_encoder, "epochs": epochs}
    return work, params


def resume_work(record: run_store.RunRecord) -> tuple:
    """Background work that resumes an interrupted run with the configuration and data selection it recorded."""
    store = get_store()
    settings = resume_settings(store, get_settings(), record.id)
    selection = record.data_selection

    def work(progress: Progress) -> None:
        if record.kind == "text":
            train_text_encoder(store, settings, progress=progress, resume_run_id=record.id)
        else:
            train_sensor_encoder(
                store, settings, record.parent_run_id, selection.get("sources", []), selection.get("collection", ""),
                progress=progress, resume_run_id=record.id, target_datasets=selection.get("targets", []),
            )

    epochs = settings.sensor_encoder.epochs if record.kind == "sensor" else settings.text_encoder.epochs
    return work, {"resume_run_id": record.id, "epochs": epochs}


def active_jobs(store: Store) -> None:
    """Running training jobs (from this app or another process), each with progress and cancel."""
    running = [j for kind in JOB_KINDS.values() for j in job_store.list_jobs(store, kind, limit=5) if j.status == "running"]
    recent = [j for kind in JOB_KINDS.values() for j in job_store.list_jobs(store, kind, limit=1) if j.status != "running"]
    for job in sorted(running + recent, key=lambda j: j.id, reverse=True):
        show_job(store, job.id)


def runs_table(store: Store) -> list[run_store.RunRecord]:
    """Every training run with its status and last metrics."""
    records = run_store.list_runs(store)
    if not records:
        st.caption("No training run yet.")
        return []
    table = pd.DataFrame(
        [
            {
                "run": r.id, "stage": r.kind, "status": r.status, "epochs": r.epochs_done, "steps": r.steps_done,
                "wall (s)": round(r.wall_s, 1), "seed": r.seed, "parent": r.parent_run_id,
                "sources": ", ".join(r.data_selection.get("sources", [])), "collection": r.data_selection.get("collection"),
                "started": r.started_at, "error": r.error, **_numbers(r.summary),
            }
            for r in records
        ]
    )
    wide = st.column_config.TextColumn(width="large")
    st.dataframe(table, hide_index=True, column_config={"error": wide, "sources": wide, "collection": wide})
    return records


def _numbers(summary: dict) -> dict[str, float]:
    return {k: v for k, v in summary.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def _label(record: run_store.RunRecord) -> str:
    return f"run {record.id} · {record.kind} · {record.status} · {record.epochs_done} epochs"


def run_details(store: Store, records: list[run_store.RunRecord]) -> None:
    """Per-epoch losses, scores and counts of one run on their own axes, its artifacts, and resume for interrupted runs."""
    record = st.selectbox("Run details", records, format_func=_label, key="train_details")
    epochs = run_store.epoch_records(store, record.id)
    if epochs:
        st.plotly_chart(epoch_figure(epoch_table(epochs)), key="run_epochs")
    else:
        st.caption("No epoch recorded yet.")
    artifacts = run_store.artifacts(store, record.id)
    if artifacts:
        st.dataframe(pd.DataFrame({"artifact": list(artifacts), "path": [str(p) for p in artifacts.values()]}), hide_index=True,
                     column_config={"path": st.column_config.TextColumn(width="large")})
    if record.status == "interrupted":
        resumed = resume_settings(store, get_settings(), record.id)
        total = resumed.sensor_encoder.epochs if record.kind == "sensor" else resumed.text_encoder.epochs
        if st.button(f"Resume run {record.id} (epoch {record.epochs_done + 1} of its {total})", key="train_resume"):
            with user_errors("The run could not be resumed"):
                work, params = resume_work(record)
                start_job(store, JOB_KINDS[record.kind], params, work)
                st.rerun()


def _flat(config: dict, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flat(value, f"{name}."))
        else:
            out[name] = str(value)
    return out


def compare_runs(store: Store, records: list[run_store.RunRecord]) -> None:
    """Two runs side by side: their epoch curves on shared axes and the settings in which they differ."""
    with st.expander("Compare two runs"):
        if len(records) < 2:
            st.caption("Compare needs two runs.")
            return
        c1, c2 = st.columns(2)
        first = c1.selectbox("Run A", records, format_func=_label, key="train_compare_a")
        second = c2.selectbox("Run B", records, index=1, format_func=_label, key="train_compare_b")
        tables = [epoch_table(run_store.epoch_records(store, r.id)).assign(run=f"run {r.id}") for r in (first, second)]
        table = pd.concat(tables, ignore_index=True)
        if table.empty:
            st.caption("Neither run has recorded an epoch.")
        else:
            st.plotly_chart(epoch_figure(table, color="run"), key="train_compare_chart")
        a, b = _flat(first.config), _flat(second.config)
        keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        diff = pd.DataFrame({"setting": keys, f"run {first.id}": [a.get(k, "") for k in keys],
                             f"run {second.id}": [b.get(k, "") for k in keys]})
        st.markdown(f"**Settings that differ** ({len(keys)})")
        st.dataframe(diff, hide_index=True)


def main() -> None:
    st.title("Training")
    store = get_store()
    run_store.mark_stale_runs_interrupted(store)
    job_store.mark_stale_jobs_interrupted(store)
    start_form(store)
    active_jobs(store)
    st.divider()
    st.subheader("Runs")
    records = runs_table(store)
    if records:
        run_details(store, records)
        compare_runs(store, records)


main()
