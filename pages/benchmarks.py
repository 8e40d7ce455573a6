"""Benchmarks: the stored results of `lanhar bench`, per pair and averaged, and the details of one result.

Benchmarks take from minutes (``--quick``) to hours, so they run from the CLI or as a
background job; this page only reads the store (``storage.results``) and the tables the
CLI prints (``lanhar_core.eval.report``), so both show the same numbers. A running
benchmark, from here or from another process, shows its results so far.
"""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from app.components.context import get_settings, get_store
from app.components.errors import user_errors
from app.components.jobs import show_job, start_job
from lanhar_core.eval.report import tables
from lanhar_core.eval.runner import QUICK_PAIR, default_options, run_pairs
from lanhar_core.jobs import Progress
from storage import jobs as job_store
from storage import results as result_store
from storage.db import Store

JOB_KIND = "bench_cross"


def quick_benchmark(store: Store) -> None:
    """A button that runs the quick cross-dataset benchmark on the built-in sample in the background."""
    settings = get_settings()

    def work(progress: Progress) -> None:
        run_pairs(store, settings, "cross", [QUICK_PAIR], default_options(settings, None, True), progress)

    st.caption(
        "The full protocols run from the command line (`lanhar bench cross|new|complex|ablation`, see bench/README.md). "
        "The quick run checks the pipeline on the built-in sample in a few minutes; its numbers mean nothing."
    )
    if st.button("Run the quick benchmark on the built-in sample", key="bench_quick"):
        with user_errors("The benchmark could not be started"):
            start_job(store, JOB_KIND, {"protocol": "cross", "quick": True}, work)
            st.rerun()
    for job in job_store.list_jobs(store, JOB_KIND, limit=1):
        show_job(store, job.id)


def pick_benchmark(store: Store) -> str | None:
    frame = result_store.list_benchmarks(store)
    if frame.empty:
        st.info("No benchmark stored yet. Run one from the command line, e.g. `lanhar bench cross --quick`, or below.")
        return None
    labels = {
        row.id: f"{row.id} · {row.protocol} · {row.status} · {row.results} results · {row.wall_s:.0f} s"
        for row in frame.itertuples()
    }
    return st.selectbox("Benchmark", list(labels), format_func=labels.get, key="bench_pick")


def show_tables(frame: pd.DataFrame, protocol: str) -> None:
    for table in tables(frame, protocol):
        st.subheader(table.title)
        st.dataframe(pd.DataFrame(table.rows, columns=table.headers), hide_index=True)


def result_label(row: pd.Series) -> str:
    return f"{row['source']} -> {row['target']} · {row['method']}/{row['variant']} · seed {row['seed']}"


def show_result(row: pd.Series) -> None:
    """Confusion matrix of one result and, for ours, the per-epoch stage-2 curve."""
    metrics, config = row["metrics"], row["config"]
    if metrics.get("not_run"):
        st.warning(f"Not run: {metrics['not_run']}")
        return
    labels = metrics["labels"]
    confusion = pd.DataFrame(metrics["confusion"], index=labels, columns=labels)
    left, right = st.columns(2)
    left.plotly_chart(
        px.imshow(confusion, text_auto=True, color_continuous_scale="Blues",
                  labels={"x": "predicted", "y": "true", "color": "windows"},
                  title=f"Confusion: accuracy {metrics['accuracy']:.3f}, macro-F1 {metrics['macro_f1']:.3f}"),
        key="bench_confusion",
    )
    epochs = pd.DataFrame(metrics.get("stage2_epochs", []))
    if not epochs.empty:
        long = epochs.melt("epoch", var_name="measure", value_name="value")
        kept = metrics.get("stage2_kept_epoch")
        figure = px.line(long, x="epoch", y="value", facet_row="measure", markers=True,
                         title=f"Stage 2 per epoch (weights kept from epoch {kept})")
        right.plotly_chart(figure.update_yaxes(matches=None), key="bench_epochs")
    with st.expander("Configuration of this result"):
        st.json(config)


def main() -> None:
    st.title("Benchmarks")
    store = get_store()
    benchmark_id = pick_benchmark(store)
    if benchmark_id is not None:
        record = result_store.get_benchmark(store, benchmark_id)
        frame = result_store.results(store, benchmark_id)
        if record.status == "running":
            st.info("This benchmark is still running; the tables show the results stored so far.")
        elif record.error:
            st.error(f"This benchmark {record.status}: {record.error}")
        if frame.empty:
            st.caption("No result stored yet.")
        else:
            show_tables(frame, record.protocol)
            st.subheader("One result")
            index = st.selectbox("Result", list(frame.index), format_func=lambda i: result_label(frame.loc[i]),
                                 key="bench_result")
            show_result(frame.loc[index])
    st.divider()
    quick_benchmark(store)


main()
