"""Relative KL divergence between two datasets, per activity (paper section 2.2, Table 1).

The paper measures how far apart the same activity lies in two datasets, relative to how
far apart different activities lie, in a given representation (raw windows, features, text
embeddings of interpretations, sensor-encoder embeddings). Dividing by the
different-activity divergence removes the scale of the space, so a language space whose
embeddings are all close together is not rewarded for that alone.

Definition used here (the paper gives only the ratio). With ``A_a`` the samples of
activity ``a`` in dataset A and ``B_a`` those in dataset B, ``S`` the activities present in
both, and ``J(P, Q) = (KL(P||Q) + KL(Q||P)) / 2`` (symmetrised, so the table does not
depend on which dataset is called A)::

    same(a)      = J(A_a, B_a)
    different(a) = mean over o in S, o != a, of (J(A_a, B_o) + J(B_a, A_o)) / 2
    relative(a)  = same(a) / different(a)

Every divergence is computed in one shared space: the arrays of both datasets and all
activities in ``S`` are reduced by one PCA fitted on their union (``dims`` components), so
the same projection serves numerator and denominator. With ``standardize`` (raw windows,
features: columns in different units) each column is z-scored first; embeddings are not
z-scored, because in a space of near-template texts some dimensions barely vary and
z-scoring would let a handful of odd texts own the principal components.

Estimators:
- ``gaussian`` (default): each sample set is fitted by a Gaussian whose covariance gets a
  ridge of ``ridge`` times its mean variance (keeps it invertible for small or degenerate
  sets); KL between the two Gaussians in closed form. Stable with a few dozen samples and
  cheap, but only sees the first two moments.
- ``knn``: the k-nearest-neighbour estimator of Wang, Kulkarni and Verdu (2009),
  ``D = d/n * sum_i log(nu_k(i) / rho_k(i)) + log(m / (n - 1))`` with ``rho_k`` the distance
  to the k-th neighbour in the own sample and ``nu_k`` in the other. Consistent for any
  densities but noisy for small sets; exact duplicate rows are dropped first (a zero
  distance would make the log infinite), which matters for template texts.
Each (dataset, activity) set is subsampled to ``max_per_label`` rows (seeded) for speed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from lanhar_core.config import QualitySettings
from lanhar_core.errors import ConfigError, InsufficientDataError

ESTIMATORS = ("gaussian", "knn")


@dataclass(frozen=True)
class KLConfig:
    """How divergences are estimated; ``from_settings`` reads the ``quality.kl_*`` settings."""

    estimator: str = "gaussian"
    dims: int = 10
    knn_k: int = 5
    ridge: float = 1e-3
    max_per_label: int = 1000
    seed: int = 0
    standardize: bool = True

    def __post_init__(self) -> None:
        if self.estimator not in ESTIMATORS:
            raise ConfigError(f"KL estimator must be one of {ESTIMATORS}, got {self.estimator!r}")
        if self.dims < 1 or self.knn_k < 1 or self.max_per_label < 2:
            raise ConfigError(
                f"KL dims and knn_k must be >= 1 and max_per_label >= 2, got {self.dims}, {self.knn_k}, {self.max_per_label}"
            )

    @classmethod
    def from_settings(cls, quality: QualitySettings, **overrides: object) -> KLConfig:
        values: dict[str, object] = {
            "estimator": quality.kl_estimator,
            "dims": quality.kl_dims,
            "knn_k": quality.kl_knn_k,
            "ridge": quality.kl_ridge,
            "max_per_label": quality.kl_max_per_label,
            "seed": quality.seed,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class RelativeKL:
    """One activity's row of the table: the two divergences and their ratio."""

    label: str
    same: float
    different: float
    relative: float
    n_a: int
    n_b: int


def gaussian_kl(mu0: np.ndarray, cov0: np.ndarray, mu1: np.ndarray, cov1: np.ndarray) -> float:
    """KL(N(mu0, cov0) || N(mu1, cov1)) in nats, closed form."""
    d = mu0.shape[0]
    chol1 = np.linalg.cholesky(cov1)
    inv1 = np.linalg.inv(cov1)
    diff = mu1 - mu0
    logdet1 = 2.0 * np.sum(np.log(np.diag(chol1)))
    logdet0 = 2.0 * np.sum(np.log(np.diag(np.linalg.cholesky(cov0))))
    value = 0.5 * (np.trace(inv1 @ cov0) + diff @ inv1 @ diff - d + logdet1 - logdet0)
    return float(max(value, 0.0))


def fit_gaussian(x: np.ndarray, ridge: float) -> tuple[np.ndarray, np.ndarray]:
    """Mean and ridge-regularised covariance of the rows of ``x``."""
    mu = x.mean(axis=0)
    cov = np.atleast_2d(np.cov(x, rowvar=False)) if x.shape[0] > 1 else np.zeros((x.shape[1], x.shape[1]))
    scale = float(np.trace(cov)) / cov.shape[0]
    cov = cov + (ridge * scale + 1e-12) * np.eye(cov.shape[0])
    return mu, cov


def knn_kl(x: np.ndarray, y: np.ndarray, k: int = 5) -> float:
    """Wang-Kulkarni-Verdu k-NN estimate of KL(P||Q) from samples ``x ~ P`` and ``y ~ Q``."""
    x = np.unique(np.asarray(x, dtype=np.float64), axis=0)
    y = np.unique(np.asarray(y, dtype=np.float64), axis=0)
    n, d = x.shape
    m = y.shape[0]
    if n <= k or m < k:
        raise InsufficientDataError(
            f"the k-NN KL estimate with k={k} needs more than k distinct rows per sample, got {n} and {m}; "
            "lower quality.kl_knn_k or use the gaussian estimator"
        )
    rho = cKDTree(x).query(x, k=k + 1)[0][:, k]
    nu = cKDTree(y).query(x, k=k)[0]
    nu = nu[:, k - 1] if nu.ndim == 2 else nu
    nu = np.maximum(nu, 1e-300)
    return float(d / n * np.sum(np.log(nu / rho)) + np.log(m / (n - 1)))


def project(arrays: list[np.ndarray], dims: int, standardize: bool = True) -> list[np.ndarray]:
    """(Optionally z-score per column and) PCA to ``dims`` components, fitted on the union of ``arrays``.

    One projection for all sets keeps every divergence in the same space; z-scoring stops
    columns in large units (m/s^2 next to rad/s, Hz next to degrees) from owning the PCA.
    """
    union = np.concatenate(arrays, axis=0)
    mean = union.mean(axis=0)
    std = union.std(axis=0) if standardize else np.ones(union.shape[1])
    std[std < 1e-12] = 1.0
    z = (union - mean) / std
    keep = max(1, min(dims, z.shape[1], z.shape[0] - 1))
    _, _, vt = np.linalg.svd(z - z.mean(axis=0), full_matrices=False)
    basis = vt[:keep].T
    return [((a - mean) / std) @ basis for a in arrays]


def _flatten(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x.reshape(x.shape[0], -1)


def _subsample(x: np.ndarray, limit: int, rng: np.random.Generator) -> np.ndarray:
    if x.shape[0] <= limit:
        return x
    return x[np.sort(rng.choice(x.shape[0], size=limit, replace=False))]


class _Divergence:
    """Pairwise KL between projected sets, with per-set Gaussian fits cached."""

    def __init__(self, sets: dict[tuple[str, str], np.ndarray], config: KLConfig) -> None:
        self.sets = sets
        self.config = config
        self._fits: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}

    def kl(self, p: tuple[str, str], q: tuple[str, str]) -> float:
        if self.config.estimator == "knn":
            return knn_kl(self.sets[p], self.sets[q], self.config.knn_k)
        return gaussian_kl(*self._fit(p), *self._fit(q))

    def sym(self, p: tuple[str, str], q: tuple[str, str]) -> float:
        return 0.5 * (self.kl(p, q) + self.kl(q, p))

    def _fit(self, key: tuple[str, str]) -> tuple[np.ndarray, np.ndarray]:
        if key not in self._fits:
            self._fits[key] = fit_gaussian(self.sets[key], self.config.ridge)
        return self._fits[key]


def relative_kl_table(
    a_by_label: Mapping[str, np.ndarray],
    b_by_label: Mapping[str, np.ndarray],
    config: KLConfig | None = None,
) -> list[RelativeKL]:
    """Relative KL per activity shared by both datasets (definition in the module docstring).

    Arrays may have any trailing shape (windows ``(n, L, 6)`` are flattened); each needs
    at least 2 rows. Raises ``InsufficientDataError`` when fewer than two activities are
    shared, since the denominator needs a different activity.
    """
    config = config or KLConfig()
    labels = sorted(
        lab for lab in set(a_by_label) & set(b_by_label) if len(a_by_label[lab]) >= 2 and len(b_by_label[lab]) >= 2
    )
    if len(labels) < 2:
        raise InsufficientDataError(
            f"relative KL needs at least two activities with 2+ samples in both datasets; shared: {labels or 'none'} "
            f"(A has {sorted(a_by_label)}, B has {sorted(b_by_label)})"
        )
    rng = np.random.default_rng(config.seed)
    keys = [(side, lab) for lab in labels for side in ("a", "b")]
    raw = {
        ("a", lab): _subsample(_flatten(a_by_label[lab]), config.max_per_label, rng) for lab in labels
    } | {("b", lab): _subsample(_flatten(b_by_label[lab]), config.max_per_label, rng) for lab in labels}
    widths = {raw[k].shape[1] for k in keys}
    if len(widths) != 1:
        raise InsufficientDataError(f"all arrays must have the same number of features per row, got widths {sorted(widths)}")
    projected = project([raw[k] for k in keys], config.dims, config.standardize)
    div = _Divergence(dict(zip(keys, projected)), config)
    rows = []
    for lab in labels:
        same = div.sym(("a", lab), ("b", lab))
        others = [o for o in labels if o != lab]
        different = float(
            np.mean([0.5 * (div.sym(("a", lab), ("b", o)) + div.sym(("b", lab), ("a", o))) for o in others])
        )
        rows.append(
            RelativeKL(
                label=lab,
                same=same,
                different=different,
                relative=same / different if different > 0 else float("inf"),
                n_a=int(raw[("a", lab)].shape[0]),
                n_b=int(raw[("b", lab)].shape[0]),
            )
        )
    return rows


def relative_kl(
    a_by_label: Mapping[str, np.ndarray],
    b_by_label: Mapping[str, np.ndarray],
    estimator: str = "gaussian",
    config: KLConfig | None = None,
) -> dict[str, float]:
    """Relative KL per shared activity; ``config`` (if given) overrides ``estimator``."""
    config = config or KLConfig(estimator=estimator)
    return {row.label: row.relative for row in relative_kl_table(a_by_label, b_by_label, config)}


def average(rows: list[RelativeKL]) -> float:
    """Unweighted mean of the per-activity ratios, as the paper's Table 1 'Average' row."""
    return float(np.mean([r.relative for r in rows])) if rows else float("nan")
