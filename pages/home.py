"""The first page: what the app is for, and where each kind of user starts."""

from __future__ import annotations

import streamlit as st

from app.components import cached
from app.components.context import get_store
from storage import datasets as data_store
from storage import runs as run_store

st.title("LanHAR Studio")
st.markdown(
    "Recognise human activities from phone and watch motion sensors, guided by language.  \n"
    "Each window of sensor data gets a written interpretation (rules or an LLM); experts review them, "
    "and two encoders learn to match the windows to the texts and the activity names.  \n"
    "A trained model then recognises activities in new recordings, including activities it was never trained on "
    "(the LanHAR method: language-centered cross-dataset HAR)."
)

store = get_store()
datasets = data_store.list_datasets(store)
collections = cached.collections(str(store.path), cached.marks())
runs = run_store.list_runs(store)
st.caption(
    f"In this store: {len(datasets)} datasets, {int(datasets['windows'].sum()) if not datasets.empty else 0} windows, "
    f"{len(collections)} interpretation collections, {len(runs)} training runs."
)

st.subheader("Where to start")
reviewer, student, researcher = st.columns(3)
with reviewer.container(border=True):
    st.markdown("**Domain expert: check the texts**")
    st.caption("Go through the flagged interpretations, accept, reject, edit or regenerate them; every decision can be undone.")
    st.page_link("../pages/review.py", label="Review interpretations", icon=":material/rate_review:")
with student.container(border=True):
    st.markdown("**Student: explore the data**")
    st.caption("Look at windows, their interpretations on a map, and how far apart the datasets are (relative KL).")
    st.page_link("../pages/datasets.py", label="Datasets and window viewer", icon=":material/database:")
    st.page_link("../pages/embeddings.py", label="Embeddings & KL", icon=":material/scatter_plot:")
with researcher.container(border=True):
    st.markdown("**Researcher: train and recognise**")
    st.caption("Train the text and sensor encoders, compare runs, run the paper's benchmarks, recognise an upload.")
    st.page_link("../pages/training.py", label="Training", icon=":material/model_training:")
    st.page_link("../pages/benchmarks.py", label="Benchmarks", icon=":material/leaderboard:")
    st.page_link("../pages/recognize.py", label="Recognize a recording", icon=":material/directions_walk:")
