"""Which recognizer to use: models trained in the store, else the default shipped with the package.

A fresh machine has no trained model, and recognition must still work there, so the
shipped default (``lanhar_core.models.shipped``) is always on offer; a stage-2 run the user
trained replaces it as the default choice and can be picked instead of it at any time.

The label set of a model is what it was trained on (the activities of its training data;
those trained at the recording's placement when the user names one the model covers) plus
what the user adds; a model also carries descriptions of the rest of the vocabulary,
which the user may switch on, but offering 42 labels of datasets nobody loaded only makes a
recognizer guess among things it has never seen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lanhar_core.data import registry
from lanhar_core.errors import ConfigError, NotFoundError
from lanhar_core.models import shipped
from lanhar_core.models.loading import open_recognizer
from lanhar_core.models.recognizer import Recognizer
from lanhar_core.models.train_sensor import KIND, RECOGNIZER_ARTIFACT
from storage import runs as run_store
from storage.datasets import list_datasets, window_counts
from storage.db import Store

SHIPPED_KEY = "shipped"


@dataclass(frozen=True)
class ModelChoice:
    """One recognizer the user can pick. ``trained_labels`` empty: unknown (all its labels are offered)."""

    key: str
    title: str
    directory: Path | None
    trained_labels: tuple[str, ...]
    placements: tuple[str, ...]
    labels_by_placement: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def default_labels(self, placement: str = "") -> list[str]:
        """The labels to offer first: those trained at ``placement`` when the model covers it, else all trained ones.

        A waist recording gains nothing from being compared with the treadmill and rowing
        activities another dataset taught the model at the torso; it only loses accuracy.
        """
        at_placement = dict(self.labels_by_placement).get(placement)
        return sorted(at_placement) if at_placement else list(self.trained_labels)

    @property
    def is_shipped(self) -> bool:
        return self.key == SHIPPED_KEY

    def load(self) -> Recognizer:
        """A fresh recognizer with every label it carries (see ``recognizer_for`` for the narrowed set)."""
        return shipped.load_shipped() if self.directory is None else open_recognizer(self.directory)

    def placement_note(self, placement: str) -> str | None:
        """A warning when ``placement`` is not among the placements the model was trained on."""
        if not placement or not self.placements or placement in self.placements:
            return None
        return (
            f"{self.title} was trained on {', '.join(self.placements)} recordings, not {placement}; expect lower "
            "accuracy (a model trained on data from this placement would do better)"
        )


def shipped_choice() -> ModelChoice | None:
    """The package's default recognizer, or ``None`` in a checkout where it was never built."""
    if not shipped.available():
        return None
    meta = shipped.load_meta()
    trained = set(meta["trained_labels"])
    by_placement: dict[str, set[str]] = {}
    for dataset in meta["datasets"]:
        labels = {str(v) for v in registry.info(dataset["name"]).label_map.values() if v} & trained
        by_placement.setdefault(dataset["placement"], set()).update(labels)
    names = ", ".join(d["name"] for d in meta["datasets"])
    return ModelChoice(SHIPPED_KEY, f"default recognizer (shipped; {names})", None, tuple(meta["trained_labels"]),
                       tuple(sorted(by_placement)), _frozen(by_placement))


def _frozen(by_placement: dict[str, set[str]]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple((placement, tuple(sorted(labels))) for placement, labels in sorted(by_placement.items()))


def _run_choice(store: Store, run: run_store.RunRecord, directory: Path) -> ModelChoice:
    sources = [s for s in run.data_selection.get("sources", []) if isinstance(s, str) and s != "WindowSet"]
    counts = window_counts(store)
    counts = counts[counts["dataset"].isin(sources) & counts["label"].notna() & (counts["label"] != "transition")]
    datasets = list_datasets(store)
    placement_of = {str(n): str(p) for n, p in zip(datasets["name"], datasets["placement"]) if n in sources and p}
    by_placement: dict[str, set[str]] = {}
    for dataset, label in zip(counts["dataset"], counts["label"]):
        if dataset in placement_of:
            by_placement.setdefault(placement_of[dataset], set()).add(str(label))
    return ModelChoice(
        f"run:{run.id}",
        f"stage-2 run {run.id} ({', '.join(sources) or 'custom windows'})",
        directory,
        tuple(sorted({str(x) for x in counts["label"]})),
        tuple(sorted(set(placement_of.values()))),
        _frozen(by_placement),
    )


def available_models(store: Store) -> list[ModelChoice]:
    """Finished stage-2 runs with a recognizer, newest first, then the shipped default."""
    choices = [
        _run_choice(store, run, path)
        for run in run_store.list_runs(store, KIND, limit=200)
        if run.status == "finished" and (path := run_store.artifacts(store, run.id).get(RECOGNIZER_ARTIFACT)) and path.exists()
    ]
    default = shipped_choice()
    return choices + ([default] if default else [])


def default_model(store: Store) -> ModelChoice:
    """The newest trained model, else the shipped default; ``NotFoundError`` saying how to get one."""
    choices = available_models(store)
    if not choices:
        raise NotFoundError(
            "no recognizer: the store has no finished stage-2 run and this checkout has no default recognizer; "
            "train one (`lanhar train sensor`) or build the default (`lanhar models build-default`)"
        )
    return choices[0]


def choice_for(store: Store, model: str | None) -> ModelChoice:
    """``None``: the default model; ``'shipped'``; a stage-2 run id; or a saved recognizer directory."""
    if model is None:
        return default_model(store)
    if model == SHIPPED_KEY:
        found = shipped_choice()
        if found is None:
            raise NotFoundError("this checkout has no default recognizer; build it with `lanhar models build-default`")
        return found
    if model.isdigit():
        run = run_store.get_run(store, int(model))
        path = run_store.artifacts(store, run.id).get(RECOGNIZER_ARTIFACT)
        if path is None or run.kind != KIND:
            raise NotFoundError(f"run {model} has no recognizer; is it a finished `lanhar train sensor` run?")
        return _run_choice(store, run, path)
    return ModelChoice(f"dir:{model}", f"recognizer in {model}", Path(model), (), ())


def keep_labels(recognizer: Recognizer, labels: Sequence[str]) -> Recognizer:
    """Remove (in place) every label not in ``labels``; ``ConfigError`` for a wanted label the model lacks."""
    missing = [n for n in labels if n not in recognizer.label_names]
    if missing:
        raise ConfigError(
            f"the recognizer has no description of {', '.join(missing)}; add them by description "
            f"(its labels: {', '.join(recognizer.label_names)})"
        )
    for name in [n for n in recognizer.label_names if n not in labels]:
        recognizer.remove_label(name)
    return recognizer


def recognizer_for(choice: ModelChoice, labels: Sequence[str] | None = None, placement: str = "") -> Recognizer:
    """The chosen model restricted to ``labels`` (default: ``choice.default_labels(placement)``; all when unknown)."""
    recognizer = choice.load()
    wanted = list(labels) if labels is not None else choice.default_labels(placement)
    return keep_labels(recognizer, wanted) if wanted else recognizer
