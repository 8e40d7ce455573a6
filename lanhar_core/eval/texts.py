"""The interpretations a protocol needs: read from a collection, written first when missing.

Missing window interpretations and label descriptions are generated only when the
collection is the evaluation backend's own (``rules:rules-v3`` by default, cheap and
offline); another collection (an LLM's, a reviewed one) is used as it is, because writing
rule-based texts into it would silently mix two writers. Only valid, non-rejected current
versions are read.
"""

from __future__ import annotations

from collections.abc import Sequence

from lanhar_core.config import Settings
from lanhar_core.data.types import WindowSet
from lanhar_core.eval.pipeline import TextSet
from lanhar_core.interpret import default_collection, interpret_labels, interpret_windows
from lanhar_core.jobs import Progress
from lanhar_core.llm.registry import make_backend
from storage import quality as quality_store
from storage.db import Store
from storage.interpretations import current_label_interpretations, current_window_interpretations


def eval_collection(settings: Settings, collection: str | None, prompt_variant: str = "full") -> str:
    """The named collection, else the evaluation backend's default one."""
    if collection:
        return collection
    return default_collection(make_backend(settings, settings.eval.backend), prompt_variant)


def ensure_texts(
    store: Store,
    settings: Settings,
    collection: str,
    windows: Sequence[WindowSet],
    labels: Sequence[str],
    prompt_variant: str = "full",
    progress: Progress | None = None,
) -> None:
    """Interpret the given windows and describe ``labels`` in ``collection`` where that is ours to do."""
    backend = make_backend(settings, settings.eval.backend)
    if collection != default_collection(backend, prompt_variant):
        return
    progress = progress or Progress()
    by_dataset: dict[str, set[int]] = {}
    for ws in windows:
        for dataset, window_id in zip(ws.datasets, ws.ids):
            by_dataset.setdefault(str(dataset), set()).add(int(window_id))
    for dataset, ids in sorted(by_dataset.items()):
        progress.update(progress.done, None, f"interpreting {dataset}")
        interpret_windows(store, settings, dataset, backend, collection, variant=prompt_variant,
                          window_ids=sorted(ids), progress=_quiet(progress))
    interpret_labels(store, settings, backend, labels=sorted(set(labels)), collection=collection, progress=_quiet(progress))


def _quiet(progress: Progress) -> Progress:
    """A child progress that shares the cancel flag but not the parent's counters."""
    return Progress(cancel_event=progress.cancel_event)


def load_texts(store: Store, collection: str, datasets: Sequence[str]) -> TextSet:
    """Current valid, non-rejected window texts of ``datasets`` and all label descriptions of ``collection``."""
    windows: dict[int, str] = {}
    for dataset in sorted(set(datasets)):
        frame = current_window_interpretations(store, collection, dataset)
        usable = frame[frame["valid"].astype(bool) & (frame["review_status"] != "rejected")]
        windows.update(zip(usable["window_id"].astype(int), usable["text"].astype(str)))
    labels = current_label_interpretations(store, collection)
    if len(labels):
        labels = labels[labels["valid"].astype(bool) & (labels["review_status"] != "rejected")]
    descriptions: dict[str, list[str]] = {}
    for label, text in zip(labels.get("label", []), labels.get("text", [])):
        descriptions.setdefault(str(label), []).append(str(text))
    return TextSet(collection, windows, descriptions)


def before_regeneration(store: Store, texts: TextSet) -> tuple[TextSet, list[int]] | None:
    """The collection's texts as they were before its re-generation runs, or ``None`` if it had none.

    Re-generation replaced some window texts; ``storage.quality.texts_before_run`` gives
    the replaced originals, which are put back (oldest run last, so the earliest text wins).
    """
    runs = [r for r in quality_store.list_runs(store, kind="regenerate", collection=texts.collection, limit=1000)
            if r.status == "finished"]
    if not runs:
        return None
    restored = dict(texts.windows)
    for run in runs:
        for window_id, text in quality_store.texts_before_run(store, run.id).items():
            if window_id in restored:
                restored[window_id] = text
    return TextSet(texts.collection, restored, texts.descriptions), [r.id for r in runs]
