"""Stage 1: fine-tune the text encoder on window interpretations and label descriptions.

``train_text_encoder`` reads the texts from the store and trains; ``fit_text_encoder`` does
the training on texts already in memory (``Stage1Data``). A step embeds ``batch_size``
window interpretations drawn from ``labels_per_batch`` labels plus, for each of those
labels, two of its descriptions, and minimises
L = align + alpha * (Ca1 + Ca2 + Ca3) + beta * re (``lanhar_core.models.losses``).

Sampling is balanced per class (``per_class`` windows per label and epoch) so that a
frequent label does not dominate and every batch holds several labels (the alignment and
category losses need negatives). Each epoch ends with a checkpoint (weights, optimizer,
step, RNG) and a validation pass: zero-shot accuracy of the window interpretations of
held-out subjects against the label embeddings (mean of the label's descriptions). Before
the first epoch the same validation gives the untrained encoder's accuracy (epoch 0).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import f1_score

from lanhar_core.config import Settings, TextEncoderSettings, with_overrides
from lanhar_core.data.types import WindowSet
from lanhar_core.errors import ConfigError, NotFoundError
from lanhar_core.eval.splits import subject_split
from lanhar_core.jobs import Progress
from lanhar_core.llm.activity_profiles import select_descriptions
from lanhar_core.models import losses
from lanhar_core.models.checkpoint import CHECKPOINT_FILE, load_checkpoint, save_checkpoint
from lanhar_core.models.recognizer import label_embedding
from lanhar_core.models.text_decoder import TextDecoder
from lanhar_core.models.text_encoder import TextEncoder
from lanhar_core.models.text_views import description_view, window_view
from lanhar_core.placement import dominant_segment, segment_of
from lanhar_core.runtime import select_device, training_autocast
from lanhar_core.tracking import RunResult, RunTracker
from lanhar_core.vocab import category_of
from storage import runs as run_store
from storage.db import Store

KIND = "text"
ENCODER_ARTIFACT = "text_encoder"


@dataclass
class Stage1Data:
    """Stage-1 training texts, aligned by row; ``subjects`` drive the held-out split.

    ``descriptions`` maps each label to its descriptions; ``categories`` each label to its
    category (``None``: no category, left out of Ca1/Ca2). ``selection`` says where the
    texts came from and is stored with the run so that it can be resumed. ``candidates``:
    descriptions of vocabulary labels without training windows (alignment negatives and
    validation candidates). ``other_*``: the source's windows of those labels; only the
    held-out subjects' ones are read, to score new activities (never trained on).
    ``segments``: each window's body segment (``placement.segment_of``; empty: unknown); a
    batch is aligned with the descriptions written for its windows' segment.
    """

    texts: list[str]
    labels: list[str]
    subjects: list[str]
    descriptions: dict[str, list[str]]
    categories: dict[str, str | None]
    selection: dict[str, Any] = field(default_factory=dict)
    candidates: dict[str, list[str]] = field(default_factory=dict)
    other_texts: list[str] = field(default_factory=list)
    other_labels: list[str] = field(default_factory=list)
    other_subjects: list[str] = field(default_factory=list)
    segments: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not len(self.other_texts) == len(self.other_labels) == len(self.other_subjects):
            raise ConfigError("stage-1 data: other_texts, other_labels and other_subjects must have one row each")
        if self.segments and len(self.segments) != len(self.texts):
            raise ConfigError(f"stage-1 data: {len(self.segments)} segments for {len(self.texts)} texts")
        if not len(self.texts) == len(self.labels) == len(self.subjects):
            raise ConfigError(
                f"stage-1 data rows disagree: {len(self.texts)} texts, {len(self.labels)} labels, {len(self.subjects)} subjects"
            )
        missing = sorted(set(self.labels) - {k for k, v in self.descriptions.items() if v})
        if missing:
            raise ConfigError(
                f"label(s) {missing} have window interpretations but no description; "
                "generate label descriptions for them (lanhar interpret labels) first"
            )


    def segment(self) -> str:
        """The most common segment of the windows: whose descriptions validation scores against."""
        return dominant_segment(self.segments) if self.segments else "unknown"

    def viewed(self, segment: str) -> Stage1Data:
        """The data as the encoder reads it for windows of ``segment``: conclusions, and the sensor
        patterns of the descriptions written for that segment (``text_views``, ``select_descriptions``)."""

        def view(descriptions: dict[str, list[str]]) -> dict[str, list[str]]:
            return {k: [description_view(d) for d in select_descriptions(v, segment)] for k, v in descriptions.items() if v}

        return dataclasses.replace(
            self,
            texts=[window_view(t) for t in self.texts],
            other_texts=[window_view(t) for t in self.other_texts],
            descriptions=view(self.descriptions),
            candidates=view(self.candidates),
        )


def stage1_data(
    windows: WindowSet,
    texts: dict[int, str],
    descriptions: dict[str, list[str]],
    categories: dict[str, str | None],
    selection: dict[str, Any],
    other: WindowSet | None = None,
) -> Stage1Data:
    """Stage-1 data from labelled windows with texts: every described label without windows is a candidate.

    ``other`` (optional): windows of activities outside the training labels, for new-activity validation.
    """
    rows = [i for i, w in enumerate(windows.ids) if int(w) in texts]
    used = sorted({str(windows.labels[i]) for i in rows})
    other_rows = [] if other is None else [i for i, w in enumerate(other.ids) if int(w) in texts]
    return Stage1Data(
        texts=[texts[int(windows.ids[i])] for i in rows],
        labels=[str(windows.labels[i]) for i in rows],
        subjects=[f"{windows.datasets[i]}/{windows.subjects[i]}" for i in rows],
        descriptions={label: descriptions.get(label, []) for label in used},
        categories={label: categories.get(label) for label in used},
        selection=selection,
        candidates={label: d for label, d in descriptions.items() if label not in used and d},
        other_texts=[texts[int(other.ids[i])] for i in other_rows] if other is not None else [],
        other_labels=[str(other.labels[i]) for i in other_rows] if other is not None else [],
        other_subjects=[f"{other.datasets[i]}/{other.subjects[i]}" for i in other_rows] if other is not None else [],
        segments=[segment_of(str(windows.placements[i])) for i in rows],
    )


@dataclass(frozen=True)
class Batch:
    window_texts: list[str]
    window_labels: list[str]
    desc_texts: list[str]
    desc_labels: list[str]
    negative_texts: list[str] = field(default_factory=list)
    negative_labels: list[str] = field(default_factory=list)


def validation_split(subjects: Sequence[str], fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks (train, validation) holding out ``fraction`` of the subjects (at least one).

    With a single subject there is nothing to hold out by person, so windows are split at
    random instead (the validation number is then optimistic).
    """
    subjects = np.asarray(subjects, dtype=object)
    if len(set(subjects.tolist())) < 2:
        val = np.random.default_rng(seed).random(len(subjects)) < fraction
        return ~val, val
    split = subject_split(subjects, fraction, seed)
    return split.train, split.test


class BalancedSampler:
    """Batches with ``per_class`` windows per label and epoch, ``labels_per_batch`` labels each.

    Deterministic in (seed, epoch), so a resumed run draws the batches it would have drawn.
    """

    def __init__(self, data: Stage1Data, indices: np.ndarray, cfg: TextEncoderSettings) -> None:
        self.data = data
        self.cfg = cfg
        self.views = {segment: data.viewed(segment) for segment in set(data.segments) or {"unknown"}}
        labels = np.asarray(data.labels, dtype=object)[indices]
        self.pools = {label: indices[labels == label] for label in sorted(set(labels.tolist()))}
        if len(self.pools) < 2:
            raise ConfigError(f"stage 1 needs windows of at least two labels, got {sorted(self.pools)}")
        self.labels_per_batch = min(cfg.labels_per_batch, len(self.pools))
        self.per_label = max(1, cfg.batch_size // self.labels_per_batch)

    def steps_per_epoch(self) -> int:
        return max(1, (self.cfg.per_class * len(self.pools)) // (self.per_label * self.labels_per_batch))

    def epoch(self, epoch: int) -> list[Batch]:
        rng = np.random.default_rng([self.cfg.seed, epoch])
        queues = {
            label: list(rng.choice(pool, size=self.cfg.per_class, replace=len(pool) < self.cfg.per_class))
            for label, pool in self.pools.items()
        }
        batches = []
        for _ in range(self.steps_per_epoch()):
            names = list(queues)
            remaining = np.array([len(queues[n]) for n in names], dtype=float) + 1e-9
            chosen = rng.choice(len(names), size=self.labels_per_batch, replace=False, p=remaining / remaining.sum())
            rows: list[int] = []
            for c in chosen:
                queue = queues[names[c]]
                take = queue[: self.per_label] or list(rng.choice(self.pools[names[c]], size=self.per_label))
                del queue[: self.per_label]
                rows.extend(int(r) for r in take)
            batches.append(self._batch(rows, [names[c] for c in chosen], rng))
        return batches

    def _batch(self, rows: list[int], labels: list[str], rng: np.random.Generator) -> Batch:
        per_label = 2 if self.cfg.multidesc else 1
        data = self.views[dominant_segment(self.data.segments[r] for r in rows) if self.data.segments else "unknown"]
        desc_texts, desc_labels = [], []
        for label in labels:
            options = data.descriptions[label]
            picks = rng.choice(len(options), size=min(per_label, len(options)), replace=False)
            desc_texts.extend(options[int(i)] for i in picks)
            desc_labels.extend([label] * len(picks))
        others = sorted(data.candidates)
        take = min(self.cfg.vocabulary_negatives, len(others))
        negatives = [others[int(i)] for i in rng.choice(len(others), size=take, replace=False)] if take else []
        return Batch(
            window_texts=[data.texts[r] for r in rows],
            window_labels=[data.labels[r] for r in rows],
            desc_texts=desc_texts,
            desc_labels=desc_labels,
            negative_texts=[data.candidates[n][int(rng.integers(len(data.candidates[n])))] for n in negatives],
            negative_labels=negatives,
        )


def loss_weights(cfg: TextEncoderSettings) -> losses.LossWeights:
    return losses.LossWeights(
        alpha=cfg.alpha, beta=cfg.beta, align=cfg.align, category=cfg.category, multidesc=cfg.multidesc, recon=cfg.recon,
        gamma=cfg.gamma,
    )


def compute_terms(
    encoder: TextEncoder,
    decoder: TextDecoder | None,
    batch: Batch,
    label_ids: dict[str, int],
    category_ids: dict[str, int],
    weights: losses.LossWeights,
    recon_length: int,
    reference: TextEncoder | None = None,
) -> dict[str, torch.Tensor]:
    """The switched-on loss terms of one batch (keys align, ca1, ca2, ca3, re, geo).

    ``reference``: the frozen pre-trained encoder, needed when ``weights.gamma`` > 0.
    """
    z = encoder(batch.window_texts)
    h = encoder(batch.desc_texts)
    z_labels = torch.tensor([label_ids[x] for x in batch.window_labels], device=z.device)
    h_labels = torch.tensor([label_ids[x] for x in batch.desc_labels], device=z.device)
    terms: dict[str, torch.Tensor] = {}
    if weights.align:
        candidates, candidate_labels = h, h_labels
        if batch.negative_texts:
            candidates = torch.cat([h, encoder(batch.negative_texts)])
            candidate_labels = torch.cat([h_labels, torch.tensor([label_ids[x] for x in batch.negative_labels])])
        terms["align"] = losses.align_loss(z, candidates, z_labels, candidate_labels, encoder.clamped_logit_scale())
    if weights.category:
        terms["ca1"] = losses.category_loss(h, torch.tensor([category_ids[x] for x in batch.desc_labels], device=z.device))
        terms["ca2"] = losses.category_loss(z, torch.tensor([category_ids[x] for x in batch.window_labels], device=z.device))
    if weights.multidesc:
        terms["ca3"] = losses.multi_description_loss(h, h_labels)
    if weights.recon and decoder is not None:
        targets = encoder.token_ids(batch.window_texts + batch.desc_texts, recon_length).to(z.device)
        logits = decoder(torch.cat([z, h]), targets)
        terms["re"] = losses.reconstruction_loss(logits, decoder.loss_targets(targets), encoder.pad_token_id)
    if weights.gamma > 0:
        if reference is None:
            raise ConfigError("text_encoder.gamma > 0 needs the frozen pre-trained encoder as reference")
        with torch.no_grad():
            kept = reference(batch.window_texts + batch.desc_texts)
        terms["geo"] = losses.geometry_loss(torch.cat([z, h]), kept)
    return terms


def train_step(
    encoder: TextEncoder,
    decoder: TextDecoder | None,
    optimizer: torch.optim.Optimizer,
    batch: Batch,
    label_ids: dict[str, int],
    category_ids: dict[str, int],
    cfg: TextEncoderSettings,
    reference: TextEncoder | None = None,
    mixed_precision: bool = False,
) -> dict[str, float]:
    """One optimisation step on the encoder's device; returns the loss terms and their total as floats.

    ``mixed_precision``: the forward passes in bfloat16 autocast on a GPU (``[runtime]``).

    Subnormal floats are flushed to zero: the gradients of the decoder's 30k-way softmax
    underflow into them after a few steps and made the backward pass 10-20x slower on CPU.
    """
    torch.set_flush_denormal(True)
    weights = loss_weights(cfg)
    with training_autocast(encoder.device, mixed_precision):
        terms = compute_terms(encoder, decoder, batch, label_ids, category_ids, weights, cfg.recon_length, reference)
    total = losses.total_loss(terms, weights)
    optimizer.zero_grad(set_to_none=True)
    total.backward()
    params = [p for group in optimizer.param_groups for p in group["params"]]
    torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
    optimizer.step()
    return {**{k: float(v.detach()) for k, v in terms.items()}, "total": float(total.detach())}


def _nearest(encoder: TextEncoder, texts: list[str], descriptions: dict[str, list[str]], batch_size: int) -> np.ndarray:
    names = sorted(descriptions)
    matrix = np.stack([label_embedding(descriptions[name], encoder) for name in names])
    return np.asarray(names, dtype=object)[(encoder.encode(texts, batch_size=batch_size) @ matrix.T).argmax(axis=1)]


def evaluate(
    encoder: TextEncoder,
    texts: list[str],
    labels: list[str],
    descriptions: dict[str, list[str]],
    batch_size: int,
    candidates: dict[str, list[str]] | None = None,
    other: tuple[list[str], list[str]] = ([], []),
) -> dict[str, Any]:
    """Zero-shot accuracy and weighted F1 of interpretation -> nearest label embedding.

    With ``candidates`` (untrained labels' descriptions) also the accuracy of the same
    windows among all labels (``val_all_accuracy``: do untrained labels take windows from
    trained ones?) and, with ``other`` (held-out windows of untrained labels), how many of
    those are named correctly among all labels (``val_new_accuracy``).
    """
    if not texts:
        return {}
    predicted = _nearest(encoder, texts, descriptions, batch_size)
    truth = np.asarray(labels, dtype=object)
    metrics: dict[str, Any] = {
        "val_accuracy": float((predicted == truth).mean()),
        "val_f1": float(f1_score(truth, predicted, average="weighted", zero_division=0)),
        "val_n": len(texts),
    }
    if candidates:
        everything = {**candidates, **descriptions}
        metrics["val_all_accuracy"] = float((_nearest(encoder, texts, everything, batch_size) == truth).mean())
        if other[0]:
            other_truth = np.asarray(other[1], dtype=object)
            metrics["val_new_accuracy"] = float((_nearest(encoder, other[0], everything, batch_size) == other_truth).mean())
            metrics["val_new_n"] = len(other[0])
    return metrics


def _validation_rows(data: Stage1Data, mask: np.ndarray, cfg: TextEncoderSettings) -> np.ndarray:
    rng = np.random.default_rng([cfg.seed, 1])
    labels = np.asarray(data.labels, dtype=object)
    rows = [
        np.sort(rng.permutation(np.flatnonzero(mask & (labels == label)))[: cfg.val_per_class])
        for label in sorted(set(labels[mask].tolist()))
    ]
    return np.concatenate(rows) if rows else np.zeros(0, dtype=int)


def _check_config(cfg: TextEncoderSettings) -> None:
    if not (cfg.align or cfg.category or cfg.multidesc or cfg.recon):
        raise ConfigError("every stage-1 loss term is switched off; enable at least one of align, category, multidesc, recon")
    if cfg.epochs < 1 or cfg.batch_size < 2 or cfg.per_class < 1:
        raise ConfigError(
            f"text_encoder.epochs, batch_size and per_class must be at least 1, 2, 1; got {cfg.epochs}, {cfg.batch_size}, {cfg.per_class}"
        )
    if not 0 < cfg.val_fraction < 1:
        raise ConfigError(f"text_encoder.val_fraction must be between 0 and 1, got {cfg.val_fraction}")


def _frozen_reference(cfg: TextEncoderSettings, device: torch.device) -> TextEncoder:
    """The pre-trained encoder, frozen and in eval mode: what the geometry term keeps close to."""
    reference = TextEncoder.load(
        cfg.path or None, max_length=cfg.max_length, chunk_stride=cfg.chunk_stride, tau=cfg.tau, device=device
    )
    reference.eval()
    for p in reference.parameters():
        p.requires_grad_(False)
    return reference


def _optimizer(encoder: TextEncoder, decoder: TextDecoder | None, cfg: TextEncoderSettings) -> torch.optim.AdamW:
    """AdamW; the pre-trained encoder at ``lr``, the fresh parts (decoder, temperature) at ``head_lr``."""
    body = [p for p in encoder.model.parameters() if p.requires_grad]
    head = [encoder.logit_scale] + (list(decoder.parameters()) if decoder is not None else [])
    groups = [{"params": body, "lr": cfg.lr}, {"params": head, "lr": cfg.head_lr}]
    return torch.optim.AdamW([g for g in groups if g["params"]], weight_decay=cfg.weight_decay)


def fit_text_encoder(
    store: Store,
    settings: Settings,
    data: Stage1Data,
    overrides: dict[str, Any] | None = None,
    progress: Progress | None = None,
    resume_run_id: int | None = None,
) -> RunResult:
    """Train on ``data`` as a recorded run; with ``resume_run_id``, continue that run's last checkpoint.

    A resumed run uses the configuration stored with it (``overrides`` are ignored). The
    fine-tuned encoder is saved under ``models_dir/runs/<run id>/text_encoder`` (artifact
    ``text_encoder``) and can be loaded with ``TextEncoder.load``.
    """
    progress = progress or Progress()
    if resume_run_id is not None:
        stored = run_store.get_run(store, resume_run_id).config
        cfg = TextEncoderSettings(**{k: v for k, v in stored.items() if k in {f.name for f in dataclasses.fields(TextEncoderSettings)}})
    else:
        cfg = with_overrides(settings, "text_encoder", **(overrides or {})).text_encoder
    _check_config(cfg)
    torch.manual_seed(cfg.seed)
    train_mask, val_mask = validation_split(data.subjects, cfg.val_fraction, cfg.seed)
    sampler = BalancedSampler(data, np.flatnonzero(train_mask), cfg)
    label_names = sorted(set(data.descriptions) | set(data.candidates))
    data = sampler.views[data.segment()]
    val_rows = _validation_rows(data, val_mask, cfg)
    val_texts = [data.texts[i] for i in val_rows]
    val_labels = [data.labels[i] for i in val_rows]
    held_out = set(np.asarray(data.subjects, dtype=object)[val_mask].tolist())
    other_rows = [i for i, s in enumerate(data.other_subjects) if s in held_out][: cfg.val_per_class * max(1, len(data.candidates))]
    other = ([data.other_texts[i] for i in other_rows], [data.other_labels[i] for i in other_rows])
    label_ids = {label: i for i, label in enumerate(label_names)}
    category_names = sorted({c for c in data.categories.values() if c})
    category_ids = {
        label: category_names.index(data.categories[label]) if data.categories.get(label) else -1 for label in label_ids
    }

    device = select_device(settings.runtime)
    encoder = TextEncoder.load(
        cfg.path or None, max_length=cfg.max_length, chunk_stride=cfg.chunk_stride, tau=cfg.tau, device=device
    )
    encoder.freeze_lower_layers(cfg.freeze_layers)
    reference = _frozen_reference(cfg, device) if cfg.gamma > 0 else None
    decoder = (
        TextDecoder(encoder.vocab_size, encoder.dim, encoder.pad_token_id, cfg.decoder_layers, max_length=cfg.recon_length).to(device)
        if cfg.recon
        else None
    )
    modules = {"encoder": encoder} | ({"decoder": decoder} if decoder is not None else {})
    optimizer = _optimizer(encoder, decoder, cfg)
    selection = {
        **data.selection,
        "train_windows": int(train_mask.sum()),
        "val_windows": len(val_rows),
        "val_subjects": sorted(set(np.asarray(data.subjects, dtype=object)[val_mask].tolist())),
    }
    steps_per_epoch = sampler.steps_per_epoch()
    with RunTracker(store, KIND, dataclasses.asdict(cfg), cfg.seed, selection, resume_run_id=resume_run_id) as run:
        run_dir = settings.models_dir / "runs" / str(run.run_id)
        checkpoint = run_dir / CHECKPOINT_FILE
        first_epoch, step = 1, 0
        if resume_run_id is not None and checkpoint.exists():
            state = load_checkpoint(checkpoint, modules, optimizer)
            first_epoch, step = state.epoch + 1, state.step
        elif resume_run_id is None:
            progress.update(0, cfg.epochs * steps_per_epoch, "validating the untrained encoder")
            run.record_epoch(0, 0, {}, evaluate(encoder, val_texts, val_labels, data.descriptions, cfg.encode_batch_size,
                                                data.candidates, other))
        progress.update(step, cfg.epochs * steps_per_epoch, f"epoch {first_epoch}/{cfg.epochs}")
        for epoch in range(first_epoch, cfg.epochs + 1):
            encoder.train()
            sums: dict[str, float] = {}
            for batch in sampler.epoch(epoch):
                progress.check_cancelled()
                values = train_step(encoder, decoder, optimizer, batch, label_ids, category_ids, cfg, reference,
                                    settings.runtime.mixed_precision)
                for k, v in values.items():
                    sums[k] = sums.get(k, 0.0) + v
                step += 1
                progress.update(step, None, f"epoch {epoch}/{cfg.epochs} loss {values['total']:.3f}")
            save_checkpoint(checkpoint, modules, optimizer, epoch, step)
            metrics = evaluate(encoder, val_texts, val_labels, data.descriptions, cfg.encode_batch_size, data.candidates, other)
            run.record_epoch(epoch, step, {k: v / steps_per_epoch for k, v in sums.items()}, metrics)
        encoder_dir = encoder.save(run_dir / ENCODER_ARTIFACT)
        run.add_artifact(ENCODER_ARTIFACT, encoder_dir)
        run.summary = {"steps": step, "temperature": encoder.temperature, "encoder_version": encoder.version}
    checkpoint.unlink(missing_ok=True)
    return run.result()


def load_stage1_data(
    store: Store,
    sources: Sequence[str],
    collection: str,
    label_collection: str | None = None,
) -> Stage1Data:
    """Valid, non-rejected window interpretations of ``sources`` with labels, and label descriptions.

    Windows whose label has no description in ``label_collection`` (default: ``collection``)
    are left out and counted in the selection, so the run record says what was skipped.
    """
    from storage.activities import activity_categories
    from storage.datasets import load_windows
    from storage.interpretations import current_label_interpretations, current_window_interpretations

    label_collection = label_collection or collection
    if not sources:
        raise ConfigError("stage 1 needs at least one source dataset (--source)")
    frames = [current_window_interpretations(store, collection, dataset=name) for name in sources]
    windows = pd.concat(frames, ignore_index=True)
    if windows.empty:
        raise NotFoundError(
            f"no interpretations of {list(sources)} in collection {collection!r}; run `lanhar interpret windows` first"
        )
    windows = windows[windows["valid"].astype(bool) & (windows["review_status"] != "rejected") & windows["label"].notna()]
    described = current_label_interpretations(store, label_collection)
    described = described[described["valid"].astype(bool) & (described["review_status"] != "rejected")]
    descriptions = {str(label): group["text"].tolist() for label, group in described.groupby("label")}
    skipped = windows.loc[~windows["label"].isin(list(descriptions)), "label"].value_counts().to_dict()
    windows = windows[windows["label"].isin(list(descriptions))]
    loaded = load_windows(store, ids=windows["window_id"].astype(int).tolist())
    extra = activity_categories(store)
    selection = {
        "sources": list(sources),
        "collection": collection,
        "label_collection": label_collection,
        "windows": int(len(windows)),
        "skipped_without_description": {str(k): int(v) for k, v in skipped.items()},
    }
    texts = dict(zip(windows["window_id"].astype(int), windows["text"].astype(str)))
    categories = {label: category_of(label, extra) for label in descriptions}
    return stage1_data(loaded, texts, descriptions, categories, selection)


def train_text_encoder(
    store: Store,
    settings: Settings,
    sources: Sequence[str] = (),
    collection: str | None = None,
    label_collection: str | None = None,
    overrides: dict[str, Any] | None = None,
    progress: Progress | None = None,
    resume_run_id: int | None = None,
) -> RunResult:
    """Stage 1 from the store's interpretations; a resumed run re-reads its recorded selection."""
    if resume_run_id is not None:
        selection = run_store.get_run(store, resume_run_id).data_selection
        sources, collection, label_collection = selection["sources"], selection["collection"], selection["label_collection"]
    if not collection:
        raise ConfigError("name the interpretation collection to train on (--collection); `lanhar interpret list` shows them")
    data = load_stage1_data(store, sources, collection, label_collection)
    return fit_text_encoder(store, settings, data, overrides, progress, resume_run_id)
