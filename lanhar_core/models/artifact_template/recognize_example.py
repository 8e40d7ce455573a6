"""Standalone LanHAR recognizer for an exported artifact. Needs only numpy and onnxruntime.

Usage:
    python recognize_example.py ARTIFACT_DIR windows.npy        # (n, L, 6) windows at the artifact's rate
    python recognize_example.py ARTIFACT_DIR stream.npy --rate-hz 50   # (T, 6) continuous samples at 50 Hz
    python recognize_example.py ARTIFACT_DIR windows.npy --int8  # the int8 model, if exported

Signals are in canonical units: accelerometer in m/s^2 including gravity, gyroscope in
rad/s, columns acc_x, acc_y, acc_z, gyro_x, gyro_y, gyro_z (Android axis convention).
Pass the windows of one recording together: a model with ``"frame": "segment"`` in its
preprocessing turns them so that the worn segment's axis found from the recording's own
gait is +z (``segment_frame`` below, the same rule as lanhar_core.signal.segment_frame).
Prints one JSON object per window: label, probability and all label probabilities.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import onnxruntime as ort


def _rotation_to_z(v: np.ndarray) -> np.ndarray:
    a = v / np.linalg.norm(v)
    axis = np.cross(a, [0.0, 0.0, 1.0])
    sin, cos = float(np.linalg.norm(axis)), float(a[2])
    if sin < 1e-12:
        return np.eye(3) if cos > 0 else np.diag([1.0, -1.0, -1.0])
    k = axis / sin
    kx = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return np.eye(3) + sin * kx + (1.0 - cos) * (kx @ kx)


def segment_frame(windows: np.ndarray, rate_hz: float) -> np.ndarray:
    """One recording's windows turned so that gravity during its gait windows is +z (unchanged without gait)."""
    mag = np.linalg.norm(windows[:, :, :3], axis=2)
    centred = mag - mag.mean(axis=1, keepdims=True)
    n = centred.shape[1]
    spectrum = np.fft.rfft(centred, n=2 * n, axis=1)
    auto = np.fft.irfft(spectrum * np.conj(spectrum), axis=1)[:, :n]
    auto = auto / np.clip(auto[:, :1], 1e-9, None)
    lo, hi = max(1, round(0.3 * rate_hz)), min(n - 2, round(2.0 * rate_hz))
    gait = (centred.std(axis=1) >= 1.0) & (auto[:, lo : hi + 1].max(axis=1) >= 0.4)
    if gait.sum() < 3:
        return windows
    up = windows[gait, :, :3].mean(axis=1)
    up = up / np.linalg.norm(up, axis=1, keepdims=True)
    median = np.median(up, axis=0)
    median = median / np.linalg.norm(median)
    if np.mean(up @ median >= np.cos(np.radians(30.0))) < 0.6:
        return windows
    r = _rotation_to_z(median).T
    return np.concatenate([windows[:, :, :3] @ r, windows[:, :, 3:] @ r], axis=2).astype(np.float32)


class ArtifactRecognizer:
    """Sensor encoder + label vectors + calibration, read from an artifact directory."""

    def __init__(self, directory: str | Path, int8: bool = False) -> None:
        directory = Path(directory)
        self.config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
        model = self.config["model_int8"] if int8 else self.config["model"]
        if not model:
            raise SystemExit(f"{directory} has no int8 model; export it with --int8")
        self.session = ort.InferenceSession(str(directory / model), providers=["CPUExecutionProvider"])
        labels = json.loads((directory / "labels.json").read_text(encoding="utf-8"))
        self.labels = labels["labels"]
        self.bias = np.asarray(labels.get("bias", [0.0] * len(self.labels)), dtype=np.float32)
        self.label_embeddings = np.load(directory / "label_embeddings.npy").astype(np.float32)

    def embed(self, windows: np.ndarray) -> np.ndarray:
        """(n, L, 6) -> (n, d) unit vectors."""
        feed = {self.config["input"]: np.asarray(windows, dtype=np.float32)}
        return self.session.run([self.config["output"]], feed)[0]

    def add_label(self, name: str, embedding: np.ndarray) -> None:
        """A new activity: its description embedded by the artifact's text encoder, computed elsewhere."""
        vector = np.asarray(embedding, dtype=np.float32) / np.linalg.norm(embedding)
        self.labels.append(name)
        self.bias = np.append(self.bias, 0.0).astype(np.float32)
        self.label_embeddings = np.vstack([self.label_embeddings, vector[None, :]])

    def recognize(self, windows: np.ndarray) -> list[dict]:
        """Answers for the windows of one recording (see the module docstring on the frame)."""
        pre = self.config["preprocessing"]
        if pre.get("frame") == "segment":
            windows = segment_frame(np.asarray(windows, dtype=np.float32), pre["rate_hz"])
        cosine = self.embed(windows) @ self.label_embeddings.T
        logits = (cosine - self.bias) / self.config["temperature"]
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        threshold, criterion = self.config["unknown_threshold"], self.config["unknown_on"]
        results = []
        for p, c in zip(probs, cosine):
            top = int(p.argmax())
            evidence = p[top] if criterion == "probability" else c[top]
            label = self.config["unknown_label"] if threshold > 0 and evidence < threshold else self.labels[top]
            results.append({"label": label, "probability": float(p[top]), "probabilities": dict(zip(self.labels, p.tolist()))})
        return results

    def windows_from_stream(self, samples: np.ndarray, rate_hz: float) -> np.ndarray:
        """(T, 6) samples at ``rate_hz`` -> (n, L, 6) windows at the artifact's rate (linear interpolation)."""
        pre = self.config["preprocessing"]
        duration = (len(samples) - 1) / rate_hz
        t_out = np.arange(0.0, duration + 1e-9, 1.0 / pre["rate_hz"])
        t_in = np.arange(len(samples)) / rate_hz
        resampled = np.stack([np.interp(t_out, t_in, samples[:, c]) for c in range(samples.shape[1])], axis=1)
        length, stride = pre["window_samples"], pre["stride_samples"]
        starts = range(0, len(resampled) - length + 1, stride)
        return np.stack([resampled[s : s + length] for s in starts]).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("artifact")
    parser.add_argument("signals", help=".npy file: (n, L, 6) windows, or (T, 6) samples with --rate-hz")
    parser.add_argument("--rate-hz", type=float, help="sampling rate of a (T, 6) stream")
    parser.add_argument("--int8", action="store_true", help="use the int8-quantised model")
    args = parser.parse_args()
    recognizer = ArtifactRecognizer(args.artifact, args.int8)
    data = np.load(args.signals)
    windows = recognizer.windows_from_stream(data, args.rate_hz) if data.ndim == 2 else data
    for result in recognizer.recognize(windows):
        print(json.dumps(result))


if __name__ == "__main__":
    main()
