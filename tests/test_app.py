"""The Streamlit app, driven headless with ``streamlit.testing.v1.AppTest``.

One data directory is shared by the whole module: the app's first run ingests the built-in
sample into it (what a fresh machine sees), then the fixture adds what the other pages
need without training anything: ``rules`` interpretations of some windows, a quality flag,
and an untrained recognizer registered as a finished stage-2 run.
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from app_fixtures import phone_csv, register_recognizer
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Selectbox

from app.components.markup import escape
from lanhar_core.config import load_settings
from lanhar_core.interpret import interpret_windows
from lanhar_core.llm.rules_backend import RulesBackend
from lanhar_core.models.train_sensor import KIND as SENSOR_KIND
from lanhar_core.sample_interpretations import SAMPLE_FLAG_JOB
from storage import datasets as data_store
from storage import interpretations as interp_store
from storage import jobs as job_store
from storage import quality as quality_store
from storage import runs as run_store
from storage.db import Store

MAIN = Path(__file__).resolve().parents[1] / "app" / "main.py"
PAGES = ("home", "datasets", "review", "embeddings", "training", "recognize", "benchmarks")
TIMEOUT_S = 120
FIRST_RUN_TIMEOUT_S = 900
DATASET = "sample_hapt"


def _app() -> AppTest:
    return AppTest.from_file(str(MAIN), default_timeout=TIMEOUT_S)


def _page(name: str) -> AppTest:
    return _app().switch_page(f"../pages/{name}.py").run()


def _no_exception(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]


def _add_review_data(store: Store, home: Path) -> None:
    interpret_windows(store, load_settings(home), DATASET, RulesBackend(), limit=40)
    collection = interp_store.list_collections(store)["collection"].iloc[0]
    current = interp_store.current_window_interpretations(store, collection).head(2)
    run_id = quality_store.create_run(store, "flag", collection, DATASET, {})
    quality_store.add_flags(
        store,
        run_id,
        0,
        [
            quality_store.FlagRow(int(r.interpretation_id), int(r.window_id), str(r.label), 0, 0.9, 0.4, i + 1, "outlier")
            for i, r in enumerate(current.itertuples())
        ],
    )
    quality_store.finish_run(store, run_id, "finished")


def _wait_for_sample_flags(store: Store) -> None:
    """The first run flags the sample in a background job; the review tests start once it has ended."""
    deadline = time.monotonic() + FIRST_RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        jobs = job_store.list_jobs(store, SAMPLE_FLAG_JOB, limit=1)
        if jobs and jobs[0].status in job_store.TERMINAL:
            return
        time.sleep(0.5)
    raise TimeoutError(f"the {SAMPLE_FLAG_JOB} job did not end within {FIRST_RUN_TIMEOUT_S} s")


@pytest.fixture(scope="module")
def app_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, AppTest]]:
    """A data directory filled by the app's first run (the sample) plus review and recognition data."""
    home = tmp_path_factory.mktemp("app") / "lanhar_home"
    previous = os.environ.get("LANHAR_HOME")
    os.environ["LANHAR_HOME"] = str(home)
    try:
        first = AppTest.from_file(str(MAIN), default_timeout=FIRST_RUN_TIMEOUT_S).run()
        store = Store(load_settings(home).db_path)
        _wait_for_sample_flags(store)
        _add_review_data(store, home)
        register_recognizer(store, home)
        yield home, first
    finally:
        if previous is None:
            os.environ.pop("LANHAR_HOME", None)
        else:
            os.environ["LANHAR_HOME"] = previous


@pytest.fixture
def store(app_home: tuple[Path, AppTest]) -> Store:
    return Store(load_settings(app_home[0]).db_path)


def test_first_run_ingests_the_sample(app_home: tuple[Path, AppTest], store: Store) -> None:
    _, first = app_home
    _no_exception(first)
    assert first.title[0].value == "LanHAR Studio"
    assert any("Recognise human activities" in m.value for m in first.markdown)
    assert {"sample_hapt", "sample_motionsense"} <= set(data_store.list_datasets(store)["name"])
    collections = interp_store.list_collections(store).set_index("collection")
    assert collections.loc["rules:rules-v3", "windows"] == data_store.window_counts(store)["n"].sum()


@pytest.mark.parametrize("page", PAGES)
def test_each_page_renders(app_home: tuple[Path, AppTest], page: str) -> None:
    at = _page(page)
    _no_exception(at)
    assert at.title and not at.error


def _plot_title(at: AppTest, key: str) -> str:
    chart = next(e for e in at.get("plotly_chart") if key in e.proto.id)
    return json.loads(chart.proto.spec)["layout"]["title"]["text"]


def test_activity_filter_changes_windows_and_plot(app_home: tuple[Path, AppTest]) -> None:
    at = _page("datasets")
    at.selectbox(key="viewer_dataset").select(DATASET).run()
    titles = {}
    for label in ("sit", "walk"):
        at.selectbox(key="viewer_label").select(label).run()
        _no_exception(at)
        options = at.selectbox(key="viewer_window").options
        assert options and all(f" {label} " in o for o in options)
        titles[label] = _plot_title(at, "window_plot")
        assert f" {label} " in titles[label]
    assert titles["sit"] != titles["walk"]


def _picker(at: AppTest) -> Selectbox:
    return next(s for s in at.selectbox if s.label.startswith("Text "))


def _review_all(at: AppTest) -> AppTest:
    return at.radio(key="review_show").set_value("All").run()


def _shown_interpretation(at: AppTest, store: Store) -> interp_store.Interpretation:
    collection = at.selectbox(key="review_collection").value
    window_id = _picker(at).value
    rows = interp_store.current_window_interpretations(store, collection)
    row = rows[rows["window_id"] == window_id].iloc[0]
    return interp_store.get_interpretation(store, int(row["interpretation_id"]))


def _review(reviewer: str) -> AppTest:
    at = _page("review")
    at.text_input(key="reviewer_name").set_value(reviewer).run()
    return at


def test_sample_is_flagged_on_first_run_and_review_opens_on_the_flags(app_home: tuple[Path, AppTest], store: Store) -> None:
    [job] = job_store.list_jobs(store, SAMPLE_FLAG_JOB, limit=1)
    assert job.status == "finished", job.error
    flagged_runs = {(r.collection, r.dataset) for r in quality_store.list_runs(store, kind="flag") if r.status == "finished"}
    assert {("rules:rules-v3", "sample_hapt"), ("rules:rules-v3", "sample_motionsense"),
            ("local:smollm2-135m-instruct", "sample_hapt")} <= flagged_runs
    at = _page("review")
    _no_exception(at)
    assert at.radio(key="review_show").value == "Flagged"
    options = _picker(at).options
    assert options and all("flagged" in o for o in options)
    collection = at.selectbox(key="review_collection").value
    counts = quality_store.flags(store).groupby("collection")["window_id"].nunique()
    assert counts[collection] == counts.max() and _picker(at).label == f"Text 1 of {counts[collection]}"


def test_flagged_filter_lists_only_flagged_windows(app_home: tuple[Path, AppTest], store: Store) -> None:
    at = _page("review")
    collection = at.selectbox(key="review_collection").value
    flags = quality_store.flags(store)
    flagged = set(flags.loc[flags["collection"] == collection, "window_id"].astype(int))
    shown = {int(o.split(" ")[1][1:]) for o in _picker(at).options}
    assert _picker(at).label == f"Text 1 of {len(flagged)}"
    assert shown <= flagged and len(shown) == min(len(flagged), 101)  # the jump list holds the next 100 texts
    _review_all(at)
    assert int(_picker(at).label.split(" of ")[1]) > len(flagged)


def test_next_and_previous_walk_the_queue(app_home: tuple[Path, AppTest]) -> None:
    at = _page("review")
    options = [int(o.split(" ")[1][1:]) for o in _picker(at).options]
    at.button(key="review_next").click().run()
    assert _picker(at).value == options[1] and _picker(at).label.startswith("Text 2 of ")
    at.button(key="review_prev").click().run()
    assert _picker(at).value == options[0]
    assert at.button(key="review_prev").disabled


def test_accept_moves_on_and_undo_works_after_a_reload(app_home: tuple[Path, AppTest], store: Store) -> None:
    at = _review_all(_review("ana"))
    before = _shown_interpretation(at, store)
    assert before.review_status == "unreviewed"
    at.button(key="review_accept").click().run()
    _no_exception(at)
    assert interp_store.get_interpretation(store, before.id).review_status == "accepted"
    assert _picker(at).value != before.window_id  # on to the next text
    reloaded = _review("ana")  # a new browser session: the decision log is in the store
    assert not reloaded.button(key="review_undo").disabled
    reloaded.button(key="review_undo").click().run()
    _no_exception(reloaded)
    assert interp_store.get_interpretation(store, before.id).review_status == "unreviewed"
    reloaded.button(key="review_redo").click().run()
    assert interp_store.get_interpretation(store, before.id).review_status == "accepted"
    other = _review("ben")
    assert other.button(key="review_undo").disabled  # ben has no decision of his own


def test_edit_then_undo_gives_current_back(app_home: tuple[Path, AppTest], store: Store) -> None:
    at = _review_all(_review("carla"))
    _picker(at).select_index(5).run()
    original = _shown_interpretation(at, store)
    at.text_area(key=f"review_edit_{original.id}").set_value("1. Strength: corrected by a reviewer.")
    at.button(key="FormSubmitter:review_edit_form-Save edit (accepted as a new version)").click().run()
    _no_exception(at)
    edited = _shown_interpretation(at, store)
    assert (edited.origin, edited.review_status, edited.text) == ("edited", "accepted", "1. Strength: corrected by a reviewer.")
    at.button(key="review_undo").click().run()
    _no_exception(at)
    assert _shown_interpretation(at, store).id == original.id
    assert interp_store.get_interpretation(store, edited.id).review_status == "rejected"


def test_regenerate_an_accepted_text_shows_the_candidate_and_keeping_it_shows_it(
    app_home: tuple[Path, AppTest], store: Store
) -> None:
    at = _review_all(_review("dan"))
    _picker(at).select_index(8).run()
    original = _shown_interpretation(at, store)
    at.button(key="review_accept").click().run()
    assert _picker(at).value != original.window_id
    _picker(at).set_value(original.window_id).run()  # back to it through the jump list
    assert _shown_interpretation(at, store).review_status == "accepted"
    at.button(key="review_regenerate").click().run()
    _no_exception(at)
    candidate_id = interp_store.pending_candidate(store, at.selectbox(key="review_collection").value, original.window_id)
    assert candidate_id is not None and _shown_interpretation(at, store).id == original.id  # nothing replaced yet
    assert any(m.value.startswith("**Candidate**") for m in at.markdown)
    at.button(key="review_keep_candidate").click().run()
    _no_exception(at)
    shown = _shown_interpretation(at, store)
    assert shown.id == candidate_id and shown.origin == "regenerated" and shown.parent_id == original.id
    assert any(escape(shown.text.split(" ")[2]) in m.value for m in at.markdown)  # the new text is on screen
    at.button(key="review_undo").click().run()
    _no_exception(at)
    assert _shown_interpretation(at, store).id == original.id  # and the candidate waits again
    at.button(key="review_keep_current").click().run()
    assert interp_store.get_interpretation(store, candidate_id).review_status == "rejected"
    assert interp_store.pending_candidate(store, shown.collection, original.window_id) is None


def test_bulk_reject_of_a_queue_is_one_undo(app_home: tuple[Path, AppTest], store: Store) -> None:
    at = _review("erin")
    at.selectbox(key="review_dataset").select("sample_motionsense").run()
    collection = at.selectbox(key="review_collection").value
    flags = quality_store.flags(store)
    flagged = set(flags.loc[flags["collection"] == collection, "window_id"].astype(int))
    current = interp_store.current_window_interpretations(store, collection, "sample_motionsense")
    ids = [int(i) for i in current.loc[current["window_id"].isin(flagged), "interpretation_id"]]
    assert ids and at.checkbox(key="review_bulk_confirm").label == f"Yes, apply to all {len(ids)} texts"
    before = interp_store.statuses(store, ids)
    at.checkbox(key="review_bulk_confirm").check().run()
    at.button(key="review_bulk_reject").click().run()
    _no_exception(at)
    assert set(interp_store.statuses(store, ids).values()) == {"rejected"}
    at.button(key="review_undo").click().run()
    assert interp_store.statuses(store, ids) == before


def _upload_generic(at: AppTest, name: str, data: bytes) -> AppTest:
    at.radio(key="recognize_format").set_value("Generic CSV / Parquet").run()
    at.file_uploader(key="recognize_upload").set_value((name, data, "text/csv")).run()
    return at


def test_recognize_upload_gives_segments(app_home: tuple[Path, AppTest]) -> None:
    at = _upload_generic(_page("recognize"), "walk.csv", phone_csv())
    next(s for s in at.selectbox if s.label == "timestamp column").select("time")
    at.button(key="FormSubmitter:mapping_form-Import").click().run()
    _no_exception(at)
    assert not at.error
    segments = at.dataframe[0].value
    assert list(segments.columns[:3]) == ["start (s)", "end (s)", "activity"] and len(segments) >= 1


def test_recognize_bad_upload_shows_the_library_error(app_home: tuple[Path, AppTest], store: Store) -> None:
    windows_before = int(data_store.window_counts(store)["n"].sum())
    bad = phone_csv().replace(b"9.81", b"nan", 1).replace(b",0.0,", b",,", 3)
    at = _upload_generic(_page("recognize"), "bad.csv", bad)
    at.button(key="FormSubmitter:mapping_form-Import").click().run()
    _no_exception(at)
    assert at.error and "bad.csv" in at.error[0].value
    assert int(data_store.window_counts(store)["n"].sum()) == windows_before


def test_fact_check_runs_as_a_background_job(app_home: tuple[Path, AppTest], store: Store) -> None:
    runs_before = len(quality_store.list_runs(store, kind="factcheck"))
    at = _page("review")
    at.selectbox(key="review_quality_dataset").select(DATASET)
    at.button(key="review_quality-factcheck").click().run()
    for _ in range(60):
        at.run()
        if at.success or at.error:
            break
        time.sleep(1)
    _no_exception(at)
    assert at.success and "finished" in at.success[0].value
    runs = quality_store.list_runs(store, kind="factcheck")
    assert len(runs) == runs_before + 1 and runs[0].status == "finished" and runs[0].job_id is not None


def _store_benchmark(store: Store) -> str:
    """A finished cross benchmark with one scored result of ours (with its stage-2 epochs) and one not run."""
    from lanhar_core.eval.metrics import score
    from storage import results as result_store

    benchmark_id = result_store.create_benchmark(store, "cross", {"pairs": [["sample_hapt", "sample_motionsense"]]}, "test")
    truth = ["walk", "walk", "sit", "upstairs", "downstairs", "sit"]
    predicted = ["walk", "upstairs", "sit", "upstairs", "walk", "sit"]
    metrics = {**score(truth, predicted, ["walk", "upstairs", "downstairs", "sit"]).as_dict(), "stage2_kept_epoch": 2,
               "stage2_epochs": [{"epoch": e, "loss": 3.0 - e, "val_macro_f1": 0.3 * e} for e in (1, 2)]}
    for method, variant, m in (("lanhar", "transductive", metrics), ("lanhar", "no_regeneration", {"not_run": "no run"})):
        result_store.add_result(store, benchmark_id, result_store.ResultIn(
            "cross", "sample_hapt", "sample_motionsense", method, variant, 0, m, {"seed": 0}, 1.0), "test")
    result_store.finish_benchmark(store, benchmark_id, "finished", 2.0)
    return benchmark_id


def test_benchmarks_page_shows_stored_tables_and_one_results_details(app_home: tuple[Path, AppTest], store: Store) -> None:
    benchmark_id = _store_benchmark(store)
    at = _page("benchmarks")
    at.selectbox(key="bench_pick").select(benchmark_id).run()
    _no_exception(at)
    per_pair = at.dataframe[0].value
    assert list(per_pair["method"]) == ["lanhar", "lanhar"] and per_pair["accuracy"].iloc[0] == "0.667"
    assert _plot_title(at, "bench_confusion").startswith("Confusion: accuracy 0.667")
    assert "kept from epoch 2" in _plot_title(at, "bench_epochs")
    at.selectbox(key="bench_result").select(1).run()
    assert at.warning and "Not run: no run" in at.warning[0].value


def test_shipped_embeddings_cover_the_sample_texts(app_home: tuple[Path, AppTest], store: Store) -> None:
    """If this fails the rules writer changed: rebuild with `bench/build_sample.py --embeddings HOME`."""
    from lanhar_core.models.text_encoder import text_hash
    from lanhar_core.sample_interpretations import SAMPLE_EMBEDDINGS

    with np.load(SAMPLE_EMBEDDINGS, allow_pickle=False) as shipped:
        hashes = {h.decode("ascii") for h in shipped["hashes"]}
    texts = {t for c in ("rules:rules-v3", "local:smollm2-135m-instruct")
             for t in interp_store.current_window_interpretations(store, c)["text"]}
    assert np.mean([text_hash(t) in hashes for t in texts]) > 0.95


def test_training_resume_offers_the_runs_own_epochs_and_runs_compare(app_home: tuple[Path, AppTest], store: Store) -> None:
    import dataclasses

    settings = load_settings(app_home[0])
    config = {"sensor_encoder": {**dataclasses.asdict(settings.sensor_encoder), "epochs": 300, "lr": 0.0005},
              "data": dataclasses.asdict(settings.data)}
    run_id = run_store.create_run(store, SENSOR_KIND, config, 0, {"sources": [DATASET], "collection": "rules:rules-v3"}, "test")
    for epoch in (1, 2):
        run_store.record_epoch(store, run_id, epoch, 10 * epoch, {"align": 3.0 / epoch},
                               {"val_loss": 2.0, "val_zero_shot_accuracy": 0.2 * epoch, "val_n": 120}, 1.0)
    run_store.finish_run(store, run_id, "interrupted", 2.0, error="cancelled")
    at = _page("training")
    _no_exception(at)
    assert at.button(key="train_resume").label == f"Resume run {run_id} (epoch 3 of its 300)"
    chart = next(e for e in at.get("plotly_chart") if "run_epochs" in e.proto.id)
    titles = [a["text"] for a in json.loads(chart.proto.spec)["layout"]["annotations"]]
    assert titles == ["losses", "scores (0-1)", "counts"]
    differ = next(d.value for d in at.dataframe if "setting" in d.value.columns)
    assert {"sensor_encoder.epochs", "sensor_encoder.lr"} <= set(differ["setting"])


def test_embeddings_map_defaults_to_the_largest_collection_and_colours_by_flag(app_home: tuple[Path, AppTest]) -> None:
    at = _page("embeddings")
    assert at.selectbox(key="map_collection").value == "rules:rules-v3"  # 1.5k texts, not the 21 SmolLM2 ones
    at.button(key="FormSubmitter:map_form-Compute map").click().run()
    _no_exception(at)
    at.radio(key="map_colour").set_value("flag").run()
    _no_exception(at)
    chart = next(e for e in at.get("plotly_chart") if "embedding_scatter" in e.proto.id)
    spec = json.loads(chart.proto.spec)
    assert {t["legendgroup"].split(",")[0] for t in spec["data"]} <= {"flagged", "not flagged"}
    assert all(t.get("customdata") for t in spec["data"])  # each point carries its window for the selection
    assert spec["layout"]["dragmode"] == "lasso"


def test_map_selection_reads_the_windows_of_the_selected_points() -> None:
    from app.components.selection import selected_windows

    event = {"selection": {"points": [{"customdata": [12], "x": 0.1}, {"customdata": [7]}, {"x": 3}], "box": [], "lasso": []}}
    assert selected_windows(event) == [12, 7] and selected_windows(None) == []


def test_kl_heatmap_sits_beside_the_papers_table_1(app_home: tuple[Path, AppTest], store: Store) -> None:
    run_id = quality_store.create_run(store, "kl", "rules:rules-v3", None, {})
    rows = [quality_store.KLRow(label, 0.1, 1.0, value, 10, 10) for label, value in (("walk", 0.08), ("sit", 0.2))]
    quality_store.add_kl(store, run_id, "sample_hapt", "sample_motionsense", "text", "knn", rows, collection="rules:rules-v3")
    quality_store.finish_run(store, run_id, "finished")
    at = _page("embeddings")
    _no_exception(at)
    heat = next(e for e in at.get("plotly_chart") if "kl_heatmap" in e.proto.id)
    z = json.loads(heat.proto.spec)["data"][0]["z"]
    values = np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"]).reshape(1, -1)
    assert values[0].tolist() == pytest.approx([0.2, 0.08, 0.14])  # sit, walk and the average column
    paper = next(d.value for d in at.dataframe if "relative KL" in d.value.columns)
    assert paper["relative KL"].tolist() == [0.2708, 0.1926, 0.1147]
def _shipped(at: AppTest) -> AppTest:
    """Pick the default recognizer shipped with the package (listed after the store's trained runs)."""
    at.selectbox(key="recognize_model").select("shipped").run()
    return at


def _frame(at: AppTest, column: str) -> pd.DataFrame:
    """The first table showing ``column`` (AppTest does not expose dataframe keys)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def _labelled_csv(rate_hz: float = 50.0) -> bytes:
    """Walking (steps at 1.8 Hz) then sitting (still), 40 s each, acc in g, gyro in deg/s, epoch-ms timestamps."""
    n = int(rate_hz * 40)
    t = np.arange(2 * n) / rate_hz
    moving = np.arange(2 * n) < n
    step = np.sin(2 * np.pi * 1.8 * t) * moving
    table = pd.DataFrame({
        "timestamp": 1_700_000_000_000 + np.round(t * 1000).astype(np.int64),
        "ax": 0.05 * step, "ay": 1.0 + 0.3 * step, "az": 0.1 * step,
        "gx": 40 * step, "gy": 5 * step, "gz": 2.0, "activity": np.where(moving, "walk", "sit"),
    })
    return table.to_csv(index=False).encode()


def test_recognize_uses_the_shipped_model_on_the_example(app_home: tuple[Path, AppTest]) -> None:
    at = _shipped(_page("recognize"))
    at.button(key="recognize_try_example").click().run()
    _no_exception(at)
    assert not at.error
    assert "truth against prediction" in _plot_title(at, "segments_timeline")
    assert {m.label for m in at.metric} >= {"Window accuracy", "Segment accuracy"}
    recall = _frame(at, "recall")
    assert {"walk", "sit", "stand", "lie"} <= set(recall["activity"])
    assert at.selectbox(key="recognize_placement").value == "waist"  # the example's placement, and its labels
    assert sorted(at.multiselect[0].value) == ["downstairs", "lie", "sit", "stand", "upstairs", "walk"]
    assert any("guessed, change if wrong" in c.value and "g" in c.value for c in at.caption)
    assert at.get("download_button")


def test_recognize_reads_the_example_through_its_interpretations(app_home: tuple[Path, AppTest]) -> None:
    at = _shipped(_page("recognize"))
    at.button(key="recognize_try_example").click().run()
    by_sensor = _frame(at, "recall")
    at.radio(key="recognize_path").set_value("text").run()
    _no_exception(at)
    assert not at.error
    assert "truth against prediction" in _plot_title(at, "segments_timeline")
    by_text = _frame(at, "recall")
    assert set(by_text["activity"]) == set(by_sensor["activity"])
    assert not by_text.equals(by_sensor)  # another path, other answers on the same windows


def test_recognize_guesses_units_and_clock_of_an_upload(app_home: tuple[Path, AppTest]) -> None:
    at = _upload_generic(_page("recognize"), "mine.csv", _labelled_csv())
    by_label = {s.label: s.value for s in at.selectbox}
    assert (by_label["acc unit"], by_label["gyro unit"], by_label["timestamp unit"]) == ("g", "deg/s", "ms")
    assert (by_label["timestamp column"], by_label["label column"]) == ("timestamp", "activity")
    guessed = next(c.value for c in at.caption if "guessed, change if wrong" in c.value)
    assert "sampling rate: 50.0 Hz" in guessed and "median |acc| is 1.0" in guessed


def test_recognize_labelled_upload_shows_truth_against_prediction(app_home: tuple[Path, AppTest]) -> None:
    at = _upload_generic(_shipped(_page("recognize")), "mine.csv", _labelled_csv())
    at.button(key="FormSubmitter:mapping_form-Import").click().run()
    _no_exception(at)
    assert not at.error
    assert "truth against prediction" in _plot_title(at, "segments_timeline")
    chart = next(e for e in at.get("plotly_chart") if "segments_timeline" in e.proto.id)
    rows = {y for trace in json.loads(chart.proto.spec)["data"] for y in trace["y"]}
    assert rows == {"truth", "predicted"}
    confusion = _frame(at, "walk")
    assert {"walk", "sit"} <= set(confusion.index)
    assert 20 <= int(confusion.to_numpy().sum()) <= 25  # 80 s at 20 Hz: 25 windows, less those straddling the change


def test_recognize_too_short_upload_names_rows_seconds_and_the_window(app_home: tuple[Path, AppTest]) -> None:
    at = _upload_generic(_page("recognize"), "short.csv", phone_csv(seconds=0.1))
    at.button(key="FormSubmitter:mapping_form-Import").click().run()
    _no_exception(at)
    assert at.error
    message = at.error[0].value
    assert "5 rows = 0.1 s" in message and "a window needs 6 s" in message and "could not be loaded" not in message


def test_embeddings_map_colours_by_a_recognizers_prediction(app_home: tuple[Path, AppTest], store: Store) -> None:
    [run] = [r for r in run_store.list_runs(store, SENSOR_KIND) if r.status == "finished"]  # the fixture's recognizer
    at = _page("embeddings")
    at.selectbox(key="map_predict_with").set_value(run.id)
    at.button(key="FormSubmitter:map_form-Compute map").click().run()
    _no_exception(at)
    assert "prediction" in at.radio(key="map_colour").options
    at.radio(key="map_colour").set_value("prediction").run()
    _no_exception(at)
    chart = next(e for e in at.get("plotly_chart") if "embedding_scatter" in e.proto.id)
    groups = {t["legendgroup"].split(",")[0] for t in json.loads(chart.proto.spec)["data"]}
    assert groups and groups <= {"walk", "sit", "unknown"}  # the test recognizer's two labels


def test_embeddings_map_of_the_sensor_encoders_space(app_home: tuple[Path, AppTest], store: Store) -> None:
    [run] = [r for r in run_store.list_runs(store, SENSOR_KIND) if r.status == "finished"]
    at = _page("embeddings")
    at.radio(key="map_repr").set_value("Sensor encoder embeddings").run()
    at.selectbox(key="map_sensor_run").set_value(run.id).run()
    at.button(key="FormSubmitter:map_form-Compute map").click().run()
    _no_exception(at)
    assert _plot_title(at, "embedding_scatter").endswith("of sensor encoder embeddings")
