"""The exported recognizer against the in-memory one: equivalence, and what int8 quantisation costs.

    LANHAR_HOME=DIR python bench/bench_onnx.py --source hapt --target motionsense --untrained-text
    LANHAR_HOME=DIR python bench/bench_onnx.py --sample --quick

Trains ours on one cross-dataset pair exactly as ``lanhar bench cross`` does (same split,
budgets and cached stage-1 run; ``--untrained-text`` skips stage 1 and uses the pre-trained
MiniLM, which is enough to judge the export, since only the sensor encoder is exported),
exports the recognizer with its int8 model, and scores the target's test windows three
ways: the in-memory torch model, the fp32 ONNX graph and the int8 graph, both under
onnxruntime. Prints the sizes, the maximum absolute differences of embeddings and
probabilities, and accuracy / macro-F1 of each.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from lanhar_core.cli.common import print_table
from lanhar_core.config import load_settings
from lanhar_core.data.sample import ensure_sample
from lanhar_core.eval.metrics import score
from lanhar_core.eval.pipeline import run_ours
from lanhar_core.eval.protocols import cross_dataset_task
from lanhar_core.eval.runner import BenchOptions, benchmark, ours_config, quick_settings
from lanhar_core.eval.texts import eval_collection
from lanhar_core.jobs import Progress
from lanhar_core.models.export import ENCODER_FILE, INT8_FILE, export_artifact, load_artifact
from lanhar_core.vocab import COMMON_ACTIVITIES
from storage.db import Store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", default="sample_hapt")
    parser.add_argument("--target", default="sample_motionsense")
    parser.add_argument("--sample", action="store_true", help="ingest the built-in sample first")
    parser.add_argument("--quick", action="store_true", help="the CI budgets instead of the full ones")
    parser.add_argument("--untrained-text", action="store_true", help="skip stage 1 (pre-trained MiniLM)")
    parser.add_argument("--variant", default="transductive", choices=("transductive", "inductive"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    settings = load_settings()
    settings = quick_settings(settings) if args.quick else settings
    settings.ensure_dirs()
    store = Store(settings.db_path)
    if args.sample:
        ensure_sample(store, settings)
    options = BenchOptions(seeds=1, variants=(args.variant,), baselines=(), quick=args.quick)
    cfg = ours_config(settings, options, args.variant, train_text=not args.untrained_text)
    task = cross_dataset_task(store, args.source, args.target, args.seed, settings.eval.val_fraction, COMMON_ACTIVITIES,
                              settings.eval.quick_windows_per_label if args.quick else 0)
    with benchmark(store, settings, "cross", options, {"onnx_check": True}, Progress(), 1) as bench:
        texts = bench.texts_for(task, eval_collection(settings, None), args.seed)
        result = run_ours(store, settings, task, texts, cfg, args.seed, Progress())
    recognizer = result.recognizer
    windows, truth = task.test.signals, np.asarray(task.test.labels, dtype=str)
    labels = list(task.eval_labels)
    reference = recognizer.predict(windows, allow_unknown=False)
    rows = [["torch (in memory)", "", "", "", *_scores(truth, reference.labels, labels)]]
    with tempfile.TemporaryDirectory() as tmp:
        out = export_artifact(recognizer, Path(tmp), int8=True)
        for name, file, int8 in (("onnx fp32", ENCODER_FILE, False), ("onnx int8", INT8_FILE, True)):
            model = load_artifact(out, int8=int8, threads=args.threads)
            emb = np.concatenate([model.embed(windows[i : i + 512]) for i in range(0, len(windows), 512)])
            cosine, probs = recognizer.scores(emb)
            predicted = np.asarray(recognizer.label_names, dtype=object)[probs.argmax(axis=1)]
            rows.append([name, f"{(out / file).stat().st_size / 1e6:.2f}",
                         f"{np.abs(emb - recognizer.embed(windows)).max():.1e}",
                         f"{np.abs(probs - reference.probabilities).max():.1e}",
                         *_scores(truth, predicted, labels)])
    print(f"{args.source} -> {args.target} ({args.variant}, {len(windows)} test windows, "
          f"{'untrained' if args.untrained_text else 'fine-tuned'} text encoder, seed {args.seed})")
    print_table(["model", "MB", "max |emb diff|", "max |prob diff|", "accuracy", "macro-F1"], rows)
    base = rows[0][4:]
    print(f"int8 - torch: accuracy {rows[2][4] - base[0]:+.4f}, macro-F1 {rows[2][5] - base[1]:+.4f}")


def _scores(truth: np.ndarray, predicted: np.ndarray, labels: list[str]) -> tuple[float, float]:
    s = score(truth, np.asarray(predicted, dtype=str), labels)
    return s.accuracy, s.macro_f1


if __name__ == "__main__":
    main()
