"""K-means outlier flags: planted outliers are found, caps and eligibility are honoured."""

from __future__ import annotations

import numpy as np

from lanhar_core.quality.outliers import ALL, OutlierParams, choose_k, flag_outliers, mean_intra_distance


def _planted(rng: np.random.Generator, n: int = 60, n_out: int = 4, d: int = 8) -> tuple[np.ndarray, list[int]]:
    x = rng.normal(0, 0.05, size=(n, d))
    x[:, 0] += 1.0
    out = list(rng.choice(n, size=n_out, replace=False))
    for i in out:
        x[i] = rng.normal(0, 0.05, size=d)
        x[i, 1 + (i % (d - 1))] += 1.0
    return x, sorted(int(i) for i in out)


def test_planted_outliers_are_flagged_first() -> None:
    rng = np.random.default_rng(0)
    x, planted = _planted(rng)
    flags, clusterings = flag_outliers(x, ["walk"] * len(x), OutlierParams())
    assert sorted(f.index for f in flags[: len(planted)]) == planted
    assert [f.rank for f in flags] == list(range(1, len(flags) + 1))
    assert all(f.distance > f.cluster_mean_distance for f in flags)
    assert clusterings[0].k == 1  # outliers must not form a cluster of their own


def test_flags_are_capped_by_count_and_share() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(100, 5))
    flags, _ = flag_outliers(x, ["sit"] * 100, OutlierParams(max_flags=7, max_flag_share=0.5))
    assert len(flags) == 7
    flags, _ = flag_outliers(x, ["sit"] * 100, OutlierParams(max_flags=50, max_flag_share=0.05))
    assert len(flags) == 5


def test_groups_are_clustered_separately_and_unlabeled_rows_form_one_group() -> None:
    rng = np.random.default_rng(2)
    xa, planted_a = _planted(rng, n=40, n_out=2)
    xb, _ = _planted(rng, n=40, n_out=2)
    x = np.vstack([xa, xb + 3.0])
    groups = ["walk"] * 40 + [None] * 40
    flags, clusterings = flag_outliers(x, groups, OutlierParams())
    assert {c.group for c in clusterings} == {"walk", ALL}
    walk = [f.index for f in flags if f.group == "walk"]
    assert set(planted_a) <= set(walk)
    assert all(f.index >= 40 for f in flags if f.group == ALL)


def test_ineligible_rows_are_never_flagged() -> None:
    rng = np.random.default_rng(3)
    x, planted = _planted(rng)
    eligible = np.ones(len(x), dtype=bool)
    eligible[planted[0]] = False
    flags, _ = flag_outliers(x, ["walk"] * len(x), OutlierParams(), eligible=eligible)
    assert planted[0] not in {f.index for f in flags}
    assert set(planted[1:]) <= {f.index for f in flags}


def test_silhouette_picks_the_real_number_of_modes() -> None:
    rng = np.random.default_rng(4)
    centres = np.eye(6)[:3] * 3
    x = np.vstack([rng.normal(c, 0.1, size=(30, 6)) for c in centres])
    k, score = choose_k(x, OutlierParams(k_range=(2, 5)))
    assert k == 3 and score is not None and score > 0.8
    _, clusterings = flag_outliers(x, [None] * len(x), OutlierParams(k_range=(2, 5)))
    assert clusterings[0].k == 3
    assert mean_intra_distance(clusterings) < 0.5


def test_forced_k_and_tiny_groups() -> None:
    x = np.array([[0.0, 0.0], [0.0, 1.0], [5.0, 5.0]])
    flags, clusterings = flag_outliers(x, ["lie"] * 3, OutlierParams(k=1))
    assert clusterings[0].k == 1
    assert [f.index for f in flags] == [2]
