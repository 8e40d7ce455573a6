"""Stage-1 cost on this machine: encoding speed by max length, training-step time by frozen layers.

Run: ``.venv/bin/python bench/bench_text_encoder.py [--texts 32] [--steps 3]``. The texts
imitate the rules backend's 7-point summaries (about 340 MiniLM tokens each) and the
curated label descriptions (about 110 tokens). One step = ``batch_size`` window texts
from ``labels_per_batch`` labels + two descriptions per label, all loss terms, AdamW.
The numbers behind the ``TextEncoderSettings`` defaults come from this script. CPU seconds
are printed beside wall time because on a shared machine they vary far less.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from lanhar_core.config import TextEncoderSettings
from lanhar_core.models.text_decoder import TextDecoder
from lanhar_core.models.text_encoder import TextEncoder
from lanhar_core.models.train_text import BalancedSampler, Stage1Data, _optimizer, train_step

WINDOW = (
    "1. Strength: body acceleration RMS {a} m/s^2, |acc| std {b} m/s^2, jerk RMS {c} m/s^3. Movement intensity is {w1}.\n"
    "2. Axis dominance: vertical RMS {b} m/s^2, horizontal RMS {a} m/s^2, vertical energy share {d}. The {w2} axis dominates.\n"
    "3. Rhythm: dominant frequency {e} Hz, step frequency {e} Hz, regularity {d}. The rhythm is {w3}.\n"
    "4. Waveform shape: crest factor {f}, harmonic ratio {d}, {g} peaks, interval variation {d}. The trace is {w3}.\n"
    "5. Posture and drift: gravity angles x {h} deg, y {i} deg, z {j} deg, drift {d} deg, turn {f} deg. "
    "The device x axis points up (tilted {h} deg from vertical); the orientation is {w1}.\n"
    "6. Gyro-acc sync: gyro RMS {b} rad/s, sync {d}. Rotation follows the acceleration {w2}.\n"
    "7. Vertical impact: mean peak vertical acceleration {c} m/s^2, vertical peak-to-peak {f} m/s^2. Impacts are {w1}."
)
LABEL = (
    "{name} is an everyday activity. Typical accelerometer patterns: {w1} intensity with a {w3} rhythm around {e} Hz and "
    "{w2} vertical impacts; the gyroscope shows {w1} rotation of the trunk and thighs. Body parts involved: legs, hips, "
    "trunk and arms, which move {w3} while the person keeps {w2} balance and posture throughout the activity."
)
WORDS = ("very low", "moderate", "strong", "regular", "irregular", "clear", "weak", "steady")


def fake_texts(n: int, template: str, rng: np.random.Generator, name: str = "") -> list[str]:
    def num() -> str:
        return f"{rng.uniform(0.01, 120):.3g}"

    return [
        template.format(
            name=name, **{k: num() for k in "abcdefghij"}, **{f"w{i}": WORDS[rng.integers(len(WORDS))] for i in (1, 2, 3)}
        )
        for _ in range(n)
    ]


def row(name: str, value: str) -> None:
    print(f"{name:<78}  {value}", flush=True)


def bench_encode(base: TextEncoder, texts: list[str]) -> None:
    for length, stride in ((64, 0), (128, 0), (256, 0), (384, 0), (128, 32)):
        enc = TextEncoder(base.model, base.tokenizer, max_length=length, chunk_stride=stride, weights_version="bench")
        enc.encode(texts[:2])
        start, cpu = time.perf_counter(), time.process_time()
        enc.encode(texts, batch_size=16)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        name = f"encode max_length {length}" + (f", chunks with stride {stride}" if stride else "")
        row(name, f"{len(texts) / wall:.1f} texts/s ({len(texts) / cpu:.1f} per CPU-s)")


def bench_steps(length: int, steps: int, rng: np.random.Generator) -> None:
    labels = ["walk", "upstairs", "downstairs", "sit", "stand", "lie"]
    data = Stage1Data(
        texts=[t for _ in labels for t in fake_texts(16, WINDOW, rng)],
        labels=[label for label in labels for _ in range(16)],
        subjects=["s"] * 96,
        descriptions={label: fake_texts(3, LABEL, rng, label) for label in labels},
        categories={"walk": "locomotion", "upstairs": "stairs", "downstairs": "stairs", "sit": "static", "stand": "static", "lie": "static"},
    )
    label_ids = {label: i for i, label in enumerate(labels)}
    category_ids = {"walk": 0, "upstairs": 1, "downstairs": 1, "sit": 2, "stand": 2, "lie": 2}
    for freeze, recon in ((0, True), (3, True), (6, True), (3, False)):
        cfg = TextEncoderSettings(max_length=length, freeze_layers=freeze, recon=recon, per_class=16)
        encoder = TextEncoder.load(max_length=length)
        encoder.freeze_lower_layers(freeze)
        decoder = TextDecoder(encoder.vocab_size, encoder.dim, encoder.pad_token_id, cfg.decoder_layers, max_length=cfg.recon_length) if recon else None
        optimizer = _optimizer(encoder, decoder, cfg)
        batches = BalancedSampler(data, np.arange(96), cfg).epoch(1)
        encoder.train()
        times, cpus = [], []
        for batch in batches[: steps + 1]:
            start, cpu = time.perf_counter(), time.process_time()
            train_step(encoder, decoder, optimizer, batch, label_ids, category_ids, cfg)
            times.append(time.perf_counter() - start)
            cpus.append(time.process_time() - cpu)
        row(
            f"train step: {cfg.batch_size} windows + {2 * cfg.labels_per_batch} descriptions, max_length {length}, "
            f"freeze {freeze}{'' if recon else ', no recon'}",
            f"{statistics.median(times[1:]):.2f} s ({statistics.median(cpus[1:]):.2f} CPU-s)",
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--texts", type=int, default=32, help="texts per encoding measurement")
    parser.add_argument("--steps", type=int, default=3, help="timed training steps per setting (after one warm-up)")
    parser.add_argument("--train-length", type=int, default=TextEncoderSettings.max_length)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"torch threads: {torch.get_num_threads()}")
    base = TextEncoder.load()
    texts = fake_texts(args.texts, WINDOW, rng)
    tokens = [len(base.tokenizer(t)["input_ids"]) for t in texts]
    print(f"window text tokens: median {int(np.median(tokens))}, max {max(tokens)}")
    row("measurement", "value")
    bench_encode(base, texts)
    bench_steps(args.train_length, args.steps, rng)


if __name__ == "__main__":
    main()
