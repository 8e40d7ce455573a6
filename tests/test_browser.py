"""User journeys in a real browser: Playwright driving the system Chromium over a Streamlit server.

One test per journey (review a flagged text; select a cluster on the map and open a window;
start and cancel a training run; upload and recognise). The store is prepared in-process
with the same functions the app's first run calls (sample, interpretations, flags), then a
server is started on a free local port with that ``LANHAR_HOME``. Screenshots of each
journey go to ``$LANHAR_SCREENSHOTS`` when it is set.

Chromium comes from the system (Debian package ``chromium``); a browser download cannot
work here. Without one the tests skip with that reason, except in CI (``CI`` set), where a
missing browser is a failure: ``.ci/run`` installs it first.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from app_fixtures import phone_csv, register_recognizer

from lanhar_core.config import load_settings
from lanhar_core.data.sample import ensure_sample
from lanhar_core.sample_interpretations import ensure_sample_interpretations, flag_sample
from storage import interpretations as interp_store
from storage import jobs as job_store
from storage import quality as quality_store
from storage import runs as run_store
from storage.db import Store

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
SERVER_START_S = 60
UI_TIMEOUT_MS = 90_000
WARM_UP_MS = 240_000

playwright_sync = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (requirements-dev.txt)")


def _chromium() -> str:
    found = next((p for p in CHROMIUM_CANDIDATES if Path(p).exists()), None) or shutil.which("chromium")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("no Chromium in CI: .ci/run installs the Debian package `chromium` before `make test`")
    pytest.skip("no system Chromium found (apt-get install chromium); the browser journeys run in CI")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _prepare(home: Path) -> Store:
    """What a first run leaves behind (sample, its interpretations, flags) plus a recognizer to recognise with."""
    settings = load_settings(home)
    settings.ensure_dirs()
    store = Store(settings.db_path)
    datasets = [r.dataset for r in ensure_sample(store, settings)]
    ensure_sample_interpretations(store, settings, datasets)
    flag_sample(store, settings, datasets)
    register_recognizer(store, home)
    return store


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Store]]:
    _chromium()
    home = tmp_path_factory.mktemp("browser") / "lanhar_home"
    store = _prepare(home)
    port = _free_port()
    env = {**os.environ, "LANHAR_HOME": str(home), "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    log = open(home / "server.log", "w")  # noqa: SIM115 - closed below, after the server
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app" / "main.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                    if reply.read() == b"ok":
                        break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the Streamlit server did not start: {(home / 'server.log').read_text()[-2000:]}") from None
                time.sleep(0.5)
        yield url, store
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


@pytest.fixture(scope="module")
def browser(server: tuple[str, Store]) -> Iterator[object]:
    with playwright_sync.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=_chromium(), args=["--no-sandbox", "--disable-gpu"])
        warm = chromium.new_page()
        warm.goto(f"{server[0]}/review")  # the first script run imports torch and the encoders: slow on a shared CPU
        _button(warm, "Accept").wait_for(timeout=WARM_UP_MS)
        warm.close()
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1500, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(UI_TIMEOUT_MS)
    yield tab
    context.close()


def _shot(page: object, name: str) -> None:
    folder = os.environ.get("LANHAR_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def _open(page: object, url: str, path: str) -> None:
    page.goto(f"{url}/{path}")
    page.get_by_test_id("stApp").wait_for()
    _idle(page)


def _idle(page: object) -> None:
    """Wait until the page's script run has ended (Streamlit marks the app element with its script state)."""
    page.wait_for_function(
        "() => document.querySelector('[data-testid=\"stApp\"]')?.getAttribute('data-test-script-state') === 'notRunning'",
        timeout=UI_TIMEOUT_MS,
    )


def _only_one(page: object, selector: str) -> None:
    """Wait until one element matches: while Streamlit redraws, the previous run's widget can still be there."""
    page.wait_for_function("(s) => document.querySelectorAll(s).length === 1", arg=selector, timeout=UI_TIMEOUT_MS)


def _button(page: object, label: str) -> object:
    """A button by its label; a keyboard shortcut makes its accessible name "Accept Shortcut A"."""
    return page.get_by_role("button", name=re.compile(rf"^{re.escape(label)}(?: Shortcut .+)?$"))


def _shown_window(page: object) -> int:
    """The window of the text on screen, read from its signal plot's title ("Window #12 · walk · ...")."""
    title = page.locator("[data-testid='stPlotlyChart'] .gtitle").first.text_content()
    return int(title.split("#")[1].split(" ")[0])


def _until(check: object, what: str, timeout_s: float = 60.0) -> None:
    """Poll the store until ``check()`` holds: the browser shows a change before the server has written it."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s:.0f} s: {what}")
        time.sleep(0.3)


def _current_in(store: Store, collection: str, window_id: int) -> interp_store.Interpretation:
    rows = interp_store.current_window_interpretations(store, collection)
    return interp_store.get_interpretation(store, int(rows.loc[rows["window_id"] == window_id, "interpretation_id"].iloc[0]))


def test_review_a_flagged_text_accept_edit_regenerate_keep_and_undo_after_reload(page: object, server: tuple[str, Store]) -> None:
    url, store = server
    _open(page, url, "review")
    page.get_by_text("Text 1 of").wait_for()
    _shot(page, "review-flagged")
    flags = quality_store.flags(store).groupby("collection")["window_id"].nunique()
    collection = str(flags.idxmax())  # the page opens on the collection with the most flagged texts
    first = _shown_window(page)
    _button(page, "Accept").click()
    page.get_by_text("Text 2 of").wait_for()
    _idle(page)
    _until(lambda: _current_in(store, collection, first).review_status == "accepted", "the accept is stored")

    _only_one(page, "textarea[aria-label='Edit the text']")
    page.wait_for_function("(w) => !document.querySelector('[data-testid=\"stPlotlyChart\"] .gtitle')"
                           ".textContent.includes('#' + w + ' ')", arg=first, timeout=UI_TIMEOUT_MS)
    second = _shown_window(page)
    page.get_by_label("Edit the text").fill("1. Strength: edited in a real browser.")
    _button(page, "Save edit (accepted as a new version)").click()
    _until(lambda: _current_in(store, collection, second).origin == "edited", "the edit is stored")
    edited = _current_in(store, collection, second)
    assert edited.text == "1. Strength: edited in a real browser."
    page.get_by_text("status accepted", exact=False).first.wait_for()
    _idle(page)

    _button(page, "Regenerate").click()
    _button(page, "Keep candidate").wait_for()
    _idle(page)
    _shot(page, "review-candidate")
    _button(page, "Keep candidate").click()
    _until(lambda: _current_in(store, collection, second).origin == "regenerated", "the kept candidate is current")
    assert _current_in(store, collection, second).review_status == "accepted"
    _button(page, "Regenerate").wait_for()
    _idle(page)
    _shot(page, "review-kept")

    page.reload()
    page.get_by_test_id("stApp").wait_for()
    _idle(page)
    _button(page, "Undo").click()
    _until(lambda: _current_in(store, collection, second).id == edited.id, "undo after the reload gives the edit back")


def _lasso(page: object) -> None:
    """A lasso (the map's drag mode) around most of the scatter plot, drawn on plotly's drag layer."""
    layer = page.locator("[data-testid='stPlotlyChart'] .nsewdrag").first
    box = layer.bounding_box()
    corners = [(0.05, 0.05), (0.95, 0.05), (0.95, 0.95), (0.05, 0.95), (0.05, 0.06)]
    points = [(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy) for fx, fy in corners]
    page.mouse.move(*points[0])
    page.mouse.down()
    for (xa, ya), (xb, yb) in zip(points, points[1:]):
        for step in range(1, 6):
            page.mouse.move(xa + (xb - xa) * step / 5, ya + (yb - ya) * step / 5)
    page.mouse.up()


def test_select_a_cluster_on_the_map_and_open_a_window(page: object, server: tuple[str, Store]) -> None:
    url, _ = server
    _open(page, url, "embeddings")
    _button(page, "Compute map").click()
    page.locator("[data-testid='stPlotlyChart'] .nsewdrag").first.wait_for()
    _idle(page)
    _lasso(page)
    page.get_by_text("windows selected").wait_for()
    _idle(page)
    page.get_by_text("Window #", exact=False).first.wait_for()
    assert page.get_by_text("Interpretation (", exact=False).count() >= 1
    _shot(page, "embeddings-selection")
    _button(page, "Review the selection").click()
    page.get_by_text("Text 1 of").wait_for()
    _idle(page)
    assert page.get_by_text("Selected on the map").count() >= 1


def test_start_and_cancel_a_training_run(page: object, server: tuple[str, Store]) -> None:
    url, store = server
    _open(page, url, "training")
    page.get_by_text("Stage 2: sensor encoder").click()
    _button(page, "Start stage 2").wait_for()
    _idle(page)
    _only_one(page, "input[aria-label='Epochs']")  # the stage-1 field (max 100) may linger beside the stage-2 one
    page.get_by_label("Epochs").fill("200")
    _button(page, "Start stage 2").click()
    page.get_by_text("train-sensor #", exact=False).first.wait_for()
    cancel = _button(page, "Cancel")
    cancel.wait_for()
    clicked = time.monotonic()
    cancel.click()
    page.get_by_text("Cancel requested", exact=False).first.wait_for(timeout=5_000)
    acknowledged = time.monotonic() - clicked
    _shot(page, "training-cancel")
    job = job_store.list_jobs(store, "train-sensor", limit=1)[0]
    deadline = time.monotonic() + 120
    while job.status == "running" and time.monotonic() < deadline:
        time.sleep(0.5)
        job = job_store.get_job(store, job.id)
    assert job.status == "interrupted" and acknowledged < 5
    runs = [r for r in run_store.list_runs(store, "sensor") if r.data_selection.get("collection")]
    assert runs and runs[0].status == "interrupted" and runs[0].epochs_done < 200


def test_upload_and_recognise(page: object, server: tuple[str, Store], tmp_path: Path) -> None:
    url, _ = server
    csv = tmp_path / "walk.csv"
    csv.write_bytes(phone_csv())
    _open(page, url, "recognize")
    page.get_by_text("Generic CSV / Parquet").click()
    upload = page.locator("[data-testid='stFileUploaderDropzoneInput'][accept*='.parquet']")  # the generic format's uploader
    upload.wait_for(state="attached")
    _idle(page)
    upload.set_input_files(str(csv))
    page.get_by_text("Column mapping").wait_for()
    _idle(page)
    _button(page, "Import").click()
    page.get_by_text("Recording with recognised segments").first.wait_for()
    _idle(page)
    _shot(page, "recognize")
    assert page.get_by_text("walk.csv", exact=False).count() >= 1
