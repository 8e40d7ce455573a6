"""Text path: does a writer's text name the activity with no training at all?

For each dataset, a balanced sample of windows is written by the chosen rules writer and
embedded with the pre-trained MiniLM; each is matched to the nearest label vector among all
of the dataset's labels (descriptions for the dataset's body segment). This isolates what the
texts carry from what stage 1 and stage 2 learn, in minutes on a CPU. ``--view`` compares what
is embedded: ``full`` texts (the paper's) or the encoder views of ``lanhar_core.models.text_views``.

    LANHAR_HOME=... python bench/bench_text_path.py --datasets hapt,motionsense,uschad,dsads \\
        --writers rules-v2,rules-v3 --views full,views --per-label 30

Needs the datasets ingested in $LANHAR_HOME (``lanhar data ingest NAME ../shared/data/NAME``).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from lanhar_core.config import load_settings
from lanhar_core.eval.protocols import labelled, load_spec
from lanhar_core.llm.activity_profiles import select_descriptions
from lanhar_core.llm.rules_backend import RulesBackend
from lanhar_core.models.recognizer import label_embedding
from lanhar_core.models.text_encoder import TextEncoder
from lanhar_core.models.text_views import window_view
from lanhar_core.placement import SEGMENTS, dominant_segment
from lanhar_core.prompts import label_prompt, window_prompt
from lanhar_core.vocab import builtin_by_name
from storage.db import Store


def _descriptions(backend: RulesBackend, label: str, segment: str) -> list[str]:
    display = builtin_by_name()[label].display if label in builtin_by_name() else label
    segments = ("",) + (SEGMENTS if backend.model == "rules-v3" else ())
    specs = [label_prompt(label, display, i, segment=s) for s in segments for i in range(5)]
    return select_descriptions([g.text for g in backend.generate(specs)], segment)  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default="hapt,motionsense,uschad,dsads")
    parser.add_argument("--writers", default="rules-v2,rules-v3")
    parser.add_argument("--views", default="full,views")
    parser.add_argument("--per-label", type=int, default=30)
    args = parser.parse_args()
    settings = load_settings()
    store = Store(settings.db_path)
    encoder = TextEncoder.load(None, max_length=256)
    started = time.monotonic()
    print(f"{'writer':9s} {'view':6s} {'dataset':14s} {'labels':>6s} {'acc':>6s}  per-class recall")
    for writer in args.writers.split(","):
        backend = RulesBackend(writer)
        for spec in args.datasets.split(","):
            windows = labelled(load_spec(store, spec, backend.window_frame))
            rng = np.random.default_rng(0)
            labels = sorted({str(x) for x in windows.labels})
            rows = np.concatenate([rng.choice(np.flatnonzero(windows.labels == lab), size=min(args.per_label, int((windows.labels == lab).sum())), replace=False) for lab in labels])
            known = windows.upright_known
            specs = [window_prompt(windows.signals[i], windows.rate_hz, str(windows.placements[i]), [],
                                   upright_known=known is not None and bool(known[i])) for i in rows]
            texts = [g.text for g in backend.generate(specs)]
            segment = dominant_segment(windows.placements[rows])
            descriptions = {lab: _descriptions(backend, lab, segment) for lab in labels}
            truth = windows.labels[rows].astype(str)
            for view in args.views.split(","):
                embedded = texts if view == "full" else [window_view(t) for t in texts]
                if view == "full":
                    matrix = np.stack([_full_embedding(descriptions[lab], encoder) for lab in labels])
                else:
                    matrix = np.stack([label_embedding(descriptions[lab], encoder) for lab in labels])
                predicted = np.asarray(labels)[(encoder.encode(embedded) @ matrix.T).argmax(axis=1)]
                recall = " ".join(f"{lab}:{np.mean(predicted[truth == lab] == lab):.2f}" for lab in labels)
                print(f"{writer:9s} {view:6s} {spec:14s} {len(labels):6d} {np.mean(predicted == truth):6.3f}  {recall}", flush=True)
    print(f"wall {time.monotonic() - started:.0f} s")


def _full_embedding(descriptions: list[str], encoder: TextEncoder) -> np.ndarray:
    """The paper's label vector: whole descriptions, mean of unit embeddings."""
    vectors = encoder.encode(descriptions)
    vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(1e-12)
    mean = vectors.mean(axis=0)
    return mean / max(float(np.linalg.norm(mean)), 1e-12)


if __name__ == "__main__":
    main()
