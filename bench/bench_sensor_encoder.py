"""Sensor encoder presets: size, CPU latency against the machine's own matmul peak, and quality.

    OMP_NUM_THREADS=2 python bench/bench_sensor_encoder.py --threads 2       # efficiency only
    python bench/bench_sensor_encoder.py --home DIR --source sample_hapt \\
        --target sample_motionsense --collection rules:rules-v2 --epochs 15

Efficiency, all in one run so that every figure shares the machine's state: parameters,
FLOPs per window (counted by torch), the size of the exported ONNX file (fp32 and int8),
and milliseconds per window at batch 1 and batch 256 (median over many runs after
warm-up) for the eager torch model, onnxruntime fp32 and onnxruntime int8, each with the
same ``--threads``. Beside them a plain float32 numpy matmul (1024^3, same threads, measured
before and after, the better kept) gives the machine's GFLOP/s; the ``peak`` column is the
batch-256 GFLOP/s achieved divided by it, the share of the machine the encoder uses.
Quality: each preset is trained for the same epochs on the same windows, split and seed
(stage 2 on the source; the text encoder is the newest stage-1 run in the store, else the
pre-trained MiniLM), then reports the source-validation alignment recall@1 and zero-shot
accuracy, and the zero-shot accuracy on the target (its labels are read only for this
metric). The label set is every label with descriptions in the collection that occurs in
the source validation split or the target.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits
from torch.utils.flop_counter import FlopCounterMode

from lanhar_core.cli.common import print_table
from lanhar_core.models.export import ENCODER_FILE, INT8_FILE, export_artifact, load_artifact
from lanhar_core.models.recognizer import Preprocessing, Recognizer
from lanhar_core.models.sensor_encoder import PRESETS, count_parameters, create_sensor_encoder


def per_window_ms(run: Callable[[np.ndarray], object], batch: int, runs: int) -> float:
    """Median milliseconds per window over ``runs`` calls on one batch of plausible windows."""
    x = np.random.default_rng(0).normal(0.0, 2.0, size=(batch, 120, 6)).astype(np.float32)
    x[:, :, 2] += 9.81
    for _ in range(3):
        run(x)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run(x)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000 / batch


def matmul_gflops(n: int = 1024, runs: int = 5) -> float:
    """GFLOP/s of the best of ``runs`` float32 n x n matmuls: what this machine's BLAS reaches now."""
    a = np.random.default_rng(0).normal(size=(n, n)).astype(np.float32)
    a @ a
    best = min(_timed(lambda: a @ a) for _ in range(runs))
    return 2 * n**3 / best / 1e9


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def flops_per_window(model: torch.nn.Module) -> float:
    """Floating-point operations of one window's forward pass, as torch's flop counter sees them.

    Counted in training mode without gradients: in eval mode the Transformer layers take a
    fused fast path whose matmuls the counter does not see (dropout adds no FLOPs).
    """
    counter = FlopCounterMode(display=False)
    model.train()
    with counter, torch.no_grad():
        model(torch.zeros(1, 120, 6))
    model.eval()
    return float(counter.get_total_flops())


def efficiency(embed_dim: int, runs_b1: int, runs_b256: int, threads: int) -> None:
    rows = []
    peaks = [matmul_gflops()]
    for preset in PRESETS:
        torch.manual_seed(0)
        model = create_sensor_encoder(preset, embed_dim).eval()
        signals = np.random.default_rng(1).normal(0.0, 2.0, size=(64, 120, 6)).astype(np.float32)
        model.normalizer.fit(signals)
        flops = flops_per_window(model)
        recognizer = Recognizer(model, Preprocessing(20.0, 120, 60), temperature=0.07)

        def eager(x: np.ndarray, model: torch.nn.Module = model) -> object:
            with torch.inference_mode():
                return model(torch.from_numpy(x))

        with tempfile.TemporaryDirectory() as tmp:
            out = export_artifact(recognizer, tmp, int8=True)
            sizes = [(out / name).stat().st_size / 1e6 for name in (ENCODER_FILE, INT8_FILE)]
            runners = {"torch": eager, "onnx": load_artifact(out, threads=threads).embed,
                       "onnx int8": load_artifact(out, int8=True, threads=threads).embed}
            for name, run in runners.items():
                b1, b256 = per_window_ms(run, 1, runs_b1), per_window_ms(run, 256, runs_b256)
                size = {"onnx": sizes[0], "onnx int8": sizes[1]}.get(name, float("nan"))
                rows.append([preset, name, count_parameters(model), flops / 1e6, size, b1, b256, flops / (b256 / 1000) / 1e9])
    peaks.append(matmul_gflops())
    peak = max(peaks)
    for row in rows:
        row.append(row[-1] / peak)
    print(f"torch {torch.__version__}, {threads} threads; numpy float32 matmul {peak:.1f} GFLOP/s "
          f"(before {peaks[0]:.1f}, after {peaks[1]:.1f})")
    print_table(["preset", "runtime", "parameters", "MFLOP/window", "MB", "ms/window b1", "ms/window b256",
                 "GFLOP/s b256", "peak"], rows)


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
    parser.add_argument("--threads", type=int, default=2, help="threads for torch, onnxruntime and numpy")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if not args.skip_latency:
        with threadpool_limits(args.threads):
            efficiency(args.embed_dim, args.runs_b1, args.runs_b256, args.threads)
    if args.home:
        quality(args)


if __name__ == "__main__":
    main()
