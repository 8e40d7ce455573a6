"""Entry point of the app: ``streamlit run app/main.py``.

Sets up the page frame, opens the store once per process, makes sure a fresh machine has
the built-in sample to look at (and its texts flagged, in the background, so the review
queue opens on them), and hands over to the page the user picked.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    # ``streamlit run app/main.py`` puts only app/ on the path; the pages import ``app.components``.
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from app.components.context import get_settings, get_store  # noqa: E402
from app.components.errors import user_errors  # noqa: E402
from app.components.jobs import start_job  # noqa: E402
from lanhar_core.config import Settings  # noqa: E402
from lanhar_core.data.sample import ensure_sample  # noqa: E402
from lanhar_core.errors import LanharError  # noqa: E402
from lanhar_core.jobs import Progress  # noqa: E402
from lanhar_core.sample_interpretations import SAMPLE_FLAG_JOB, ensure_sample_interpretations, flag_sample  # noqa: E402
from storage import jobs as job_store  # noqa: E402
from storage.db import Store  # noqa: E402

PAGES_DIR = ROOT / "pages"


@st.cache_resource(show_spinner=False)
def _sample_guard() -> tuple[threading.Lock, set[str]]:
    """Process-wide record of stores already checked for the sample, and a lock so two sessions don't race."""
    return threading.Lock(), set()


def ensure_sample_once(store: Store, settings: Settings) -> None:
    """Ingest the built-in sample and its interpretations on first run (idempotent), showing progress; once per process."""
    lock, checked = _sample_guard()
    key = str(store.path)
    if key in checked:
        return
    with lock:
        if key in checked:
            return
        placeholder = st.empty()
        with placeholder.status("Checking the built-in sample data (ingested on the first run only)...", expanded=True):
            bar = st.progress(0.0)

            def show(done: int, total: int | None, message: str) -> None:
                bar.progress(min(1.0, done / total) if total else 0.0, text=message or None)

            reports = ensure_sample(store, settings, Progress(show))
            datasets = [r.dataset for r in reports]
            st.write("Writing the sample's interpretations (rule-based writer; shipped LLM texts imported)...")
            ensure_sample_interpretations(store, settings, datasets, Progress(show))
        placeholder.empty()
        last = job_store.list_jobs(store, SAMPLE_FLAG_JOB, limit=1)
        if not last or last[0].status not in ("finished", "running"):
            # the job itself finds what is not flagged yet: that check reads every collection, too slow for a page load
            start_job(store, SAMPLE_FLAG_JOB, {"datasets": datasets},
                      lambda p: flag_sample(store, settings, datasets, p, p.job_id))
        checked.add(key)


def _page(name: str, title: str, icon: str, default: bool = False) -> st.Page:
    return st.Page(PAGES_DIR / f"{name}.py", title=title, icon=icon, default=default)


def navigation() -> st.Page:
    """The pages, grouped by who uses them; returns the page to run."""
    return st.navigation(
        {
            "Start": [_page("home", "LanHAR Studio", ":material/home:", default=True)],
            "Data": [_page("datasets", "Datasets", ":material/database:")],
            "Interpretations": [
                _page("review", "Review", ":material/rate_review:"),
                _page("embeddings", "Embeddings & KL", ":material/scatter_plot:"),
            ],
            "Models": [
                _page("training", "Training", ":material/model_training:"),
                _page("recognize", "Recognize", ":material/directions_walk:"),
                _page("benchmarks", "Benchmarks", ":material/leaderboard:"),
            ],
        }
    )


def main() -> None:
    st.set_page_config(page_title="LanHAR Studio", page_icon=":material/sensors:", layout="wide")
    nav = navigation()
    try:
        ensure_sample_once(get_store(), get_settings())
    except LanharError as exc:
        st.error(f"The data store is not usable: {exc}")
        st.stop()
    with user_errors():
        nav.run()


main()
