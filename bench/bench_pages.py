"""Per-interaction time of the app's pages, driven headless with Streamlit's AppTest.

Each row is one user action (a page load, a filter change, a button) timed from the action
to the end of the script run it causes, in one process like one server: caches filled by
an earlier action stay warm for later ones, as they would for the next click. The very
first load (imports, store open, first-run checks) is reported on its own row. Run it on
the built-in sample's home and on a big one (``bench/make_big_store.py``):

    PYTHONPATH=$PWD OMP_NUM_THREADS=1 .venv/bin/python bench/bench_pages.py --home /tmp/lh-big [--repeat 3]

Prints a Markdown table (median of ``--repeat`` runs of each action, in seconds). ``--app DIR``
measures another checkout's app (e.g. an older commit, for a before/after table); an
action that checkout does not have is reported as ``n/a``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_S = 600
_APP = {"main": ROOT / "app" / "main.py"}


def _page(name: str) -> AppTest:
    return AppTest.from_file(str(_APP["main"]), default_timeout=TIMEOUT_S).switch_page(f"../pages/{name}.py")


def _timed(action: Callable[[], AppTest]) -> tuple[float, AppTest]:
    started = time.perf_counter()
    at = action()
    elapsed = time.perf_counter() - started
    if at.exception:
        raise RuntimeError("; ".join(e.message for e in at.exception))
    return elapsed, at


def _picker_window(at: AppTest) -> int:
    return next(s for s in at.selectbox if s.label.startswith("Text ")).value


def scenario() -> list[tuple[str, str, Callable[[AppTest | None], AppTest]]]:
    """(page, action, step): each step gets the AppTest of the previous step of the same page (None to start one)."""
    return [
        ("home", "load", lambda _: _page("home").run()),
        ("datasets", "load", lambda _: _page("datasets").run()),
        ("datasets", "choose the largest dataset", lambda at: at.selectbox(key="viewer_dataset").select(
            max(at.selectbox(key="viewer_dataset").options, key=len)).run()),
        ("datasets", "filter an activity", lambda at: at.selectbox(key="viewer_label").select("walk").run()),
        ("review", "load (flagged queue)", lambda _: _page("review").run()),
        ("review", "next text", lambda at: at.button(key="review_next").click().run()),
        ("review", "accept (moves on)", lambda at: at.button(key="review_accept").click().run()),
        ("review", "undo", lambda at: at.button(key="review_undo").click().run()),
        ("review", "show all texts", lambda at: at.radio(key="review_show").set_value("All").run()),
        ("review", "filter a dataset", lambda at: at.selectbox(key="review_dataset").select_index(1).run()),
        ("embeddings", "load", lambda _: _page("embeddings").run()),
        ("embeddings", "compute a text map (150 per dataset)",
         lambda at: at.button(key="FormSubmitter:map_form-Compute map").click().run()),
        ("embeddings", "recolour by flag", lambda at: at.radio(key="map_colour").set_value("flag").run()),
        ("training", "load", lambda _: _page("training").run()),
        ("recognize", "load", lambda _: _page("recognize").run()),
        ("benchmarks", "load", lambda _: _page("benchmarks").run()),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True, help="LANHAR_HOME to measure (its store is used as it is)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--app", type=Path, default=ROOT, help="checkout whose app/main.py is measured (default: this one)")
    args = parser.parse_args()
    os.environ["LANHAR_HOME"] = str(args.home)
    _APP["main"] = args.app.resolve() / "app" / "main.py"
    first, _ = _timed(lambda: AppTest.from_file(str(_APP["main"]), default_timeout=TIMEOUT_S).run())
    times: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.repeat):
        current: dict[str, AppTest] = {}
        for page, action, step in scenario():
            values = times.setdefault((page, action), [])
            try:
                elapsed, current[page] = _timed(lambda step=step, page=page, current=current: step(current.get(page)))
            except (KeyError, ValueError, AttributeError, StopIteration, RuntimeError) as exc:
                print(f"{page} / {action}: n/a ({type(exc).__name__}: {str(exc)[:120]})")
                continue
            values.append(elapsed)
    print(f"store: {args.home} · app: {args.app} · first load in this process: {first:.2f} s · median of {args.repeat}")
    print("| page | action | s |\n|---|---|---|")
    for (page, action), values in times.items():
        print(f"| {page} | {action} | {f'{statistics.median(values):.2f}' if values else 'n/a'} |")


if __name__ == "__main__":
    main()
