"""`lanhar data ...` end to end through ``lanhar_core.cli.main``."""

from __future__ import annotations

import hashlib
import io
import threading
import zipfile
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lanhar_core.cli import main
from storage import datasets as dataset_store
from storage import interpretations as interpretation_store
from storage import jobs as job_store
from storage.db import Store

from data_fixtures import snapshot


def run(home: Path, *args: str) -> int:
    return main(["--home", str(home), "data", *args])


def _hapt_folder(root: Path) -> Path:
    """A two-activity HAPT experiment in the original RawData format (50 Hz, acc in g)."""
    raw = root / "hapt" / "RawData"
    raw.mkdir(parents=True)
    n = 1500
    t = np.arange(n) / 50.0
    acc = np.column_stack([0.05 * np.sin(2 * np.pi * 2 * t), np.zeros(n), 1 + 0.1 * np.sin(2 * np.pi * 2 * t)])
    gyro = np.column_stack([0.2 * np.sin(2 * np.pi * t), np.zeros(n), np.zeros(n)])
    np.savetxt(raw / "acc_exp01_user01.txt", acc)
    np.savetxt(raw / "gyro_exp01_user01.txt", gyro)
    (raw / "labels.txt").write_text("1 1 1 1 800\n1 1 4 801 1500\n")
    return root / "hapt"


def test_ingest_stats_list_remove(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _hapt_folder(tmp_path)
    assert run(home, "ingest", "hapt", str(folder)) == 0
    out = capsys.readouterr().out
    assert "hapt: ingested 1 recordings" in out and "walk: 4" in out and "sit: 3" in out
    assert run(home, "ingest", "hapt", str(folder)) == 0
    assert "nothing changed" in capsys.readouterr().out
    assert run(home, "stats") == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines()]
    assert ["hapt", "walk", "4"] in rows and ["hapt", "=", "total", "7"] in rows and ["all", "=", "total", "7"] in rows
    assert run(home, "list") == 0
    out = capsys.readouterr().out
    assert "motionsense" in out and "Ingested datasets" in out and "CC BY 4.0" in out
    store = Store(home / "lanhar.duckdb")
    kinds = [(j.kind, j.status) for j in job_store.list_jobs(store)]
    assert kinds.count(("ingest", "finished")) == 2
    assert run(home, "remove", "hapt") == 0
    assert dataset_store.list_datasets(store).empty
    assert run(home, "remove", "hapt") == 2
    assert "no dataset 'hapt'" in capsys.readouterr().err


def test_ingest_options_are_checked(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _hapt_folder(tmp_path)
    assert run(home, "ingest", "hapt", str(folder), "--placement", "wrist") == 2
    assert "single placement" in capsys.readouterr().err
    assert run(home, "ingest", "hapt", str(folder), "--subjects", "1", "--as", "hapt_one") == 0
    assert dataset_store.list_datasets(Store(home / "lanhar.duckdb"))["name"].tolist() == ["hapt_one"]
    assert run(home, "ingest", "nosuch", str(folder)) == 2
    assert "no built-in reader" in capsys.readouterr().err


def _csv(path: Path, drop: str | None = None) -> Path:
    n = 1200
    t = np.arange(n) * 0.02 + np.random.default_rng(0).normal(0, 0.001, n)
    frame = pd.DataFrame({"time": t, "ax": 0.0, "ay": 0.0, "az": 9.81 + np.sin(2 * np.pi * 2 * t),
                          "gx": 0.1, "gy": 0.0, "gz": 0.0, "act": ["walking"] * 600 + ["sitting"] * 600})
    frame.drop(columns=[drop] if drop else []).to_csv(path, index=False)
    return path


IMPORT_ARGS = ("--format", "csv", "--time-col", "time", "--acc-cols", "ax,ay,az", "--gyro-cols", "gx,gy,gz",
               "--label-col", "act", "--label-map", "walking=walk,sitting=sit", "--subject", "me", "--placement", "pocket")


def test_import_csv_and_bad_csv_leaves_store_unchanged(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(home, "import", str(_csv(tmp_path / "mine.csv")), "--name", "mine", *IMPORT_ARGS) == 0
    assert "mine: ingested 1 recordings" in capsys.readouterr().out
    counts = dataset_store.window_counts(Store(home / "lanhar.duckdb"))
    assert dict(zip(counts["label"], counts["n"])) == {"sit": 3, "walk": 3}
    before = snapshot(Store(home / "lanhar.duckdb"))
    bad = _csv(tmp_path / "bad.csv", drop="gz")
    assert run(home, "import", str(bad), "--name", "bad", *IMPORT_ARGS) == 2
    assert "missing column(s) 'gz'" in capsys.readouterr().err
    assert snapshot(Store(home / "lanhar.duckdb")) == before
    assert run(home, "import", str(bad), "--name", "bad", "--format", "csv", "--rate", "50") == 2
    assert "--acc-cols and --gyro-cols" in capsys.readouterr().err
    assert run(home, "import", str(bad), "--name", "bad", *IMPORT_ARGS[:-4], "--label-map", "walking") == 2
    assert "native=canonical" in capsys.readouterr().err


def test_sample_is_ingested_once(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(home, "sample") == 0
    out = capsys.readouterr().out
    assert "sample_hapt: ingested" in out and "sample_motionsense: ingested" in out
    store = Store(home / "lanhar.duckdb")
    counts = dataset_store.window_counts(store)
    motion = set(counts[counts["dataset"] == "sample_motionsense"]["label"])
    assert motion == {"walk", "jog", "sit", "stand", "upstairs", "downstairs"}
    hapt = dataset_store.load_windows(store, dataset="sample_hapt", labels=["sit", "stand", "lie"])
    assert np.median(np.linalg.norm(hapt.signals[..., :3], axis=-1)) == pytest.approx(9.81, rel=0.05)
    assert set(dataset_store.list_datasets(store)["subjects"]) == {3}
    collections = interpretation_store.list_collections(store).set_index("collection")
    assert collections.loc["rules:rules-v3", "windows"] == counts["n"].sum()
    assert collections.loc["rules:rules-v3", "label_descriptions"] > 0
    assert collections.loc["local:smollm2-135m-instruct", "windows"] > 0, "the shipped SmolLM2 texts are imported"
    before = snapshot(store)
    assert run(home, "sample") == 0
    assert capsys.readouterr().out.count("nothing changed") == 2
    assert snapshot(store) == before


def test_download_from_a_mirror(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    served = tmp_path / "served"
    served.mkdir()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("USC-HAD/Readme.txt", "readme")
    (served / "USC-HAD.zip").write_bytes(buffer.getvalue())
    handler = partial(SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *a: None  # type: ignore[method-assign]
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/USC-HAD.zip"
        digest = hashlib.sha256(buffer.getvalue()).hexdigest()
        assert run(home, "download", "uschad", "--url", url, "--sha256", digest) == 0
        out = capsys.readouterr().out
        assert "verified against the expected SHA-256" in out and "next: lanhar data ingest uschad" in out
        assert (home / "downloads" / "uschad" / "USC-HAD" / "Readme.txt").exists()
        assert run(home, "download", "uschad", "--url", url, "--sha256", "f" * 64) == 2
        assert "SHA-256 is" in capsys.readouterr().err
    finally:
        httpd.shutdown()
        httpd.server_close()
