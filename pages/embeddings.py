"""Embeddings and the distribution gap between datasets.

For students: a 2-D map (t-SNE or UMAP) of windows as raw signals, signal features or text
embeddings of their interpretations, coloured by activity or dataset; and the paper's
relative KL divergence between two datasets per activity, which says how much closer the
same activity of two datasets lies than different activities, in each representation.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd
import plotly.express as px
import streamlit as st

from app.components.context import get_settings, get_store
from app.components.errors import user_errors
from app.components.jobs import show_job, start_job
from app.components.plots import activity_color
from app.components.projection import METHODS, project_2d
from app.components.representations import FEATURES, RAW, REPRESENTATIONS, TEXT, window_vectors
from lanhar_core.jobs import Progress
from lanhar_core.quality.kl import ESTIMATORS
from lanhar_core.quality.runs import default_embed, run_kl
from storage import datasets as data_store
from storage import interpretations as interp_store
from storage import quality as quality_store
from storage import runs as run_store
from storage.db import Store

_MAP_KEY = "embedding_map"


@contextmanager
def progress_bar(label: str) -> Iterator[Progress]:
    """A ``Progress`` drawing into a Streamlit progress bar while the block runs (text encoding can take a while)."""
    bar = st.progress(0.0, text=label)

    def show(done: int, total: int | None, message: str) -> None:
        bar.progress(min(1.0, done / total) if total else 0.0, text=message or label)

    try:
        yield Progress(show)
    finally:
        bar.empty()


def choose_data(store: Store, key: str) -> tuple[str, str | None, list[str], list[str]] | None:
    """Representation, collection, and the labelled datasets and activities it has (the collection's, for text)."""
    collections = interp_store.list_collections(store)
    default = REPRESENTATIONS.index(TEXT if not collections.empty else RAW)
    representation = st.radio("Representation", REPRESENTATIONS, index=default, key=f"{key}_repr", horizontal=True)
    collection = None
    if representation == TEXT:
        if collections.empty:
            st.info("No interpretations yet: run `lanhar interpret windows --dataset NAME`, or pick another representation.")
            return None
        collection = st.selectbox("Collection", collections["collection"].tolist(), key=f"{key}_collection")
        labelled = interp_store.current_window_interpretations(store, collection).dropna(subset=["label"])
    else:
        labelled = data_store.window_counts(store).dropna(subset=["label"])
    return representation, collection, sorted(labelled["dataset"].unique()), sorted(labelled["label"].unique())


def embedding_map(store: Store) -> None:
    """The form that computes a 2-D map, and the map of the last computation (recoloured without recomputing)."""
    st.subheader("2-D map")
    chosen = choose_data(store, "map")
    if chosen is None:
        return
    representation, collection, datasets, labels = chosen
    with st.form("map_form"):
        c1, c2 = st.columns(2)
        picked_datasets = c1.multiselect("Datasets", datasets, default=datasets[:2])
        picked_labels = c2.multiselect("Activities", labels, default=labels)
        c3, c4, c5 = st.columns(3)
        method = c3.radio("Method", METHODS, horizontal=True)
        per_dataset = c4.slider("Windows per dataset", 20, 1000, 150, 10)
        encoder_run = c5.selectbox("Text encoder", [None, *finished_stage_1(store)], disabled=representation != TEXT,
                                   format_func=lambda r: "pre-trained" if r is None else f"stage-1 run {r}")
        submitted = st.form_submit_button("Compute map")
    if submitted:
        with user_errors("The map could not be computed"):
            with progress_bar("Preparing vectors") as progress:
                vectors = window_vectors(
                    store, representation, picked_datasets, picked_labels, per_dataset, collection, progress, encoder_run
                )
            if len(vectors.ids) < 5:
                st.info("Fewer than 5 windows match; choose more datasets or activities.")
                return
            with st.spinner(f"Running {method}..."):
                xy = project_2d(vectors.matrix, method, get_settings().quality.seed)
            title = f"{method} of {representation.lower()}"
            if representation == TEXT:
                encoder = "pre-trained encoder" if encoder_run is None else f"stage-1 run {encoder_run}"
                title += f" ({collection}, {encoder})"
            points = {"x": xy[:, 0], "y": xy[:, 1], "window": vectors.ids, "dataset": vectors.datasets, "activity": vectors.labels}
            st.session_state[_MAP_KEY] = (pd.DataFrame(points), title)
    show_map()


def finished_stage_1(store: Store) -> list[int]:
    return [r.id for r in run_store.list_runs(store, "text") if r.status == "finished"]


def show_map() -> None:
    if _MAP_KEY not in st.session_state:
        st.caption("Choose what to map and press “Compute map”.")
        return
    points, title = st.session_state[_MAP_KEY]
    colour = st.radio("Colour by", ["activity", "dataset"], key="map_colour", horizontal=True)
    symbol = "dataset" if colour == "activity" else "activity"
    palette = {a: activity_color(a) for a in points["activity"].unique()} if colour == "activity" else None
    fig = px.scatter(
        points, x="x", y="y", color=colour, symbol=symbol, hover_data=["window", "dataset", "activity"],
        color_discrete_map=palette, title=title,
    )
    fig.update_traces(marker={"size": 7, "line": {"width": 0.5, "color": "#333"}})
    fig.update_layout(height=560, xaxis_title="", yaxis_title="")
    st.plotly_chart(fig, key="embedding_scatter")


KL_REPRESENTATIONS = {RAW: "raw", FEATURES: "features", TEXT: "text"}
_KL_JOB_KEY = "kl_job_id"


def kl_section(store: Store) -> None:
    """Relative KL between two datasets per activity, as a background quality run, plus the stored tables."""
    st.subheader("Relative KL divergence between two datasets")
    st.caption(
        "KL(same activity, dataset A vs B) / KL(different activities): lower means the two datasets agree "
        "more on that activity, relative to how far apart activities are (paper, Table 1). "
        "Each computation is stored as a quality run, like `lanhar quality kl`."
    )
    chosen = choose_data(store, "kl")
    if chosen is None:
        return
    representation, collection, datasets, _ = chosen
    if len(datasets) < 2:
        st.info("Relative KL needs two datasets with labelled windows in the store.")
        return
    with st.form("kl_form"):
        c1, c2, c3 = st.columns(3)
        a = c1.selectbox("Dataset A", datasets, index=0)
        b = c2.selectbox("Dataset B", datasets, index=1)
        estimator = c3.selectbox("Estimator", ESTIMATORS)
        submitted = st.form_submit_button("Compute relative KL")
    if submitted:
        if a == b:
            st.warning("Choose two different datasets.")
        else:
            with user_errors("Relative KL could not be started"):
                st.session_state[_KL_JOB_KEY] = start_kl(store, a, b, KL_REPRESENTATIONS[representation], collection, estimator)
    if _KL_JOB_KEY in st.session_state:
        show_job(store, st.session_state[_KL_JOB_KEY])
    kl_tables(store)


def start_kl(store: Store, a: str, b: str, repr_name: str, collection: str | None, estimator: str) -> int:
    """Run ``run_kl`` over the activities both datasets share, in a background job."""
    settings = get_settings()
    labels = _shared_labels(store, a, b)

    def work(progress: Progress) -> None:
        embed = default_embed(store, settings) if repr_name == "text" else None
        run_kl(store, settings, a, b, repr_name, collection=collection if repr_name == "text" else None, embed=embed,
               labels=labels, estimator=estimator, progress=progress, job_id=progress.job_id)

    params = {"a": a, "b": b, "repr": repr_name, "collection": collection, "estimator": estimator}
    return start_job(store, "quality-kl", params, work)


def kl_tables(store: Store) -> None:
    """The stored relative-KL tables, newest run first, one table per run and variant."""
    stored = quality_store.kl_results(store)
    if stored.empty:
        return
    for (run_id, variant), table in list(stored.groupby(["run_id", "variant"], sort=False))[:5]:
        first = table.iloc[0]
        source = f"{first['repr']} ({first['collection']})" if pd.notna(first["collection"]) else first["repr"]
        title = (f"Run {run_id}: {first['dataset_a']} vs {first['dataset_b']} · {source} · {first['estimator']} · "
                 f"{variant} · average {table['relative_kl'].mean():.4g}")
        with st.expander(title, expanded=run_id == stored["run_id"].max()):
            columns = ["label", "same_kl", "different_kl", "relative_kl", "n_a", "n_b"]
            st.dataframe(table[columns], hide_index=True)


def _shared_labels(store: Store, a: str, b: str) -> list[str]:
    counts = data_store.window_counts(store).dropna(subset=["label"])
    per_dataset = counts.groupby("dataset")["label"].apply(set)
    return sorted(per_dataset.get(a, set()) & per_dataset.get(b, set()))


def main() -> None:
    st.title("Embeddings & distribution gap")
    store = get_store()
    if data_store.list_datasets(store).empty:
        st.info("The store holds no dataset yet.")
        return
    embedding_map(store)
    st.divider()
    kl_section(store)


main()
