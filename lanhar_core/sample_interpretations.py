"""Interpretations shipped with the built-in sample, and their export/import.

A fresh install should have real LLM output to review (hallucinations included) without
building llama.cpp, so the SmolLM2 (``local``) interpretations of the sample windows were
produced once with this project's own pipeline and ship as compressed JSON lines under
``lanhar_core/data/sample/interpretations/``. Each row carries its backend, model,
parameters, validity, version chain and the exact prompt, and names its window by
(dataset, recording key, start sample) rather than by id, because window ids are assigned
at ingest and differ between stores.

The ``rules`` interpretations of the sample are *not* shipped: the writer is deterministic
and interprets the whole sample in seconds, so ``ensure_sample_interpretations`` generates
them at first run, which also keeps them in step with the current rules version.

A reviewer's work starts from the flagged texts, and flagging clusters text embeddings:
encoding the sample's 1.5k texts with MiniLM takes 1-5 minutes on two cores. So their
embeddings ship too (``embeddings.npz``: sha256 of each text and its vector as float16,
for the packaged encoder version; 1.5k x 384 values), go into the store's embedding cache
on first run, and ``flag_sample`` then flags the sample in seconds. A text the file does
not cover (the rules writer changed) is simply encoded. ``bench/build_sample.py
--embeddings`` rebuilds the file.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lanhar_core.config import Settings
from lanhar_core.errors import DataFormatError
from lanhar_core.interpret import interpret_labels, interpret_windows
from lanhar_core.jobs import Progress
from lanhar_core.llm.rules_backend import RulesBackend
from storage import interpretations as store_it
from storage import quality as store_q
from storage.db import Store
from storage.embedding_cache import StoreEmbeddingCache

if TYPE_CHECKING:
    from lanhar_core.quality.runs import FlagReport

SAMPLE_INTERPRETATIONS_DIR = Path(__file__).resolve().parent / "data" / "sample" / "interpretations"
SAMPLE_EMBEDDINGS = SAMPLE_INTERPRETATIONS_DIR / "embeddings.npz"
SAMPLE_FLAG_JOB = "sample-flag"
FORMAT_VERSION = 1


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) and value else (value or {})


def export_collection(store: Store, collection: str, path: Path, datasets: Sequence[str] | None = None) -> int:
    """Write every generated version of ``collection`` (windows of ``datasets`` and all labels) to ``path``.

    Reviewer edits are left out: a shipped file carries what the model wrote. Returns the row count.
    """
    rows = store_it.export_rows(store, collection, datasets)
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=9) as out:
        for row in rows:
            record = {
                "format": FORMAT_VERSION,
                "collection": collection,
                **{k: row[k] for k in ("target_kind", "dataset", "recording_key", "start_sample", "label", "desc_index")},
                **{k: row[k] for k in ("version", "backend", "model", "text", "valid", "invalid_reason", "origin")},
                "params": _json(row["params"]),
                "fields": _json(row["fields"]),
                **{k: row[k] for k in ("prompt_tokens", "completion_tokens", "cost_usd", "latency_s")},
                "prompt": None
                if row["template"] is None
                else {
                    "template": row["template"],
                    "version": row["prompt_version"],
                    "messages": _json(row["messages"]),
                    "cache_key": row["cache_key"],
                },
            }
            out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
    return len(rows)


def _read(path: Path) -> list[dict[str, Any]]:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as src:
            rows = [json.loads(line) for line in src if line.strip()]
    except (OSError, json.JSONDecodeError) as exc:
        raise DataFormatError(f"{path} is not a gzip-compressed JSON-lines interpretation file: {exc}") from exc
    bad = [r.get("format") for r in rows if r.get("format") != FORMAT_VERSION]
    if bad:
        raise DataFormatError(f"{path} has format {bad[0]!r}; this code reads format {FORMAT_VERSION}")
    return rows


def import_interpretations(store: Store, path: Path) -> int:
    """Attach the rows of an exported file to this store's windows; returns how many versions were added.

    Targets that already have versions in the collection are left alone (importing twice
    adds nothing); rows whose window is not in the store (dataset not ingested) are skipped.
    """
    rows = _read(path)
    if not rows:
        return 0
    datasets = sorted({r["dataset"] for r in rows if r["target_kind"] == "window"})
    positions = store_it.window_positions(store, datasets)
    window_of = {
        (d, k, int(s)): int(w)
        for w, d, k, s in positions[["window_id", "dataset", "recording_key", "start_sample"]].itertuples(index=False)
    }
    items: list[store_it.InterpretationIn] = []
    existing: dict[str, set[str]] = {}
    for row in sorted(rows, key=lambda r: (r["collection"], r["target_kind"], str(r["dataset"]), str(r["recording_key"]),
                                          r["start_sample"] or 0, str(r["label"]), r["desc_index"] or 0, r["version"])):
        collection = row["collection"]
        if collection not in existing:
            existing[collection] = {
                store_it.window_target(w) for w in store_it.interpreted_window_ids(store, collection)
            } | {store_it.label_target(lbl, i) for lbl, i in store_it.existing_label_targets(store, collection)}
        target: dict[str, Any]
        if row["target_kind"] == "window":
            window_id = window_of.get((row["dataset"], row["recording_key"], int(row["start_sample"])))
            if window_id is None:
                continue
            target = {"window_id": window_id}
            key = store_it.window_target(window_id)
        else:
            target = {"label": row["label"], "desc_index": int(row["desc_index"])}
            key = store_it.label_target(row["label"], int(row["desc_index"]))
        if key in existing[collection]:
            continue
        prompt = row.get("prompt")
        items.append(
            store_it.InterpretationIn(
                collection=collection,
                target_kind=row["target_kind"],
                text=row["text"],
                backend=row["backend"],
                model=row["model"],
                valid=bool(row["valid"]),
                params=row["params"],
                fields=row["fields"],
                invalid_reason=row["invalid_reason"],
                origin=row["origin"],
                prompt=store_it.PromptRecord(prompt["template"], prompt["version"], prompt["messages"], prompt["cache_key"])
                if prompt
                else None,
                prompt_tokens=row["prompt_tokens"],
                completion_tokens=row["completion_tokens"],
                cost_usd=row["cost_usd"],
                latency_s=row["latency_s"],
                **target,
            )
        )
    store_it.add_interpretations(store, items)
    return len(items)


def import_sample_interpretations(store: Store) -> int:
    """Import every shipped interpretation file (the sample's datasets must be ingested first)."""
    return sum(import_interpretations(store, path) for path in sorted(SAMPLE_INTERPRETATIONS_DIR.glob("*.jsonl.gz")))


def ensure_sample_interpretations(
    store: Store, settings: Settings, datasets: Sequence[str], progress: Progress | None = None
) -> int:
    """Give the sample ``datasets`` their interpretations: shipped LLM ones imported, rules ones generated.

    Idempotent and resumable like every interpretation run. Returns the number of versions added.
    """
    added = import_sample_interpretations(store)
    backend = RulesBackend()
    for dataset in datasets:
        added += interpret_windows(store, settings, dataset, backend, progress=progress).done
    added += interpret_labels(store, settings, backend, progress=progress).done
    return added


def _sample_texts(store: Store, datasets: Sequence[str]) -> list[str]:
    """Every current window text of the sample's datasets, in every collection (what flagging embeds)."""
    texts: list[str] = []
    for collection in store_it.list_collections(store)["collection"]:
        for dataset in datasets:
            texts += list(store_it.current_window_interpretations(store, str(collection), dataset)["text"])
    return texts


def export_sample_embeddings(store: Store, settings: Settings, datasets: Sequence[str], path: Path = SAMPLE_EMBEDDINGS) -> int:
    """Encode the sample's texts with the configured encoder and write them to ``path``; returns the count."""
    from lanhar_core.models.loading import load_text_encoder
    from lanhar_core.models.text_encoder import text_hash

    encoder = load_text_encoder(settings, store)
    texts = sorted(set(_sample_texts(store, datasets)))
    vectors = encoder.encode(texts, batch_size=settings.text_encoder.encode_batch_size)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path, version=np.array(encoder.version), hashes=np.array([text_hash(t) for t in texts], dtype="S64"),
        vectors=vectors.astype(np.float16),
    )
    return len(texts)


def import_sample_embeddings(store: Store, path: Path = SAMPLE_EMBEDDINGS) -> int:
    """Put the shipped vectors into the store's embedding cache (entries already there stay); returns the count."""
    if not path.exists():
        return 0
    try:
        with np.load(path, allow_pickle=False) as data:
            version = str(data["version"])
            hashes = [h.decode("ascii") for h in data["hashes"]]
            vectors = data["vectors"].astype(np.float32)
    except (OSError, KeyError, ValueError) as exc:
        raise DataFormatError(f"{path} is not a sample embedding file (version, hashes, vectors): {exc}") from exc
    StoreEmbeddingCache(store).put(version, hashes, vectors)
    return len(hashes)


def unflagged_sample(store: Store, datasets: Sequence[str]) -> list[tuple[str, str]]:
    """(collection, dataset) pairs of the sample with texts but no finished flag run yet."""
    done = {(r.collection, r.dataset) for r in store_q.list_runs(store, kind="flag", limit=10_000) if r.status == "finished"}
    todo = []
    for collection in store_it.list_collections(store)["collection"]:
        current = store_it.current_window_index(store, str(collection))
        valid = set(current.loc[current["valid"].astype(bool), "dataset"])
        todo += [(str(collection), d) for d in datasets if (collection, d) not in done and d in valid]
    return todo


def flag_sample(
    store: Store, settings: Settings, datasets: Sequence[str], progress: Progress | None = None, job_id: int | None = None
) -> list[FlagReport]:
    """Flag every collection x dataset of the sample not flagged yet, so the review queue opens on flagged texts."""
    from lanhar_core.quality.runs import default_embed, run_flagging  # scikit-learn: kept off the app's first page load

    progress = progress or Progress()
    import_sample_embeddings(store)
    embed = default_embed(store, settings, progress)
    reports = []
    for collection, dataset in unflagged_sample(store, datasets):
        progress.check_cancelled()
        reports.append(run_flagging(store, settings, collection, dataset, embed, progress=progress, job_id=job_id))
    return reports
