"""The big-store generator copies real sample recordings with jitter, each copy its own recording and subject."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from lanhar_core.data.sample import read_sample, sample_files

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from make_big_store import jittered  # noqa: E402


def test_copies_are_noisy_renamed_versions_of_the_originals() -> None:
    path = sample_files()[0]
    originals = list(read_sample(path))
    copies = list(jittered(path, "big_x", copies=2, jitter=0.05, seed=0))
    assert len(copies) == 2 * len(originals)
    assert len({c.key for c in copies}) == len(copies) and all(c.dataset == "big_x" for c in copies)
    first, copy = originals[0], copies[0]
    assert copy.key == f"{first.key}~copy0" and copy.subject == f"{first.subject}~0"
    assert copy.signals.shape == first.signals.shape and np.array_equal(copy.labels, first.labels)
    difference = np.abs(copy.signals - first.signals).mean() / first.signals.std()
    assert 0.005 < difference < 0.2  # jittered, still the same movement
