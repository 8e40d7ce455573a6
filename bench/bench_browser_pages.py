"""Page-load times in a real browser: a Streamlit server on a free port, the system Chromium driven by Playwright.

Each row is the time from ``goto`` to the page's last element (the review page: its Accept
button), the first row being the first script run of a fresh server process. Complements
``bench_pages.py``, which times the script runs alone. Needs the Debian ``chromium`` package.

    PYTHONPATH=$PWD OMP_NUM_THREADS=1 .venv/bin/python bench/bench_browser_pages.py --home /tmp/lh-big
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
PAGES = (("", "Where to start"), ("review", None), ("datasets", "Window viewer"), ("embeddings", "2-D map"),
         ("training", "Runs"), ("", "Where to start"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True, help="LANHAR_HOME with the sample (or a big store) in it")
    args = parser.parse_args()
    port = _free_port()
    env = {**os.environ, "LANHAR_HOME": str(args.home), "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app" / "main.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            print(f"store: {args.home}\n| page | load (s) |\n|---|---|")
            for name, ready in PAGES:
                started = time.perf_counter()
                page.goto(f"{url}/{name}")
                if ready:
                    page.get_by_text(ready).first.wait_for(timeout=120_000)
                else:
                    page.get_by_role("button", name=re.compile(r"^Accept(?: Shortcut .+)?$")).wait_for(timeout=120_000)
                print(f"| /{name} | {time.perf_counter() - started:.2f} |", flush=True)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    main()
