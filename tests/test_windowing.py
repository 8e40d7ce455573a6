"""Windows are label-pure, never cross a gap, and follow the documented unlabeled policy."""

from __future__ import annotations

import numpy as np
import pytest

from lanhar_core.data.types import Recording
from lanhar_core.data.windowing import make_windows, runs, window_starts


def _rec(labels: list, segments=None, native=None) -> Recording:
    n = len(labels)
    signals = np.arange(n * 6, dtype=np.float32).reshape(n, 6)
    labels_arr = np.array(labels, dtype=object)
    native_arr = labels_arr if native is None else np.array(native, dtype=object)
    return Recording("d", "rec", "s1", signals, 20.0, labels_arr, native_arr, segments=segments)


def test_counts_and_positions_in_one_run() -> None:
    w = make_windows(_rec(["walk"] * 300), 120, 60)
    assert list(w.starts) == [0, 60, 120, 180]
    assert w.signals.shape == (4, 120, 6)
    np.testing.assert_array_equal(w.signals[1], np.arange(300 * 6, dtype=np.float32).reshape(300, 6)[60:180])
    assert list(w.labels) == ["walk"] * 4 and list(w.recording_keys) == ["rec"] * 4


def test_windows_never_cross_a_label_change_and_restart_after_it() -> None:
    rec = _rec(["walk"] * 200 + ["sit"] * 130)
    w = make_windows(rec, 120, 60)
    assert list(w.starts) == [0, 60, 200]
    assert list(w.labels) == ["walk", "walk", "sit"]


@pytest.mark.parametrize("seed", range(5))
def test_every_window_is_label_pure(seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels: list = []
    while len(labels) < 3000:
        labels += [rng.choice(["walk", "sit", "stand", None])] * int(rng.integers(20, 400))
    rec = _rec(labels)
    w = make_windows(rec, 120, 60)
    assert len(w) > 0
    for start, label in zip(w.starts, w.labels):
        assert label is not None
        assert set(rec.labels[start : start + 120]) == {label}


def test_native_label_changes_split_windows_too() -> None:
    rec = _rec(["lie"] * 240, native=["lying back"] * 130 + ["lying side"] * 110)
    w = make_windows(rec, 120, 60)
    assert list(w.native_labels) == ["lying back"]


def test_windows_never_cross_a_gap() -> None:
    segments = np.array([0] * 150 + [1] * 150)
    w = make_windows(_rec(["walk"] * 300, segments=segments), 120, 60)
    assert list(w.starts) == [0, 150]


def test_unlabeled_stretches_of_a_labelled_recording_give_no_window() -> None:
    w = make_windows(_rec([None] * 500 + ["walk"] * 120), 120, 60)
    assert list(w.starts) == [500]


def test_a_fully_unlabeled_recording_gives_unlabeled_windows() -> None:
    w = make_windows(_rec([None] * 300), 120, 60)
    assert list(w.starts) == [0, 60, 120, 180]
    assert all(label is None for label in w.labels)


def test_too_short_gives_an_empty_batch_with_the_right_shape() -> None:
    w = make_windows(_rec(["walk"] * 100), 120, 60)
    assert len(w) == 0 and w.signals.shape == (0, 120, 6)
    assert window_starts(_rec(["walk"] * 100), 120, 60).size == 0


def test_runs_split_on_segments_and_labels() -> None:
    rec = _rec(["walk"] * 10 + [None] * 5 + ["walk"] * 10, segments=[0] * 20 + [1] * 5)
    assert runs(rec) == [(0, 10), (10, 15), (15, 20), (20, 25)]
    assert runs(rec, by_labels=False) == [(0, 20), (20, 25)]
