"""Every reader on the real data in ../shared/data: canonical units at rest, labels, subjects."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import butter, filtfilt

from lanhar_core.data import registry
from lanhar_core.data.types import GRAVITY, Recording
from lanhar_core.vocab import builtin_by_name

from conftest import shared_dataset

pytestmark = pytest.mark.realdata
REST = ("sit", "stand", "lie")


def _rest_stats(recordings: list[Recording]) -> tuple[float, float]:
    """Median |acc| and median |gyro| over all samples labelled sit/stand/lie."""
    rest = [r.signals[np.isin(r.labels, REST)] for r in recordings]
    rest = np.vstack([r for r in rest if len(r)])
    return float(np.median(np.linalg.norm(rest[:, :3], axis=1))), float(np.median(np.linalg.norm(rest[:, 3:], axis=1)))


def _check_common(recordings: list[Recording], name: str) -> None:
    info = registry.get(name).INFO
    vocab = builtin_by_name()
    assert recordings
    for r in recordings:
        assert r.dataset == name and r.signals.shape[1] == 6 and np.isfinite(r.signals).all()
        assert {lab for lab in r.labels.tolist() if lab is not None} <= set(vocab)
        mapped = [info.label_map.get(n) for n in r.native_labels.tolist() if n is not None]
        assert mapped == [lab for n, lab in zip(r.native_labels.tolist(), r.labels.tolist()) if n is not None]
    assert len({r.key for r in recordings}) == len(recordings)


def test_hapt_units_labels_and_unlabeled_gaps() -> None:
    recs = list(registry.get("hapt").read(shared_dataset("hapt"), subjects=[1, 2]))
    _check_common(recs, "hapt")
    assert len(recs) == 4 and {r.subject for r in recs} == {"1", "2"}
    acc, gyro = _rest_stats(recs)
    assert abs(acc - GRAVITY) < 0.5 and gyro < 0.1
    first = recs[0]
    assert first.rate_hz == 50.0 and first.labels[0] is None  # before the first segment (starts at 250)
    assert first.labels[249] == "stand" and first.labels[248] is None  # 1-based start 250 -> index 249
    assert "transition" in set(first.labels.tolist())
    unlabeled = next(iter(registry.get("hapt").read(shared_dataset("hapt"), subjects=[1], transitions="unlabeled")))
    assert "transition" not in set(unlabeled.labels.tolist())
    assert "STAND_TO_SIT" in set(unlabeled.native_labels.tolist())


def test_motionsense_sign_flip_gravity_and_subject_info() -> None:
    recs = list(registry.get("motionsense").read(shared_dataset("motionsense"), subjects=[1, 2], trials=["sit_5", "std_6", "wlk_7"]))
    _check_common(recs, "motionsense")
    assert len(recs) == 6 and {r.subject for r in recs} == {"1", "2"}
    acc, gyro = _rest_stats(recs)
    assert abs(acc - GRAVITY) < 0.5 and gyro < 0.1
    sit = next(r for r in recs if r.key == "sit_5/sub_1")
    assert sit.meta["age"] == "46" and set(sit.labels.tolist()) == {"sit"}


def test_motionsense_gyro_sign_is_consistent_with_gravity_rotation() -> None:
    """A rotating device sees the low-passed acc (mostly gravity) turn as d(acc)/dt = -omega x acc."""
    rec = next(iter(registry.get("motionsense").read(shared_dataset("motionsense"), subjects=[1], trials=["wlk_7"])))
    b, a = butter(2, 0.5 / (rec.rate_hz / 2))
    g = filtfilt(b, a, rec.signals[:, :3], axis=0)
    w = filtfilt(b, a, rec.signals[:, 3:], axis=0)
    predicted = -np.cross(w, g)
    slope = float((np.gradient(g, 1 / rec.rate_hz, axis=0) * predicted).sum() / (predicted**2).sum())
    assert slope > 0.2  # with the gyro sign flipped the slope is as negative


def test_uschad_deg_to_rad_and_file_name_labels() -> None:
    recs = list(registry.get("uschad").read(shared_dataset("uschad"), subjects=[14], activities=[3, 8, 9, 10]))
    _check_common(recs, "uschad")
    acc, gyro = _rest_stats(recs)
    assert abs(acc - GRAVITY) < 0.5 and gyro < 0.15  # deg/s left unconverted would read ~2-5
    quirky = next(r for r in recs if r.key == "Subject14/a3t2")  # internal activity_number says 2
    assert set(quirky.labels.tolist()) == {"walk_right"}
    assert len(recs) == 20 and recs[0].rate_hz == 100.0


def test_dsads_joins_segments_and_emits_both_placements() -> None:
    reader = registry.get("dsads")
    torso_only = list(reader.read(shared_dataset("dsads"), subjects=[1], activities=[1, 2]))
    assert {r.placement for r in torso_only} == {"torso"}
    recs = list(reader.read(shared_dataset("dsads"), placements=("torso", "right_leg"), subjects=[1, 2], activities=[1, 2]))
    _check_common(recs, "dsads")
    assert len(recs) == 8 and {r.subject for r in recs} == {"1", "2"}
    assert all(r.n_samples == 60 * 125 and r.rate_hz == 25.0 for r in recs)
    acc, gyro = _rest_stats(recs)
    assert abs(acc - GRAVITY) < 0.5 and gyro < 0.1
    torso = recs[0].signals
    step = np.abs(np.diff(torso[:, :3], axis=0))
    assert step[124].max() <= np.percentile(step.max(axis=1), 99.9)  # border s01|s02 is no jump


def test_seglearn_watch_units_and_exercise_labels() -> None:
    recs = list(registry.get("seglearn_watch").read(shared_dataset("seglearn_watch"), subjects=[1, 2]))
    _check_common(recs, "seglearn_watch")
    assert {r.subject for r in recs} == {"1", "2"}
    magnitude = np.median(np.linalg.norm(np.vstack([r.signals[:, :3] for r in recs]), axis=1))
    assert abs(magnitude - GRAVITY) < 1.5  # exercises, not rest: 1.07 g overall
    assert {lab for r in recs for lab in r.labels.tolist()} <= set(registry.get("seglearn_watch").INFO.label_map.values())


def test_basicmotions_reads_all_series_and_flags_missing_gravity() -> None:
    recs = list(registry.get("basicmotions").read(shared_dataset("basicmotions")))
    _check_common(recs, "basicmotions")
    assert len(recs) == 80 and all(r.n_samples == 100 and r.meta["gravity"] == "removed" for r in recs)
    standing = np.vstack([r.signals for r in recs if r.labels[0] == "stand"])
    assert np.linalg.norm(standing[:, :3].mean(axis=0)) < 0.5  # gravity-free, documented
    assert np.median(np.linalg.norm(standing[:, 3:], axis=1)) < 0.5


@pytest.mark.parametrize("copy", ["rdavilao_COMP_Taller5", "paipradeep_HumanActivityRecognition"])
def test_hhar_excerpts_join_acc_and_gyro(copy: str) -> None:
    recs = list(registry.get("hhar").read(shared_dataset("hhar_excerpt") / copy))
    _check_common(recs, "hhar")
    assert {r.subject for r in recs} == {"a"}
    phone = [r for r in recs if r.device == "nexus4_1"]
    assert phone and all(190 < r.rate_hz < 205 for r in phone)
    acc, gyro = _rest_stats(recs)
    assert abs(acc - GRAVITY) < 0.5 and gyro < 0.1


def test_hhar_excerpt_keeps_every_activity_of_the_spreadsheet_copy() -> None:
    recs = list(registry.get("hhar").read(shared_dataset("hhar_excerpt") / "paipradeep_HumanActivityRecognition"))
    labels = {lab for r in recs for lab in r.labels.tolist()}
    assert {"stand", "sit", "walk", "upstairs", "downstairs", "bike", None} <= labels
