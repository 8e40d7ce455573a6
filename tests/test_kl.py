"""Relative KL: both estimators against closed-form divergences, and the ratio's behaviour."""

from __future__ import annotations

import numpy as np
import pytest

from lanhar_core.errors import InsufficientDataError
from lanhar_core.quality.kl import KLConfig, gaussian_kl, knn_kl, relative_kl, relative_kl_table


def _closed_form_1d(m0: float, s0: float, m1: float, s1: float) -> float:
    return float(np.log(s1 / s0) + (s0**2 + (m0 - m1) ** 2) / (2 * s1**2) - 0.5)


def test_gaussian_kl_closed_form_matches_known_values() -> None:
    assert gaussian_kl(np.zeros(1), np.eye(1), np.zeros(1), np.eye(1)) == pytest.approx(0.0)
    got = gaussian_kl(np.array([1.0]), np.array([[4.0]]), np.array([0.0]), np.array([[1.0]]))
    assert got == pytest.approx(_closed_form_1d(1.0, 2.0, 0.0, 1.0))
    d = 3
    mu = np.array([1.0, -1.0, 0.5])
    assert gaussian_kl(mu, np.eye(d), np.zeros(d), np.eye(d)) == pytest.approx(0.5 * mu @ mu)


def test_knn_estimator_recovers_gaussian_kl() -> None:
    rng = np.random.default_rng(0)
    d = 2
    x = rng.normal(0.0, 1.0, size=(3000, d))
    y = rng.normal(1.0, 1.0, size=(3000, d))
    truth = 0.5 * d * 1.0
    assert knn_kl(x, y, k=5) == pytest.approx(truth, rel=0.15)
    same = knn_kl(x, rng.normal(0.0, 1.0, size=(3000, d)), k=5)
    assert abs(same) < 0.1


def test_knn_estimator_needs_enough_distinct_rows() -> None:
    with pytest.raises(InsufficientDataError):
        knn_kl(np.zeros((10, 2)), np.ones((10, 2)), k=5)


def _datasets(shift: float, rng: np.random.Generator) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    centres = {"walk": np.array([0.0, 0.0, 0.0]), "sit": np.array([6.0, 0.0, 0.0]), "upstairs": np.array([0.0, 6.0, 0.0])}
    a = {lab: rng.normal(c, 1.0, size=(400, 3)) for lab, c in centres.items()}
    b = {lab: rng.normal(c + shift, 1.0, size=(400, 3)) for lab, c in centres.items()}
    return a, b


@pytest.mark.parametrize("estimator", ["gaussian", "knn"])
def test_relative_kl_grows_with_the_dataset_shift(estimator: str) -> None:
    rng = np.random.default_rng(1)
    close = relative_kl(*_datasets(0.0, rng), config=KLConfig(estimator=estimator, dims=3))
    far = relative_kl(*_datasets(2.0, rng), config=KLConfig(estimator=estimator, dims=3))
    assert set(close) == {"walk", "sit", "upstairs"}
    for lab in close:
        assert close[lab] < 0.05
        assert far[lab] > 5 * max(close[lab], 0.01)


def test_relative_kl_matches_closed_form_ratio() -> None:
    rng = np.random.default_rng(2)
    n = 20000
    a = {"x": rng.normal([0, 0], 1, (n, 2)), "y": rng.normal([4, 0], 1, (n, 2))}
    b = {"x": rng.normal([1, 0], 1, (n, 2)), "y": rng.normal([4, 3], 1, (n, 2))}
    rows = {r.label: r for r in relative_kl_table(a, b, KLConfig(dims=2))}
    # unit covariances: J(P, Q) = |mu_p - mu_q|^2 / 2
    same_x, diff_x = 0.5, 0.5 * (0.5 * 25 + 0.5 * 9)
    assert rows["x"].same == pytest.approx(same_x, rel=0.1)
    assert rows["x"].different == pytest.approx(diff_x, rel=0.1)
    assert rows["x"].relative == pytest.approx(same_x / diff_x, rel=0.15)


def test_relative_kl_is_symmetric_in_the_datasets_and_flattens_windows() -> None:
    rng = np.random.default_rng(3)
    a = {"walk": rng.normal(0, 1, (50, 10, 6)), "sit": rng.normal(2, 1, (50, 10, 6))}
    b = {"walk": rng.normal(0.3, 1, (60, 10, 6)), "sit": rng.normal(2, 1.5, (60, 10, 6))}
    ab = relative_kl(a, b, config=KLConfig(dims=4))
    ba = relative_kl(b, a, config=KLConfig(dims=4))
    assert ab == pytest.approx(ba)


def test_relative_kl_needs_two_shared_activities() -> None:
    rng = np.random.default_rng(4)
    with pytest.raises(InsufficientDataError, match="two activities"):
        relative_kl({"walk": rng.normal(size=(5, 2)), "sit": rng.normal(size=(5, 2))}, {"walk": rng.normal(size=(5, 2))})


def test_unstandardized_projection_ignores_rare_texts_in_flat_dimensions() -> None:
    rng = np.random.default_rng(5)
    a = {"walk": rng.normal([0, 0, 0], [1, 1, 1e-4], (200, 3)), "sit": rng.normal([5, 0, 0], [1, 1, 1e-4], (200, 3))}
    b = {"walk": rng.normal([0.2, 0, 0], [1, 1, 1e-4], (200, 3)), "sit": rng.normal([5, 0.2, 0], [1, 1, 1e-4], (200, 3))}
    b["walk"][:3, 2] = 0.01  # three odd rows in a dimension that otherwise does not vary
    plain = relative_kl(a, b, config=KLConfig(dims=2, standardize=False))
    assert plain["walk"] < 0.05
