"""Iterative re-generation of low-quality interpretations (paper section 3.3.3, steps 2-3).

Each iteration flags members of the current set (K-means outliers, plus texts the fact
checker contradicts), asks the backend to revise each flagged text (revision prompt: the
original prompt, the previous answer, and the paper's instruction to look for errors),
and decides per candidate:

- ``accepted`` when substituting it lowers its cluster's intra-cluster distance (mean
  distance of the members to their recomputed centroid) and it does not bring more
  fact-check contradictions than the text it replaces (a veto beyond the paper, so a
  compact but wrong text is not preferred);
- ``rejected`` otherwise (the candidate is kept in the record, never made current);
- ``unchanged`` when the backend returned the same text (the deterministic ``rules``
  writer usually does for its own texts), ``invalid``/``failed`` when the reply does not
  validate or the backend failed.
Decisions within an iteration are sequential: an accepted text immediately moves its
cluster's centre, so the next decision sees it.

The clustering (k and each member's cluster) is fixed at the first iteration and only its
centres follow the texts, so the mean intra-cluster distance of successive iterations is
comparable. The loop stops when that distance changes by less than ``threshold`` for
``patience`` consecutive iterations, when nothing is flagged, or after ``max_iterations``.
Members a reviewer accepted or edited (``locked``) shape the clusters but are never
flagged or replaced.

``regenerate`` is the store-free core (the tests drive it with synthetic embeddings);
``lanhar_core.quality.runs.run_regeneration`` binds it to the store, a backend and the
text encoder.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from lanhar_core.config import QualitySettings
from lanhar_core.errors import ConfigError
from lanhar_core.jobs import Progress
from lanhar_core.llm.base import Generation
from lanhar_core.quality.outliers import Clustering, OutlierParams, cluster_all, mean_intra_distance, recentre, select_flags

Embed = Callable[[list[str]], np.ndarray]
"""Texts to an (n, d) array; production passes ``TextEncoder.encode``."""


@dataclass
class ItemState:
    """One interpretation as the loop sees it; ``interpretation_id`` follows accepted versions."""

    interpretation_id: int
    window_id: int | None
    group: str | None
    text: str
    locked: bool = False


@dataclass(frozen=True)
class RegenerationParams:
    """Stopping rule plus the outlier parameters; ``from_settings`` reads the ``quality`` section."""

    outliers: OutlierParams = field(default_factory=OutlierParams)
    threshold: float = 0.0005
    patience: int = 3
    max_iterations: int = 10

    def __post_init__(self) -> None:
        if self.max_iterations < 1 or self.patience < 1 or self.threshold < 0:
            raise ConfigError(
                "re-generation needs max_iterations >= 1, patience >= 1 and threshold >= 0, got "
                f"{self.max_iterations}, {self.patience}, {self.threshold}"
            )

    @classmethod
    def from_settings(
        cls, quality: QualitySettings, k: int | None = None, max_iterations: int | None = None
    ) -> RegenerationParams:
        return cls(
            outliers=OutlierParams.from_settings(quality, k=k),
            threshold=quality.threshold,
            patience=quality.patience,
            max_iterations=max_iterations if max_iterations is not None else quality.max_iterations,
        )


@dataclass(frozen=True)
class Flag:
    """A member chosen for revision in one iteration and why (``outlier``, ``contradiction`` or ``both``)."""

    index: int
    group: str
    cluster: int
    distance: float
    rank: int | None
    reason: str


@dataclass(frozen=True)
class Decision:
    """What happened to one flagged member's candidate; distances are of its cluster, before and after substitution."""

    index: int
    previous_id: int
    candidate: str
    decision: str
    distance_before: float
    distance_after: float | None
    contradictions_before: int | None
    contradictions_after: int | None
    error: str | None = None


@dataclass
class Iteration:
    """One pass: its flags, decisions and the mean intra-cluster distance before and after."""

    number: int
    flags: list[Flag]
    decisions: list[Decision]
    mean_distance_before: float
    mean_distance_after: float
    n_skipped_locked: int

    def count(self, decision: str) -> int:
        return sum(1 for d in self.decisions if d.decision == decision)


@dataclass
class RegenerationResult:
    iterations: list[Iteration]
    stop_reason: str
    n_items: int
    initial_mean_distance: float
    final_mean_distance: float

    @property
    def flagged_share_first(self) -> float:
        """Share flagged in the first iteration (comparable to the paper's 13.3 %)."""
        return len(self.iterations[0].flags) / self.n_items if self.iterations and self.n_items else 0.0

    @property
    def flagged_share(self) -> float:
        """Share of members flagged in any iteration."""
        flagged = {f.index for it in self.iterations for f in it.flags}
        return len(flagged) / self.n_items if self.n_items else 0.0

    @property
    def accepted_share(self) -> float:
        """Accepted candidates over candidates asked for (all iterations)."""
        asked = sum(len(it.decisions) for it in self.iterations)
        return sum(it.count("accepted") for it in self.iterations) / asked if asked else 0.0


Reviser = Callable[[list[ItemState]], list[Generation]]
"""Revises each given member (revision prompt + backend); one ``Generation`` per member, in order."""
Checker = Callable[[ItemState, str], int]
"""Number of fact-check contradictions of a text written for that member's window."""
Validator = Callable[[str], str | None]
"""Why a reply is unusable (format), or ``None`` when it is fine."""
IterationSink = Callable[[Iteration, list[ItemState]], None]
"""Called after each iteration (before the next starts) to persist it; may update ``interpretation_id``s."""


def cluster_distance(x: np.ndarray) -> float:
    """Mean distance of rows to their centroid: one cluster's intra-cluster distance."""
    return float(np.linalg.norm(x - x.mean(axis=0), axis=1).mean()) if len(x) else 0.0


def substitution_gain(members: np.ndarray, position: int, candidate: np.ndarray) -> tuple[float, float]:
    """Intra-cluster distance of ``members`` before and after replacing row ``position`` by ``candidate``."""
    before = cluster_distance(members)
    swapped = members.copy()
    swapped[position] = candidate
    return before, cluster_distance(swapped)


def _flags(
    clusterings: Sequence[Clustering],
    items: Sequence[ItemState],
    params: OutlierParams,
    contradictions: dict[int, int],
) -> list[Flag]:
    eligible = np.array([not it.locked for it in items], dtype=bool)
    found: dict[int, Flag] = {}
    for clustering in clusterings:
        for f in select_flags(clustering, params, eligible[clustering.members]):
            found[f.index] = Flag(f.index, f.group, f.cluster, f.distance, f.rank, "outlier")
        for pos, index in enumerate(clustering.members):
            index = int(index)
            if not eligible[index] or contradictions.get(index, 0) == 0:
                continue
            if index in found:
                found[index] = Flag(index, found[index].group, found[index].cluster, found[index].distance, found[index].rank, "both")
            else:
                found[index] = Flag(
                    index, clustering.group, int(clustering.assignment[pos]), float(clustering.distances[pos]), None, "contradiction"
                )
    return sorted(found.values(), key=lambda f: (f.group, f.rank is None, f.rank or 0, -f.distance))


class _State:
    """Embeddings and clusterings kept in step with the members' current texts."""

    def __init__(self, items: list[ItemState], embed: Embed, params: OutlierParams) -> None:
        self.items = items
        self.x = np.asarray(embed([it.text for it in items]), dtype=np.float64)
        self.clusterings = cluster_all(self.x, [it.group for it in items], params)
        self.where = {}
        for ci, c in enumerate(self.clusterings):
            for pos, index in enumerate(c.members):
                self.where[int(index)] = (ci, pos)

    def refresh(self) -> None:
        self.clusterings = [recentre(self.x[c.members], c) for c in self.clusterings]

    def cluster_members(self, index: int) -> tuple[np.ndarray, int]:
        """Embeddings of ``index``'s K-means cluster and its row within them."""
        ci, pos = self.where[index]
        c = self.clusterings[ci]
        same = np.flatnonzero(c.assignment == c.assignment[pos])
        return self.x[c.members[same]], int(np.flatnonzero(same == pos)[0])

    def mean_distance(self) -> float:
        return mean_intra_distance(self.clusterings)


def regenerate(
    items: list[ItemState],
    embed: Embed,
    revise: Reviser,
    params: RegenerationParams | None = None,
    check: Checker | None = None,
    validate: Validator | None = None,
    on_iteration: IterationSink | None = None,
    progress: Progress | None = None,
) -> RegenerationResult:
    """Run the flag / revise / accept loop over ``items`` (mutated: accepted texts replace old ones)."""
    params = params or RegenerationParams()
    progress = progress or Progress()
    state = _State(items, embed, params.outliers)
    initial = state.mean_distance()
    iterations: list[Iteration] = []
    calm = 0
    stop_reason = "max_iterations"
    progress.update(0, params.max_iterations, f"mean intra-cluster distance {initial:.4f}")
    for number in range(1, params.max_iterations + 1):
        progress.check_cancelled()
        before = state.mean_distance()
        counts = {i: check(it, it.text) for i, it in enumerate(items) if not it.locked} if check else {}
        flags = _flags(state.clusterings, items, params.outliers, counts)
        if not flags:
            stop_reason = "nothing flagged"
            break
        generations = revise([items[f.index] for f in flags])
        decisions = _decide(state, flags, generations, counts, check, validate, embed)
        state.refresh()
        after = state.mean_distance()
        locked = sum(1 for it in items if it.locked)
        iteration = Iteration(number, flags, decisions, before, after, locked)
        iterations.append(iteration)
        if on_iteration:
            on_iteration(iteration, items)
        progress.update(
            number,
            params.max_iterations,
            f"iteration {number}: {iteration.count('accepted')}/{len(flags)} accepted, distance {after:.4f}",
        )
        calm = calm + 1 if abs(before - after) < params.threshold else 0
        if calm >= params.patience:
            stop_reason = "converged"
            break
    return RegenerationResult(iterations, stop_reason, len(items), initial, state.mean_distance())


def _decide(
    state: _State,
    flags: list[Flag],
    generations: list[Generation],
    counts: dict[int, int],
    check: Checker | None,
    validate: Validator | None,
    embed: Embed,
) -> list[Decision]:
    items = state.items
    problems = [_problem(items[f.index], g, validate) for f, g in zip(flags, generations)]
    fresh = [i for i, problem in enumerate(problems) if problem is None]
    vectors = np.asarray(embed([generations[i].text for i in fresh]), dtype=np.float64) if fresh else None
    vector_of = {i: vectors[row] for row, i in enumerate(fresh)} if vectors is not None else {}
    decisions = []
    for i, (flag, gen) in enumerate(zip(flags, generations)):
        item = items[flag.index]
        members, pos = state.cluster_members(flag.index)
        before_count = counts.get(flag.index) if check else None
        problem = problems[i]
        if problem is not None:
            kind, error = problem
            current = cluster_distance(members)
            decisions.append(
                Decision(flag.index, item.interpretation_id, gen.text, kind, current,
                         current if kind == "unchanged" else None, before_count,
                         before_count if kind == "unchanged" else None, error)
            )
            continue
        before, after = substitution_gain(members, pos, vector_of[i])
        after_count = check(item, gen.text) if check else None
        worse_facts = after_count is not None and after_count > (before_count or 0)
        accepted = after < before - 1e-12 and not worse_facts
        decisions.append(
            Decision(flag.index, item.interpretation_id, gen.text, "accepted" if accepted else "rejected",
                     before, after, before_count, after_count)
        )
        if accepted:
            item.text = gen.text
            state.x[flag.index] = vector_of[i]
            counts[flag.index] = after_count or 0
    return decisions


def _problem(item: ItemState, gen: Generation, validate: Validator | None) -> tuple[str, str | None] | None:
    """Why a candidate cannot compete (decision kind and error), or ``None`` when it can."""
    if not gen.ok or not gen.text.strip():
        return "failed", gen.error or "empty reply"
    if gen.text.strip() == item.text.strip():
        return "unchanged", None
    reason = validate(gen.text) if validate else None
    return ("invalid", reason) if reason else None
