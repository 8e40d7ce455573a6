"""Both training stages on one cross-dataset pair at the full budget, timed, on the configured device.

    LANHAR_HOME=DIR python bench/gpu_smoke.py --source hapt --target motionsense
    LANHAR_HOME=DIR LANHAR_RUNTIME_DEVICE=cpu python bench/gpu_smoke.py --sample --quick

For a machine with a GPU (``[runtime] device``, 'auto' picks it): prints the device, the wall
time of stage 1 (the text encoder fine-tuned on the source's interpretations), of stage 2
(the sensor encoder, transductive) with prediction, and the pair's macro-F1, so a lent GPU
can be checked and timed in one short run. The datasets must be in the store (``--sample``
ingests the built-in excerpt instead); missing rules interpretations are written first and
timed apart. Stage 1 is trained afresh (a unique seed offset keeps the benchmark's cached
run from being reused). CI never runs this: it has no GPU.
"""

from __future__ import annotations

import argparse
import time

import torch

from lanhar_core.config import load_settings
from lanhar_core.data.sample import ensure_sample
from lanhar_core.eval.pipeline import run_ours, stage1_encoder
from lanhar_core.eval.protocols import cross_dataset_task
from lanhar_core.eval.runner import BenchOptions, benchmark, ours_config, quick_settings, task_metrics
from lanhar_core.eval.texts import eval_collection
from lanhar_core.jobs import Progress
from lanhar_core.runtime import select_device
from lanhar_core.vocab import COMMON_ACTIVITIES
from storage.db import Store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", default="sample_hapt")
    parser.add_argument("--target", default="sample_motionsense")
    parser.add_argument("--sample", action="store_true", help="ingest the built-in sample first")
    parser.add_argument("--quick", action="store_true", help="the CI budgets instead of the full ones")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    settings = load_settings()
    settings = quick_settings(settings) if args.quick else settings
    settings.ensure_dirs()
    device = select_device(settings.runtime)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"{torch.get_num_threads()} CPU threads"
    print(f"torch {torch.__version__}, device {device} ({name}), mixed precision {settings.runtime.mixed_precision}")
    store = Store(settings.db_path)
    if args.sample:
        ensure_sample(store, settings)
    options = BenchOptions(seeds=1, variants=("transductive",), baselines=(), quick=args.quick)
    seed = args.seed + int(time.time()) % 100000 * 1000
    cfg = ours_config(settings, options, "transductive")
    task = cross_dataset_task(store, args.source, args.target, seed, settings.eval.val_fraction, COMMON_ACTIVITIES,
                              settings.eval.quick_windows_per_label if args.quick else 0)
    with benchmark(store, settings, "cross", options, {"smoke": True}, Progress(), 1) as bench:
        started = time.perf_counter()
        texts = bench.texts_for(task, eval_collection(settings, None), seed)
        texts_s = time.perf_counter() - started
        started = time.perf_counter()
        stage1_encoder(store, settings, task, texts, cfg, seed, Progress())
        stage1_s = time.perf_counter() - started
        started = time.perf_counter()
        result = run_ours(store, settings, task, texts, cfg, seed, Progress())
        stage2_s = time.perf_counter() - started
    metrics = task_metrics(task, task.test.labels, result.predictions, {})
    peak = f", peak GPU memory {torch.cuda.max_memory_allocated(device) / 2**30:.2f} GiB" if device.type == "cuda" else ""
    print(f"{args.source} -> {args.target}: {len(task.train)} source / {len(task.test)} target windows, "
          f"{cfg.sensor_epochs} stage-2 epochs, text epochs {settings.text_encoder.epochs}")
    print(f"texts {texts_s:.1f} s, stage 1 {stage1_s:.1f} s, stage 2 + predict {stage2_s:.1f} s{peak}")
    print(f"accuracy {metrics['accuracy']:.3f}, macro-F1 {metrics['macro_f1']:.3f}")


if __name__ == "__main__":
    main()
