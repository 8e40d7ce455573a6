"""K-means outlier flags over interpretation embeddings (paper section 3.3.3, step 1).

The paper clusters the interpretations of one activity with K-means and takes "k outliers
based on their distance from the cluster center, with those farther than the average
intra-cluster distance considered low-quality". Here:

- A *group* is one activity (labeled data) or, for unlabeled data, everything at once; the
  K-means clusters inside a group are its modes (e.g. the same activity described with two
  phrasings). K-means ``k`` is given, or chosen by silhouette over ``k_range`` among the
  clusterings whose smallest cluster holds at least ``min_cluster_share`` of the group;
  without that floor a few outliers would form their own tight cluster and never be
  flagged. If no k qualifies (or the group is tiny) the group is one cluster.
- Distances are Euclidean from each embedding to its cluster's centroid; a cluster's
  *intra-cluster distance* is the mean of its members' distances.
- Candidates are members farther than their cluster's intra-cluster distance; the flagged
  ones are the farthest candidates of the group, at most ``min(max_flags,
  ceil(max_flag_share * n))`` per group. ``max_flags`` is the paper's k; the share cap keeps
  small groups from being flagged wholesale (the paper flagged 13.3 % overall).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score

from lanhar_core.config import QualitySettings
from lanhar_core.errors import ConfigError

ALL = "(all)"
"""Group name used when the data has no labels."""


@dataclass(frozen=True)
class OutlierParams:
    """Clustering and flag caps; ``from_settings`` reads the ``quality`` section."""

    k: int | None = None
    k_range: tuple[int, int] = (2, 6)
    min_cluster_share: float = 0.1
    max_flags: int = 10
    max_flag_share: float = 0.15
    seed: int = 0

    def __post_init__(self) -> None:
        if self.k is not None and self.k < 1:
            raise ConfigError(f"K-means k must be at least 1, got {self.k}")

    @classmethod
    def from_settings(cls, quality: QualitySettings, k: int | None = None) -> OutlierParams:
        return cls(
            k=k,
            k_range=quality.k_range,
            min_cluster_share=quality.min_cluster_share,
            max_flags=quality.max_flags,
            max_flag_share=quality.max_flag_share,
            seed=quality.seed,
        )

    def cap(self, n: int) -> int:
        """How many members of a group of ``n`` may be flagged."""
        return min(self.max_flags, max(1, math.ceil(self.max_flag_share * n)))


@dataclass
class Clustering:
    """K-means result of one group: per-member cluster and distance, per-cluster centre and mean distance."""

    group: str
    members: np.ndarray
    k: int
    assignment: np.ndarray
    centres: np.ndarray
    distances: np.ndarray
    cluster_mean: np.ndarray
    silhouette: float | None

    def mean_distance(self) -> float:
        """Mean distance of all members to their centre (the group's intra-cluster distance)."""
        return float(self.distances.mean()) if self.distances.size else 0.0


@dataclass(frozen=True)
class OutlierFlag:
    """One flagged member: ``index`` into the embeddings given to ``flag_outliers``; ``rank`` 1 = farthest in its group."""

    index: int
    group: str
    cluster: int
    distance: float
    cluster_mean_distance: float
    rank: int


def _kmeans(x: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    if k == 1:
        return np.zeros(x.shape[0], dtype=int), x.mean(axis=0, keepdims=True)
    model = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(x)
    return model.labels_.astype(int), model.cluster_centers_


def choose_k(x: np.ndarray, params: OutlierParams) -> tuple[int, float | None]:
    """Best-silhouette k in ``params.k_range`` whose smallest cluster is not a handful of points."""
    n = x.shape[0]
    distinct = np.unique(x, axis=0).shape[0]
    floor = max(3, math.ceil(params.min_cluster_share * n))
    best: tuple[int, float | None] = (1, None)
    lo, hi = params.k_range
    for k in range(max(2, lo), min(hi, distinct - 1) + 1):
        assignment, _ = _kmeans(x, k, params.seed)
        sizes = np.bincount(assignment, minlength=k)
        if sizes.min() < floor:
            continue
        score = float(silhouette_score(x, assignment))
        if best[1] is None or score > best[1]:
            best = (k, score)
    return best


def cluster_group(x: np.ndarray, group: str, members: np.ndarray, params: OutlierParams) -> Clustering:
    """Cluster one group's embeddings and measure each member's distance to its centre."""
    if params.k is not None:
        k, silhouette = min(params.k, max(1, np.unique(x, axis=0).shape[0])), None
    else:
        k, silhouette = choose_k(x, params) if x.shape[0] >= 4 else (1, None)
    assignment, centres = _kmeans(x, k, params.seed)
    return _measure(x, group, members, assignment, centres, silhouette)


def _measure(
    x: np.ndarray, group: str, members: np.ndarray, assignment: np.ndarray, centres: np.ndarray, silhouette: float | None
) -> Clustering:
    k = centres.shape[0]
    distances = np.linalg.norm(x - centres[assignment], axis=1)
    cluster_mean = np.array(
        [distances[assignment == c].mean() if np.any(assignment == c) else 0.0 for c in range(k)]
    )
    return Clustering(group, members, k, assignment, centres, distances, cluster_mean, silhouette)


def recentre(x: np.ndarray, clustering: Clustering) -> Clustering:
    """Same assignment, centres recomputed from new embeddings ``x`` of the same members.

    Re-generation keeps each member in its cluster while texts change, so the distances
    of successive iterations are comparable.
    """
    centres = np.stack(
        [
            x[clustering.assignment == c].mean(axis=0) if np.any(clustering.assignment == c) else clustering.centres[c]
            for c in range(clustering.k)
        ]
    )
    return _measure(x, clustering.group, clustering.members, clustering.assignment, centres, clustering.silhouette)


def cluster_all(embeddings: np.ndarray, groups: Sequence[str | None], params: OutlierParams) -> list[Clustering]:
    """One ``Clustering`` per group; ``None`` group names (unlabeled) all go to one group."""
    names = np.array([ALL if g is None else str(g) for g in groups], dtype=object)
    result = []
    for name in sorted(set(names)):
        members = np.flatnonzero(names == name)
        result.append(cluster_group(np.asarray(embeddings[members], dtype=np.float64), name, members, params))
    return result


def select_flags(clustering: Clustering, params: OutlierParams, eligible: np.ndarray | None = None) -> list[OutlierFlag]:
    """The farthest members beyond their cluster's mean distance, capped; ``eligible`` masks members that may be flagged."""
    threshold = clustering.cluster_mean[clustering.assignment]
    candidate = clustering.distances > threshold + 1e-12
    if eligible is not None:
        candidate &= eligible
    order = [int(i) for i in np.argsort(-clustering.distances, kind="stable") if candidate[i]]
    chosen = order[: params.cap(len(clustering.members))]
    return [
        OutlierFlag(
            index=int(clustering.members[i]),
            group=clustering.group,
            cluster=int(clustering.assignment[i]),
            distance=float(clustering.distances[i]),
            cluster_mean_distance=float(clustering.cluster_mean[clustering.assignment[i]]),
            rank=rank,
        )
        for rank, i in enumerate(chosen, start=1)
    ]


def flag_outliers(
    embeddings: np.ndarray,
    groups: Sequence[str | None],
    params: OutlierParams | None = None,
    eligible: np.ndarray | None = None,
) -> tuple[list[OutlierFlag], list[Clustering]]:
    """Flags over all groups plus the clusterings they came from (for reporting distances).

    ``eligible`` (bool per row) excludes rows that must not be flagged, e.g. versions a
    reviewer accepted; they still shape the clusters.
    """
    params = params or OutlierParams()
    embeddings = np.asarray(embeddings, dtype=np.float64)
    clusterings = cluster_all(embeddings, groups, params)
    flags: list[OutlierFlag] = []
    for clustering in clusterings:
        mask = None if eligible is None else np.asarray(eligible, dtype=bool)[clustering.members]
        flags.extend(select_flags(clustering, params, mask))
    return flags, clusterings


def mean_intra_distance(clusterings: Sequence[Clustering]) -> float:
    """Mean member-to-centre distance over every member of every group."""
    total = sum(float(c.distances.sum()) for c in clusterings)
    count = sum(int(c.distances.size) for c in clusterings)
    return total / count if count else 0.0
