"""Sensor encoder presets: size, CPU latency, and (with a store) alignment and accuracy.

    python bench/bench_sensor_encoder.py                      # efficiency table only
    python bench/bench_sensor_encoder.py --home DIR --source sample_hapt \\
        --target sample_motionsense --collection rules:rules-v2 --epochs 15

Efficiency: parameters, size of the exported TorchScript file, and per-window latency of
the eager model in inference mode at batch 1 and batch 256 (median over many runs, after
warm-up; torch's default thread count). Quality: each preset is trained for the same
epochs on the same windows, split and seed (stage 2 on the source; the text encoder is
the newest stage-1 run in the store, else the pre-trained MiniLM), then reports the
source-validation alignment recall@1 and zero-shot accuracy, and the zero-shot accuracy
on the target (its labels are read only for this metric). The label set is every label
with descriptions in the collection that occurs in the source validation split or the target.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from lanhar_core.cli.common import print_table
from lanhar_core.models.export import ENCODER_FILE, export_artifact
from lanhar_core.models.recognizer import Preprocessing, Recognizer
from lanhar_core.models.sensor_encoder import PRESETS, count_parameters, create_sensor_encoder


def latency_ms(model: torch.nn.Module, batch: int, runs: int) -> float:
    """Median milliseconds per window over ``runs`` forward passes of one batch."""
    x = torch.randn(batch, 120, 6)
    times = []
    with torch.inference_mode():
        for _ in range(3):
            model(x)
        for _ in range(runs):
            start = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000 / batch


def efficiency(embed_dim: int, runs_b1: int, runs_b256: int) -> None:
    rows = []
    for preset in PRESETS:
        model = create_sensor_encoder(preset, embed_dim).eval()
        recognizer = Recognizer(model, Preprocessing(20.0, 120, 60), temperature=0.07)
        with tempfile.TemporaryDirectory() as tmp:
            size_mb = (export_artifact(recognizer, tmp) / ENCODER_FILE).stat().st_size / 1e6
        rows.append(
            (preset, count_parameters(model), round(size_mb, 2), latency_ms(model, 1, runs_b1), latency_ms(model, 256, runs_b256))
        )
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print_table(["preset", "parameters", "torchscript MB", "ms/window b1", "ms/window b256"], rows)


def quality(args: argparse.Namespace) -> None:
    from lanhar_core.config import load_settings
    from lanhar_core.models.stage2 import alignment_recall_at_1, train_epoch, zero_shot_accuracy
    from lanhar_core.models.text_encoder import TextEncoder
    from lanhar_core.models.train_sensor import label_vectors, prepare_stage2_data
    from storage import runs
    from storage.datasets import load_windows
    from storage.db import Store
    from storage.embedding_cache import StoreEmbeddingCache

    settings = load_settings(Path(args.home))
    store = Store(settings.db_path)
    cache = StoreEmbeddingCache(store)
    parent = runs.latest_run(store, "text")
    path = runs.artifacts(store, parent.id)["encoder"] if parent else None
    text = TextEncoder.load(path, max_length=settings.text_encoder.max_length, cache=cache)
    print(f"text encoder: {path or 'pre-trained MiniLM'} (max_length {text.max_length})")
    data = prepare_stage2_data(store, args.collection, args.source, [], text, settings.sensor_encoder.val_fraction, args.seed)
    target = load_windows(store, dataset=args.target) if args.target else None
    present = set(data.val_labels) | (set(target.labels) if target is not None else set())
    labels = label_vectors(store, args.collection, text)
    names = [n for n in labels if n in present]
    matrix = np.stack([labels[n][0] for n in names])
    print(f"train {len(data.train)} / val {len(data.val)} source windows; labels {names}")
    rows = []
    for preset in PRESETS:
        torch.manual_seed(args.seed)
        model = create_sensor_encoder(preset, matrix.shape[1])
        model.normalizer.fit(data.train.signals, seed=args.seed)
        optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
        start = time.perf_counter()
        for epoch in range(1, args.epochs + 1):
            train_epoch(model, optimizer, data.train, args.batch_size, args.seed, epoch)
        per_epoch = (time.perf_counter() - start) / args.epochs
        row = [
            preset,
            round(per_epoch, 1),
            alignment_recall_at_1(model, data.val),
            zero_shot_accuracy(model, data.val.signals, data.val_labels, names, matrix),
        ]
        if target is not None:
            row.append(zero_shot_accuracy(model, target.signals, target.labels, names, matrix))
        rows.append(row)
    headers = ["preset", "s/epoch", "val recall@1", "val zero-shot acc"] + (["target zero-shot acc"] if target else [])
    print(f"{args.epochs} epochs, batch {args.batch_size}, lr {args.lr}, seed {args.seed}")
    print_table(headers, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embed-dim", type=int, default=384)
    parser.add_argument("--runs-b1", type=int, default=200)
    parser.add_argument("--runs-b256", type=int, default=20)
    parser.add_argument("--home", help="LANHAR_HOME with windows and interpretations (enables the quality part)")
    parser.add_argument("--source", action="append", default=[])
    parser.add_argument("--target", help="dataset evaluated zero-shot (labels used for the metric only)")
    parser.add_argument("--collection", default="rules:rules-v2")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if not args.skip_latency:
        efficiency(args.embed_dim, args.runs_b1, args.runs_b256)
    if args.home:
        quality(args)


if __name__ == "__main__":
    main()
