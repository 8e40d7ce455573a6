"""Embeddings and the distribution gap between datasets.

For students: a 2-D map (t-SNE or UMAP) of windows as raw signals, signal features or text
embeddings of their interpretations, coloured by activity, dataset, flag, review status or
the prediction of a trained recognizer.
A box or lasso selection on the map lists the selected windows: one opens in the window
viewer below the map, and the whole selection opens as a review queue (where it can be
accepted, rejected or regenerated in bulk). Then the paper's relative KL divergence between
two datasets per activity, which says how much closer the same activity of two datasets
lies than different activities, in each representation, as a heatmap beside the paper's
Table 1.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import pandas as pd
import plotly.express as px
import streamlit as st

from app.components import cached
from app.components.context import get_settings, get_store
from app.components.errors import user_errors
from app.components.jobs import show_job, start_job
from app.components.markup import escape
from app.components.plots import UNLABELED, activity_color, imu_figure
from app.components.projection import METHODS, project_2d
from app.components.representations import FEATURES, RAW, REPRESENTATIONS, SENSOR, TEXT, window_vectors
from app.components.selection import clear_selection, selected_windows, selection, set_selection
from lanhar_core.jobs import Progress
from lanhar_core.models.recognizer import Recognizer
from lanhar_core.models.train_sensor import RECOGNIZER_ARTIFACT
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


def sensor_run(store: Store, key: str) -> str | None:
    """The recognizer directory of the stage-2 run picked for the sensor-encoder representation (None: none exists)."""
    runs = recognizer_runs(store)
    if not runs:
        st.info("The sensor-encoder representation needs a finished stage-2 run (Training page).")
        return None
    run = st.selectbox("Stage-2 run", list(runs), key=f"{key}_sensor_run", format_func=lambda r: f"stage-2 run {r}")
    return runs[run]


def choose_data(store: Store, key: str) -> tuple[str, str | None, list[str], list[str]] | None:
    """Representation, collection, and the labelled datasets and activities it has (the collection's, for text)."""
    collections = cached.collections(str(store.path), cached.marks())
    default = REPRESENTATIONS.index(TEXT if not collections.empty else RAW)
    representation = st.radio("Representation", REPRESENTATIONS, index=default, key=f"{key}_repr", horizontal=True)
    collection = None
    if representation == TEXT:
        if collections.empty:
            st.info("No interpretations yet: run `lanhar interpret windows --dataset NAME`, or pick another representation.")
            return None
        collection = st.selectbox("Collection", collections["collection"].tolist(), key=f"{key}_collection",
                                  index=cached.largest_collection(collections),
                                  format_func=lambda c: f"{c} ({int(collections.set_index('collection').at[c, 'windows'])} windows)")
        labelled = cached.current_index(str(store.path), collection, cached.marks()).dropna(subset=["label"])
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
    recognizer_dir = sensor_run(store, "map") if representation == SENSOR else None
    if representation == SENSOR and recognizer_dir is None:
        return
    with st.form("map_form"):
        c1, c2 = st.columns(2)
        picked_datasets = c1.multiselect("Datasets", datasets, default=datasets[:2])
        picked_labels = c2.multiselect("Activities", labels, default=labels)
        c3, c4, c5 = st.columns(3)
        method = c3.radio("Method", METHODS, horizontal=True)
        per_dataset = c4.slider("Windows per dataset", 20, 1000, 150, 10)
        encoder_run = c5.selectbox("Text encoder", [None, *finished_stage_1(store)], disabled=representation != TEXT,
                                   format_func=lambda r: "pre-trained" if r is None else f"stage-1 run {r}")
        recognizers = recognizer_runs(store)
        predict_with = st.selectbox("Colour by the prediction of", [None, *recognizers], key="map_predict_with",
                                    format_func=lambda r: "(no prediction)" if r is None else f"stage-2 run {r}",
                                    disabled=not recognizers)
        submitted = st.form_submit_button("Compute map")
    if submitted:
        with user_errors("The map could not be computed"):
            with progress_bar("Preparing vectors") as progress:
                vectors = window_vectors(
                    store, representation, picked_datasets, picked_labels, per_dataset, collection, progress, encoder_run,
                    recognizer_dir,
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
            if predict_with is not None:
                points["prediction"] = predictions(store, recognizers[predict_with], vectors.ids)
            st.session_state[_MAP_KEY] = (pd.DataFrame(points), title)
            st.session_state["map_collection_used"] = collection
    show_map(store)


def finished_stage_1(store: Store) -> list[int]:
    return [r.id for r in run_store.list_runs(store, "text") if r.status == "finished"]


def recognizer_runs(store: Store) -> dict[int, str]:
    """Finished stage-2 runs with a saved recognizer: run id -> its directory."""
    return {r.id: str(path) for r in run_store.list_runs(store, "sensor")
            if r.status == "finished" and (path := run_store.artifacts(store, r.id).get(RECOGNIZER_ARTIFACT))}


def predictions(store: Store, directory: str, window_ids: Sequence[int]) -> list[str]:
    """What a recognizer says each window is (``unknown`` below its threshold), in ``window_ids`` order."""
    windows = data_store.load_windows(store, ids=[int(w) for w in window_ids])
    signals = windows.signals.copy()  # the store hands out read-only arrays; torch wants writable ones
    predicted = dict(zip(windows.ids.astype(int), Recognizer.load(directory).predict(signals).labels))
    return [str(predicted[int(w)]) for w in window_ids]


COLOUR_BY = ("activity", "dataset", "flag", "review status", "prediction")
PAPER_TABLE_1 = pd.DataFrame(
    {"representation": ["raw", "self-supervised", "semantic interpretations"], "relative KL": [0.2708, 0.1926, 0.1147]}
)


def _map_collection(store: Store) -> str | None:
    """The collection the map's texts came from, else the largest one (whose flags and statuses colour the map)."""
    names = cached.collections(str(store.path), cached.marks())
    if names.empty:
        return None
    return st.session_state.get("map_collection_used") or names["collection"].iloc[cached.largest_collection(names)]


def _review_columns(points: pd.DataFrame, store: Store) -> pd.DataFrame:
    """Flag and review status of each point's window in the map's collection."""
    marks = cached.marks()
    db = str(store.path)
    collection = _map_collection(store)
    if collection is None:
        return points.assign(flag="no texts", **{"review status": "no texts"})
    current = cached.current_index(db, collection, marks).set_index("window_id")
    flags = cached.collection_flags(db, collection, marks)
    flagged = set(flags["window_id"].astype(int))
    status = current["review_status"].reindex(points["window"]).fillna("no text").to_numpy()
    return points.assign(flag=["flagged" if int(w) in flagged else "not flagged" for w in points["window"]],
                         **{"review status": status})


def show_map(store: Store) -> None:
    """The last computed map, recoloured without recomputing; box/lasso selection opens windows and the review queue."""
    if _MAP_KEY not in st.session_state:
        st.caption("Choose what to map and press “Compute map”.")
        return
    points, title = st.session_state[_MAP_KEY]
    points = _review_columns(points, store)
    colour = st.radio("Colour by", [c for c in COLOUR_BY if c in points], key="map_colour", horizontal=True)
    symbol = "dataset" if colour != "dataset" else "activity"
    palette = {a: activity_color(a) for a in points[colour].unique()} if colour in ("activity", "prediction") else None
    if colour == "flag":
        palette = {"flagged": "#d62728", "not flagged": "#c7c7c7"}
    fig = px.scatter(
        points, x="x", y="y", color=colour, symbol=symbol, custom_data=["window"],
        hover_data={"window": True, "dataset": True, "activity": True, "flag": True, "review status": True,
                    **({"prediction": True} if "prediction" in points else {}), "x": False, "y": False},
        color_discrete_map=palette, title=title,
    )
    fig.update_traces(marker={"size": 7, "line": {"width": 0.5, "color": "#333"}})
    fig.update_layout(height=560, xaxis_title="", yaxis_title="", dragmode="lasso")
    st.caption("Drag to lasso points (box select in the chart's toolbar); double-click to clear.")
    event = st.plotly_chart(fig, key="embedding_scatter", on_select="rerun", selection_mode=("points", "box", "lasso"))
    chosen = selected_windows(event)
    if chosen:
        set_selection(chosen, "the embeddings map")
    selected, origin = selection()
    if selected:
        selection_panel(store, points, selected)


def selection_panel(store: Store, points: pd.DataFrame, selected: list[int]) -> None:
    """What the selection holds, one window of it in the viewer, and the way to the review queue."""
    mine = points[points["window"].isin(selected)]
    counts = ", ".join(f"{n} {a}" for a, n in mine["activity"].value_counts().items())
    st.markdown(f"**{len(selected)} windows selected** ({counts})")
    open_review, clear, _ = st.columns([1, 1, 2])
    if open_review.button("Review the selection", key="map_to_review", icon=":material/rate_review:"):
        st.session_state["review_show"] = "Selected on the map"
        st.switch_page("../pages/review.py")
    if clear.button("Clear the selection", key="map_clear", icon=":material/deselect:"):
        clear_selection()
        st.rerun()
    window_id = st.selectbox("Open a window", selected, key="map_window",
                             format_func=lambda w: f"window #{w} · " + " · ".join(
                                 str(v) for v in points.loc[points["window"] == w, ["dataset", "activity", "flag"]].iloc[0]))
    window = data_store.get_window(store, int(window_id))
    plot, text = st.columns([3, 2])
    plot.plotly_chart(imu_figure(window.signals, window.rate_hz, height=360,
                                 title=f"Window #{window.id} · {window.label or UNLABELED} · {window.dataset} subject {window.subject}"),
                      key="map_window_plot")
    collection = _map_collection(store)
    if collection:
        current = cached.current_index(str(store.path), collection, cached.marks())
        row = current[current["window_id"] == int(window_id)]
        text.markdown(f"**Interpretation** ({collection})")
        shown = interp_store.get_interpretation(store, int(row["interpretation_id"].iloc[0])).text if not row.empty else None
        text.container(border=True, height=320).markdown(
            escape(shown).replace("\n", "  \n") if shown else "*no interpretation in this collection*")


KL_REPRESENTATIONS = {RAW: "raw", FEATURES: "features", TEXT: "text", SENSOR: "sensor"}
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
    recognizer_dir = sensor_run(store, "kl") if representation == SENSOR else None
    if representation == SENSOR and recognizer_dir is None:
        return
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
                st.session_state[_KL_JOB_KEY] = start_kl(store, a, b, KL_REPRESENTATIONS[representation], collection, estimator,
                                                         recognizer_dir)
    if _KL_JOB_KEY in st.session_state:
        show_job(store, st.session_state[_KL_JOB_KEY])
    kl_tables(store)


def start_kl(
    store: Store, a: str, b: str, repr_name: str, collection: str | None, estimator: str, recognizer_dir: str | None = None
) -> int:
    """Run ``run_kl`` over the activities both datasets share, in a background job."""
    settings = get_settings()
    labels = _shared_labels(store, a, b)

    def work(progress: Progress) -> None:
        embed = default_embed(store, settings, progress) if repr_name == "text" else None
        encode = Recognizer.load(recognizer_dir).embed if repr_name == "sensor" and recognizer_dir else None
        run_kl(store, settings, a, b, repr_name, collection=collection if repr_name == "text" else None, embed=embed,
               encode_windows=encode, labels=labels, estimator=estimator, progress=progress, job_id=progress.job_id)

    params = {"a": a, "b": b, "repr": repr_name, "collection": collection, "estimator": estimator,
              "recognizer": recognizer_dir}
    return start_job(store, "quality-kl", params, work)


def kl_heatmap_frame(stored: pd.DataFrame) -> pd.DataFrame:
    """Newest relative KL per (dataset pair, representation, variant) x activity, plus an ``average`` column."""
    newest = stored.sort_values("run_id").groupby(["dataset_a", "dataset_b", "repr", "collection", "variant", "label"],
                                                  dropna=False).tail(1)
    source = newest["repr"] + newest["collection"].map(lambda c: f" ({c})" if isinstance(c, str) else "")
    variant = newest["variant"].map(lambda v: "" if v == "current" else " · before re-generation")
    rows = newest.assign(row=newest["dataset_a"] + " vs " + newest["dataset_b"] + " · " + source + variant)
    table = rows.pivot_table(index="row", columns="label", values="relative_kl", aggfunc="last")
    return table.assign(average=table.mean(axis=1)).sort_index()


def kl_tables(store: Store) -> None:
    """The stored relative KL as a heatmap (dataset pair x representation by activity) beside the paper's Table 1."""
    stored = quality_store.kl_results(store)
    if stored.empty:
        return
    table = kl_heatmap_frame(stored)
    heat, paper = st.columns([3, 1])
    fig = px.imshow(table, text_auto=".3f", color_continuous_scale="Viridis_r", aspect="auto",
                    labels={"x": "activity", "y": "", "color": "relative KL"})
    fig.update_layout(height=140 + 40 * len(table), margin={"l": 10, "r": 10, "t": 30, "b": 10},
                      title="Relative KL (lower: the two datasets agree more on the activity)")
    heat.plotly_chart(fig, key="kl_heatmap")
    paper.markdown("**Paper, Table 1**")
    paper.caption("UCI vs MotionSense, average of walk, sit, upstairs, downstairs")
    paper.dataframe(PAPER_TABLE_1, hide_index=True)
    with st.expander("Stored runs, one table each"):
        for (run_id, variant), part in list(stored.groupby(["run_id", "variant"], sort=False))[:5]:
            first = part.iloc[0]
            source = f"{first['repr']} ({first['collection']})" if pd.notna(first["collection"]) else first["repr"]
            st.markdown(f"Run {run_id}: {first['dataset_a']} vs {first['dataset_b']} · {source} · {first['estimator']} · "
                        f"{variant} · average {part['relative_kl'].mean():.4g}")
            st.dataframe(part[["label", "same_kl", "different_kl", "relative_kl", "n_a", "n_b"]], hide_index=True)


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
