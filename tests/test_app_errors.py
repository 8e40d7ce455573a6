"""The app under bad conditions: untrusted interpretation text, an empty edit, a store
locked by another process, a Sensor Logger export without Metadata.csv. Each gets a
message (or inert text), never an exception box."""

from __future__ import annotations

import io
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pandas as pd
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest
from test_app import _no_exception, _page, _picker, _review_all, _shown_interpretation, app_home, store  # noqa: F401
from test_importers import _phyphox_csv, _sensor_csv

from app.components.markup import escape, highlight
from lanhar_core.data.types import GRAVITY
from storage import interpretations as interp_store
from storage.db import Store

HOSTILE = (
    "1. Strength: ![pixel](http://tracker.invalid/p.png) see [details](javascript:alert(1)) "
    "<img src=x onerror=alert(2)> <http://phish.invalid> [ref][1]\n\n[1]: http://ref.invalid"
)


def _html(markdown: str) -> str:
    return MarkdownIt("commonmark", {"html": False}).render(markdown)


def test_interpretation_markup_has_no_live_image_link_or_html() -> None:
    assert "<img" in _html(HOSTILE) and "href=" in _html(HOSTILE)
    for html in (_html(escape(HOSTILE)), _html(highlight(HOSTILE, [(3, 40, "major")]))):
        assert "<img" not in html and "href=" not in html and "<a" not in html
        assert "javascript:alert(1)" in html


def test_review_page_shows_a_hostile_interpretation_as_inert_text(app_home: tuple[Path, AppTest], store: Store) -> None:
    at = _review_all(_page("review"))
    shown = _shown_interpretation(at, store)
    interp_store.edit_interpretation(store, shown.id, HOSTILE, "tester")
    at.run()
    _no_exception(at)
    bodies = [m.value for m in at.markdown if "tracker" in m.value]
    assert bodies, "the interpretation text is not on the page"
    assert all("<img" not in _html(b) and "href=" not in _html(b) for b in bodies)


def test_saving_an_empty_edit_is_a_message(app_home: tuple[Path, AppTest], store: Store) -> None:
    at = _review_all(_page("review"))
    _picker(at).select_index(3).run()
    original = _shown_interpretation(at, store)
    at.text_area(key=f"review_edit_{original.id}").set_value("   ")
    at.button(key="FormSubmitter:review_edit_form-Save edit (accepted as a new version)").click().run()
    _no_exception(at)
    assert at.error and "cannot be empty" in at.error[0].value
    assert _shown_interpretation(at, store).id == original.id


def test_a_store_locked_by_another_process_is_a_message(app_home: tuple[Path, AppTest], store: Store) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('locked', flush=True); "
         "time.sleep(120)", str(store.path)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        at = _page("datasets")
        _no_exception(at)
        assert at.error and "in use by another process" in at.error[0].value
    finally:
        holder.kill()
        holder.wait()
    time.sleep(0.2)
    _no_exception(_page("datasets"))


def test_sensor_logger_upload_without_metadata_takes_the_platform_option(app_home: tuple[Path, AppTest]) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("TotalAcceleration.csv", _sensor_csv(50, 30, (0.0, 0.0, GRAVITY)))
        archive.writestr("Gyroscope.csv", _sensor_csv(50, 30, (0.0, 0.0, 0.1)))
    at = _page("recognize")
    at.radio(key="recognize_format").set_value("Sensor Logger export").run()
    at.file_uploader(key="recognize_upload").set_value(("rec.zip", buffer.getvalue(), "application/zip")).run()
    _no_exception(at)
    assert at.error and "--platform ios or --platform android" in at.error[0].value
    at.radio(key="recognize_platform").set_value("android").run()
    _no_exception(at)
    assert not at.error and at.dataframe


def test_a_damaged_recognizer_is_a_message_on_the_recognize_page(app_home: tuple[Path, AppTest]) -> None:
    weights = app_home[0] / "models" / "test-recognizer" / "sensor_encoder.pt"
    intact = weights.read_bytes()
    weights.write_bytes(intact[: len(intact) // 3])
    try:
        at = _page("recognize")
        _no_exception(at)
        assert at.error and "damaged or were not written" in at.error[0].value
    finally:
        weights.write_bytes(intact)
    _no_exception(_page("recognize"))


def test_phyphox_single_csv_upload_is_recognised(app_home: tuple[Path, AppTest]) -> None:
    acc = pd.read_csv(io.StringIO(_phyphox_csv("acc", 50, 30, (0.1, 0.2, GRAVITY))))
    gyro = pd.read_csv(io.StringIO(_phyphox_csv("gyro", 50, 30, (0.0, 0.05, 0.0))))
    data = pd.concat([acc, gyro.drop(columns="Time (s)")], axis=1).to_csv(index=False, sep=";", decimal=",").encode()
    at = _page("recognize")
    at.radio(key="recognize_format").set_value("phyphox export").run()
    at.file_uploader(key="recognize_upload").set_value(("Raw Data.csv", data, "text/csv")).run()
    _no_exception(at)
    assert not at.error and at.dataframe
