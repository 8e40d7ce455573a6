"""The label-free core of stage 2: data in memory, one epoch of alignment, the whole training.

``fit_stage2`` is the one stage-2 training: the product (``train_sensor``, a recorded,
resumable run) and the benchmark (``eval.pipeline``) both call it, so the benchmark
measures what users train. It takes the preprocessing (rate, window length) from the
windows it is given, never from the current settings: a model trained on 50 Hz windows
states 50 Hz even if ``[data] rate_hz`` has since changed. It is kept apart from the store
so the benchmark and the tests can train on arrays directly. Nothing here takes activity
labels except the validation metrics (``zero_shot_accuracy``, ``LabelledValidation``),
which score held-out windows and feed back only into which epoch is kept.

Duplicate interpretation texts. Rule-based and LLM interpretations of similar windows are
often word-for-word identical; two windows with the same text in one batch would each be
the other's negative, asking the encoder to pull apart what the text says is the same.
Each window therefore carries the id of its (unique) text, and the candidates of a batch
are its *distinct* texts: sensor -> text is a plain softmax over the distinct texts (a
duplicate never appears in the denominator), text -> sensor has every window of that text
as a positive (stage 1's multi-positive ``losses.align_loss``, group id = text id).
Keeping duplicates as separate columns instead would cap the sensor -> text probability of
a window with m duplicates at 1/m (a loss floor of ln m) and dilute the gradient toward
its own text; soft multi-positive targets over the duplicate columns do not change that,
since identical columns get identical logits.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import f1_score
from torch import nn

from lanhar_core.config import SensorEncoderSettings, Settings
from lanhar_core.data.types import WindowSet
from lanhar_core.errors import ConfigError, InsufficientDataError
from lanhar_core.jobs import Progress
from lanhar_core.models.augment import augment
from lanhar_core.models.checkpoint import load_checkpoint, save_checkpoint
from lanhar_core.models.losses import align_loss
from lanhar_core.models.recognizer import Preprocessing, Recognizer
from lanhar_core.models.sensor_encoder import SensorEncoder, create_sensor_encoder, encode_windows
from lanhar_core.models.text_views import window_view
from lanhar_core.runtime import module_device, select_device, training_autocast

MAX_LOGIT_SCALE = float(np.log(100.0))
"""Upper clamp of the learnable logit scale (temperature >= 0.01), as in CLIP."""


@dataclass
class AlignmentData:
    """Windows (sampled at ``rate_hz``) with their interpretation's text id.

    ``text_embeddings[text_ids[i]]`` is window i's target. The rate and the frame of the axes
    (``device`` or ``segment``, see ``signal.segment_frame``) travel with the signals because
    the trained model's preprocessing and augmentation are read from here.
    """

    signals: np.ndarray
    text_ids: np.ndarray
    text_embeddings: np.ndarray
    rate_hz: float
    frame: str = "device"

    def __post_init__(self) -> None:
        if len(self.signals) != len(self.text_ids):
            raise InsufficientDataError(f"{len(self.signals)} windows but {len(self.text_ids)} text ids")

    def __len__(self) -> int:
        return int(self.signals.shape[0])

    @property
    def window_samples(self) -> int:
        return int(self.signals.shape[1])

    def subset(self, idx: np.ndarray) -> AlignmentData:
        return AlignmentData(self.signals[idx], self.text_ids[idx], self.text_embeddings, self.rate_hz, self.frame)


def common_rate(sets: Sequence[WindowSet]) -> float:
    """The sampling rate shared by window sets that are to be trained on together.

    Windows at different rates describe different durations per sample; mixing them would
    train a model whose stated preprocessing fits only part of its data.
    """
    rates = sorted({float(ws.rate_hz) for ws in sets if len(ws)})
    lengths = sorted({int(ws.signals.shape[1]) for ws in sets if len(ws)})
    if len(rates) > 1 or len(lengths) > 1:
        raise ConfigError(
            f"stage 2 cannot mix windows at rates {rates} Hz / lengths {lengths} samples; train on datasets "
            "ingested with the same [data] rate_hz and window_samples (or `lanhar data remove` and ingest again)"
        )
    if not rates:
        raise InsufficientDataError("stage 2 was given no windows")
    return rates[0]


def common_frame(sets: Sequence[WindowSet]) -> str:
    """``segment`` when every window set went through ``to_segment_frame``, ``device`` when none did."""
    frames = {"device" if ws.upright_known is None else "segment" for ws in sets if len(ws)}
    if len(frames) > 1:
        raise ConfigError("stage 2 was given windows in device axes and in the body-segment frame together; "
                          "convert all of them (signal.segment_frame.to_segment_frame) or none")
    return frames.pop() if frames else "device"


def unique_text_ids(texts: list[str]) -> tuple[np.ndarray, list[str]]:
    """Index of each text's encoder view (``text_views.window_view``) among the distinct views
    (first-seen order), and the distinct views: what stage 2 aligns windows to."""
    index: dict[str, int] = {}
    ids = np.array([index.setdefault(window_view(t), len(index)) for t in texts], dtype=np.int64)
    return ids, list(index)


@dataclass(frozen=True)
class AugmentOptions:
    rotation_deg: float = 0.0
    scale: float = 0.0
    warp: float = 0.0
    about_z: bool = False

    @classmethod
    def from_settings(cls, cfg: SensorEncoderSettings, source_only: bool, frame: str = "device") -> AugmentOptions:
        """The augmentation for one stage-2 training; rotation depends on whether target windows join.

        Trained on the source alone, the encoder never sees the target's placement, and
        random rotation stands in for it; with unlabeled target windows it sees the real
        placement, and rotating only blurs it. Measured (1 seed each, see bench/README.md):
        rotation up to 180 degrees raised source-only macro-F1 on four of five pairs (+15 to
        +37 points; -10 on the fifth; average 0.32 -> 0.47) and lowered it by 2-10 points on
        each of the three pairs tried with target windows. In the body-segment frame
        (``frame='segment'``) windows are turned about the segment axis only, always: the
        device's heading around the segment is unknown in every dataset, its tilt is posture.
        """
        if frame == "segment":
            return cls(cfg.heading_rotation_deg, cfg.augment_scale, cfg.augment_time_warp, about_z=True)
        rotation = cfg.source_only_rotation_deg if source_only else cfg.augment_rotation_deg
        return cls(rotation, cfg.augment_scale, cfg.augment_time_warp)


def batch_loss(
    model: SensorEncoder,
    signals: torch.Tensor,
    text_ids: torch.Tensor,
    text_embeddings: torch.Tensor,
) -> torch.Tensor:
    """Symmetric InfoNCE between the batch's sensor embeddings and their own texts' embeddings."""
    sensor = nn.functional.normalize(model(signals), dim=-1)
    distinct = torch.unique(text_ids)
    return align_loss(
        sensor, text_embeddings[distinct], text_ids, distinct, model.logit_scale.clamp(0.0, MAX_LOGIT_SCALE)
    )


def train_epoch(
    model: SensorEncoder,
    optimizer: torch.optim.Optimizer,
    data: AlignmentData,
    batch_size: int,
    seed: int,
    epoch: int,
    aug: AugmentOptions = AugmentOptions(),
    grad_clip: float = 1.0,
    progress: Progress | None = None,
    mixed_precision: bool = False,
) -> float:
    """One pass over ``data`` in a shuffled order on the model's device; returns the mean loss.

    Shuffling, dropout and augmentation are seeded from ``(seed, epoch)`` alone, so an
    interrupted run resumed at epoch k continues exactly as an uninterrupted one would.
    Batches are drawn and augmented on the CPU (the same numbers on any device) and then
    moved; ``mixed_precision`` runs the forward pass in bfloat16 on a GPU.
    """
    progress = progress or Progress()
    if len(data) < 2:
        raise InsufficientDataError(f"stage 2 needs at least 2 windows with interpretations, got {len(data)}")
    rng = np.random.default_rng([seed, epoch])
    generator = torch.Generator().manual_seed(int(rng.integers(2**31)))
    torch.manual_seed(int(rng.integers(2**31)))
    order = rng.permutation(len(data))
    device = module_device(model)
    text_embeddings = torch.as_tensor(data.text_embeddings, dtype=torch.float32, device=device)
    model.train()
    total, batches = 0.0, 0
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        if len(idx) < 2:
            continue
        progress.check_cancelled()
        x = torch.as_tensor(data.signals[idx], dtype=torch.float32)
        x = augment(x, generator, aug.rotation_deg, aug.scale, aug.warp, aug.about_z).to(device)
        with training_autocast(device, mixed_precision):
            loss = batch_loss(model, x, torch.as_tensor(data.text_ids[idx], device=device), text_embeddings)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if grad_clip > 0:
            nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        optimizer.step()
        total += float(loss.detach())
        batches += 1
        progress.advance(1)
    return total / max(batches, 1)


@torch.no_grad()
def validation_loss(model: SensorEncoder, data: AlignmentData, batch_size: int) -> float:
    """Mean stage-2 loss on held-out windows (fixed order, no augmentation, eval mode)."""
    model.eval()
    device = module_device(model)
    text_embeddings = torch.as_tensor(data.text_embeddings, dtype=torch.float32, device=device)
    losses = []
    for start in range(0, len(data), batch_size):
        idx = np.arange(start, min(start + batch_size, len(data)))
        if len(idx) < 2:
            continue
        x = torch.as_tensor(data.signals[idx], dtype=torch.float32, device=device)
        ids = torch.as_tensor(data.text_ids[idx], device=device)
        losses.append(float(batch_loss(model, x, ids, text_embeddings)))
    return float(np.mean(losses)) if losses else float("nan")


def alignment_recall_at_1(model: SensorEncoder, data: AlignmentData) -> float:
    """Share of windows whose nearest text, among the distinct texts of ``data``, is their own.

    Identical texts are collapsed first, so a window is not penalised for choosing an
    exact duplicate of its own interpretation.
    """
    if len(data) == 0:
        return float("nan")
    used = np.unique(data.text_ids)
    candidates = data.text_embeddings[used]
    sims = encode_windows(model, data.signals) @ candidates.T
    return float(np.mean(used[sims.argmax(axis=1)] == data.text_ids))


def _nearest_labels(
    model: SensorEncoder, signals: np.ndarray, labels: np.ndarray, label_names: list[str], label_embeddings: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """(true, nearest) labels of the windows whose label is among ``label_names``; None if there is none."""
    known = np.isin(labels, label_names)
    if not known.any():
        return None
    sims = encode_windows(model, signals[known]) @ label_embeddings.T
    return np.asarray(labels[known], dtype=str), np.asarray(label_names, dtype=str)[sims.argmax(axis=1)]


def zero_shot_accuracy(
    model: SensorEncoder, signals: np.ndarray, labels: np.ndarray, label_names: list[str], label_embeddings: np.ndarray
) -> float:
    """Accuracy of nearest-label recognition on labelled held-out windows (a metric only)."""
    pairs = _nearest_labels(model, signals, labels, label_names, label_embeddings)
    return float("nan") if pairs is None else float(np.mean(pairs[0] == pairs[1]))


@dataclass
class LabelledValidation:
    """Held-out *source* windows with their labels, and the vectors of the labels to choose among.

    Stage 2 never trains on labels; this set only scores each epoch, so that the epoch kept
    is chosen on the source side (as the baselines tune on it), never on the target.
    """

    signals: np.ndarray
    labels: np.ndarray
    label_names: list[str]
    label_embeddings: np.ndarray

    def __post_init__(self) -> None:
        if len(self.signals) != len(self.labels):
            raise InsufficientDataError(f"{len(self.signals)} validation windows but {len(self.labels)} labels")
        if len(self.label_names) != len(self.label_embeddings):
            raise InsufficientDataError(f"{len(self.label_names)} label names but {len(self.label_embeddings)} vectors")

    def accuracy(self, model: SensorEncoder) -> float:
        """Share of the windows whose nearest label is their own (NaN when none has a known label)."""
        return zero_shot_accuracy(model, self.signals, self.labels, self.label_names, self.label_embeddings)

    def macro_f1(self, model: SensorEncoder) -> float:
        """Macro-F1 of nearest-label recognition over the labels present (class mixes differ by subject)."""
        pairs = _nearest_labels(model, self.signals, self.labels, self.label_names, self.label_embeddings)
        if pairs is None:
            return float("nan")
        truth, predicted = pairs
        return float(f1_score(truth, predicted, labels=np.unique(truth), average="macro", zero_division=0))


@dataclass
class BestEpoch:
    """The weights of the best-scoring epoch so far (ties keep the earlier epoch)."""

    epoch: int = 0
    score: float = float("-inf")
    state: dict[str, torch.Tensor] | None = field(default=None, repr=False)

    def offer(self, epoch: int, score: float, model: nn.Module) -> bool:
        """Keep a copy of ``model``'s weights when ``score`` beats the best so far; True if kept."""
        if not np.isfinite(score) or score <= self.score:
            return False
        self.epoch, self.score, self.state = epoch, score, copy.deepcopy(model.state_dict())
        return True

    def restore(self, model: nn.Module) -> None:
        """Load the kept weights into ``model`` (a no-op when nothing was kept)."""
        if self.state is not None:
            model.load_state_dict(self.state)


EpochHook = Callable[[int, SensorEncoder, dict[str, float]], None]
"""Called after every stage-2 epoch with the epoch, the model and that epoch's log entry."""


@dataclass
class Stage2Fit:
    """The recognizer (no labels yet), each epoch's log, and the epoch whose weights it holds."""

    recognizer: Recognizer
    epochs: list[dict[str, float]]
    kept_epoch: int


def fit_stage2(
    data: AlignmentData,
    settings: Settings,
    seed: int,
    epochs: int,
    source_only: bool,
    held_out: AlignmentData | None = None,
    validation: LabelledValidation | None = None,
    keep_best_epoch: bool = False,
    checkpoint: Path | None = None,
    resume: bool = False,
    on_epoch: EpochHook | None = None,
    progress: Progress | None = None,
    text_encoder_ref: str = "",
) -> Stage2Fit:
    """Train a sensor encoder aligned with the frozen embeddings of each window's own text.

    The one stage-2 training (module docstring). Reads ``settings.sensor_encoder`` (model,
    optimiser, augmentation, initial temperature ``tau``, the recognizer's unknown
    threshold), ``settings.runtime`` (device, threads, mixed precision) and, for the recognizer's streaming segmentation only, the overlap and
    maximum gap of ``settings.data``; the rate and window length come from ``data``.
    ``source_only``: no target windows in ``data`` (selects the augmentation). After every
    epoch ``held_out`` windows give ``val_loss`` and ``val_recall_at_1`` and ``validation``
    (labelled source windows) ``val_zero_shot_accuracy`` and ``val_macro_f1``; with
    ``keep_best_epoch`` the weights of the epoch with the best ``val_macro_f1`` are kept
    (the last epoch's when there is no validation or no epoch scored).
    ``checkpoint``: written after every epoch (weights, optimiser, best epoch so far);
    ``resume`` continues from it, giving the same result as an uninterrupted run because
    shuffling and augmentation are seeded per epoch. Raises ``CancelledError`` between
    batches when ``progress`` is cancelled.
    """
    progress = progress or Progress()
    if len(data) < 2:
        raise InsufficientDataError(f"stage 2 needs at least 2 windows with interpretations, got {len(data)}")
    cfg = settings.sensor_encoder
    torch.manual_seed(seed)
    model = create_sensor_encoder(cfg.preset, int(data.text_embeddings.shape[1]), data.window_samples,
                                  input_frame=cfg.input_frame)
    model.normalizer.fit(data.signals, seed=seed)
    with torch.no_grad():
        model.logit_scale.fill_(math.log(1.0 / cfg.tau))
    model.to(select_device(settings.runtime))
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    aug = AugmentOptions.from_settings(cfg, source_only, data.frame)
    batches = -(-len(data) // cfg.batch_size)
    best = BestEpoch()
    log: list[dict[str, float]] = []
    first = 1
    if resume:
        if checkpoint is None:
            raise ConfigError("resuming stage 2 needs the checkpoint of the interrupted run")
        state = load_checkpoint(checkpoint, {"sensor_encoder": model}, optimizer)
        first = state.epoch + 1
        log = list(state.extra.get("log", []))
        best = BestEpoch(**state.extra["best"]) if "best" in state.extra else best
    progress.update((first - 1) * batches, epochs * batches, "stage 2")
    for epoch in range(first, epochs + 1):
        loss = train_epoch(model, optimizer, data, cfg.batch_size, seed, epoch, aug, cfg.grad_clip, progress,
                           settings.runtime.mixed_precision)
        entry = {"epoch": epoch, "loss": loss, "temperature": model.temperature()}
        if held_out is not None:
            entry["val_loss"] = validation_loss(model, held_out, cfg.batch_size)
            entry["val_recall_at_1"] = alignment_recall_at_1(model, held_out)
        if validation is not None:
            entry["val_zero_shot_accuracy"] = validation.accuracy(model)
            entry["val_macro_f1"] = validation.macro_f1(model)
            best.offer(epoch, entry["val_macro_f1"], model)
        log.append(entry)
        if checkpoint is not None:
            extra = {"log": log, "best": {"epoch": best.epoch, "score": best.score, "state": best.state}}
            save_checkpoint(checkpoint, {"sensor_encoder": model}, optimizer, epoch, epoch * batches, extra)
        if on_epoch is not None:
            on_epoch(epoch, model, entry)
        progress.update(epoch * batches, None, f"epoch {epoch}/{epochs}: loss {loss:.3f}")
    kept = epochs
    if keep_best_epoch and best.state is not None:
        best.restore(model)
        kept = best.epoch
    preprocessing = Preprocessing.for_windows(data.rate_hz, data.window_samples, settings.data, data.frame)
    recognizer = Recognizer(model, preprocessing, model.temperature(), cfg.unknown_threshold, cfg.unknown_on,
                            text_encoder_ref)
    return Stage2Fit(recognizer, log, kept)
