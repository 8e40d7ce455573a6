"""Embeddings and the distribution gap between datasets.

For students: a 2-D map (t-SNE or UMAP) of windows as raw signals, signal features or text
embeddings of their interpretations, coloured by activity or dataset; and the paper's
relative KL divergence between two datasets per activity, which says how much closer the
same activity of two datasets lies than different activities, in each representation.
"""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from app.components.context import get_settings, get_store
from app.components.errors import user_errors
from app.components.plots import activity_color
from app.components.projection import METHODS, project_2d
from app.components.representations import REPRESENTATIONS, TEXT, window_vectors
from lanhar_core.jobs import Progress
from lanhar_core.quality.kl import ESTIMATORS, KLConfig, average, relative_kl_table
from storage import datasets as data_store
from storage import interpretations as interp_store
from storage import quality as quality_store
from storage.db import Store

_MAP_KEY = "embedding_map"


def progress_bar(label: str) -> Progress:
    """A ``Progress`` drawing into a Streamlit progress bar (text encoding can take a while)."""
    bar = st.progress(0.0, text=label)

    def show(done: int, total: int | None, message: str) -> None:
        bar.progress(min(1.0, done / total) if total else 0.0, text=message or label)

    return Progress(show)


def choose_data(store: Store, key: str) -> tuple[str, str | None, list[str], list[str]] | None:
    """Representation, collection, datasets and activities, shared by both sections."""
    collections = interp_store.list_collections(store)
    representation = st.radio("Representation", REPRESENTATIONS, key=f"{key}_repr", horizontal=True)
    collection = None
    if representation == TEXT:
        if collections.empty:
            st.info("No interpretations yet: run `lanhar interpret windows --dataset NAME`, or pick another representation.")
            return None
        collection = st.selectbox("Collection", collections["collection"].tolist(), key=f"{key}_collection")
    counts = data_store.window_counts(store).dropna(subset=["label"])
    datasets = sorted(counts["dataset"].unique())
    return representation, collection, datasets, sorted(counts["label"].unique())


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
        c3, c4 = st.columns(2)
        method = c3.radio("Method", METHODS, horizontal=True)
        per_dataset = c4.slider("Windows per dataset", 20, 1000, 150, 10)
        submitted = st.form_submit_button("Compute map")
    if submitted:
        with user_errors("The map could not be computed"):
            vectors = window_vectors(
                store, representation, picked_datasets, picked_labels, per_dataset, collection, progress_bar("Preparing vectors")
            )
            if len(vectors.ids) < 5:
                st.info("Fewer than 5 windows match; choose more datasets or activities.")
                return
            with st.spinner(f"Running {method}..."):
                xy = project_2d(vectors.matrix, method, get_settings().quality.seed)
            st.session_state[_MAP_KEY] = (
                pd.DataFrame(
                    {"x": xy[:, 0], "y": xy[:, 1], "window": vectors.ids, "dataset": vectors.datasets, "activity": vectors.labels}
                ),
                f"{method} of {representation.lower()}" + (f" ({collection})" if collection else ""),
            )
    show_map()


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


def kl_section(store: Store) -> None:
    """Relative KL between two datasets per activity, computed on demand, plus the stored KL runs."""
    st.subheader("Relative KL divergence between two datasets")
    st.caption(
        "KL(same activity, dataset A vs B) / KL(different activities): lower means the two datasets agree "
        "more on that activity, relative to how far apart activities are (paper, Table 1)."
    )
    chosen = choose_data(store, "kl")
    if chosen is None:
        return
    representation, collection, datasets, _ = chosen
    if len(datasets) < 2:
        st.info("Relative KL needs two datasets with labelled windows in the store.")
        return
    with st.form("kl_form"):
        c1, c2, c3, c4 = st.columns(4)
        a = c1.selectbox("Dataset A", datasets, index=0)
        b = c2.selectbox("Dataset B", datasets, index=1)
        estimator = c3.selectbox("Estimator", ESTIMATORS)
        per_dataset = c4.slider("Windows per dataset", 50, 2000, 300, 50)
        submitted = st.form_submit_button("Compute relative KL")
    if submitted:
        if a == b:
            st.warning("Choose two different datasets.")
            return
        with user_errors("Relative KL could not be computed"):
            vectors = window_vectors(store, representation, [a, b], _shared_labels(store, a, b), per_dataset,
                                     collection, progress_bar("Preparing vectors"))
            config = KLConfig.from_settings(get_settings().quality, estimator=estimator)
            rows = relative_kl_table(vectors.by_label(a), vectors.by_label(b), config)
            table = pd.DataFrame(
                [{"activity": r.label, "same": r.same, "different": r.different, "relative KL": r.relative,
                  f"n {a}": r.n_a, f"n {b}": r.n_b} for r in rows]
            )
            st.dataframe(table, hide_index=True)
            st.metric(f"Average relative KL ({representation.lower()})", f"{average(rows):.4g}")
    stored = quality_store.kl_results(store)
    if not stored.empty:
        with st.expander(f"Stored KL tables from `lanhar quality kl` ({stored['run_id'].nunique()} runs)"):
            st.dataframe(stored, hide_index=True)


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
