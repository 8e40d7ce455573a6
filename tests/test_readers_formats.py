"""Readers of formats not available here in full (HHAR, Shoaib 2014, PAMAP2), on small files
written in exactly the published layout, plus the registry contract."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lanhar_core.data import registry
from lanhar_core.data.types import GRAVITY
from lanhar_core.errors import DataFormatError, UnknownDatasetError
from lanhar_core.vocab import builtin_by_name


def test_registry_lists_and_rejects_unknown_names() -> None:
    assert {"hapt", "motionsense", "uschad", "dsads", "seglearn_watch", "basicmotions", "hhar", "shoaib", "pamap2"} <= set(registry.names())
    with pytest.raises(UnknownDatasetError, match="known: .*hapt"):
        registry.get("nope")


@pytest.mark.parametrize("name", registry.names())
def test_every_reader_declares_complete_info(name: str) -> None:
    info = registry.get(name).INFO
    assert info.name == name and info.conversions and info.attribution and info.license
    assert info.placement in info.placements
    vocab = builtin_by_name()
    assert {c for c in info.label_map.values() if c is not None} <= set(vocab)


def _hhar_rows(sensor: str, rate: float, seconds: float, t0_ns: int, values: tuple[float, float, float], label: str) -> list[str]:
    n = int(rate * seconds)
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        t = t0_ns + int(i * 1e9 / rate + rng.integers(-200_000, 200_000))
        x, y, z = (v + 0.01 * rng.standard_normal() for v in values)
        rows.append(f"{i},{t // 1_000_000},{t},{x},{y},{z},b,s3,s3_1,{label}")
    return rows


def _write_hhar(folder: Path, with_header: bool = True) -> None:
    header = ["Index,Arrival_Time,Creation_Time,x,y,z,User,Model,Device,gt"] if with_header else []
    acc = _hhar_rows("acc", 150, 4, 1_424_696_631_000_000_000, (0.3, 0.2, 9.8), "sit")
    acc += _hhar_rows("acc", 150, 4, 1_424_696_641_000_000_000, (0.3, 9.8, 0.2), "stand")  # 6 s gap
    acc.append(acc[10])  # a duplicated row, as in the original files
    gyro = _hhar_rows("gyro", 140, 12, 1_424_696_630_500_000_000, (0.01, -0.02, 0.0), "sit")
    (folder / "Phones_accelerometer.csv").write_text("\n".join(header + acc) + "\n")
    (folder / "Phones_gyroscope.csv").write_text("\n".join(header + gyro) + "\n")


@pytest.mark.parametrize("with_header", [True, False])
def test_hhar_joins_streams_splits_at_gaps_and_dedupes(tmp_path: Path, with_header: bool) -> None:
    _write_hhar(tmp_path, with_header)
    recs = list(registry.get("hhar").read(tmp_path))
    assert [r.key for r in recs] == ["b/s3_1/000", "b/s3_1/001"]
    assert all(145 < r.rate_hz < 155 and r.placement == "waist" and r.device == "s3_1" for r in recs)
    assert set(recs[0].labels.tolist()) == {"sit"} and set(recs[1].labels.tolist()) == {"stand"}
    assert abs(np.linalg.norm(recs[1].signals[:, :3], axis=1).mean() - 9.8) < 0.05
    assert np.allclose(recs[0].signals[:, 3:].mean(axis=0), [0.01, -0.02, 0.0], atol=0.01)
    assert 3.9 < recs[0].duration_s <= 4.0


def test_hhar_without_gyro_file_is_an_error(tmp_path: Path) -> None:
    _write_hhar(tmp_path)
    (tmp_path / "Phones_gyroscope.csv").unlink()
    with pytest.raises(DataFormatError, match="Phones_gyroscope"):
        list(registry.get("hhar").read(tmp_path))


SHOAIB_POSITIONS = ["Left_pocket", "Right_pocket", "Wrist", "Upper_arm", "Belt"]
SHOAIB_FIELDS = ["time_stamp", "Ax", "Ay", "Az", "Lx", "Ly", "Lz", "Gx", "Gy", "Gz", "Mx", "My", "Mz"]


def _write_shoaib(path: Path, activities: list[str], per_activity: int = 100) -> None:
    """Two header rows, 5 blocks of 13 fields + 1 separator column, activity in the last column."""
    row1, row2 = [], []
    for position in SHOAIB_POSITIONS:
        row1 += [position] + [""] * 13
        row2 += SHOAIB_FIELDS + [""]
    row2[-1] = ""
    lines = [",".join(row1), ",".join(row2)]
    for activity in activities:
        for i in range(per_activity):
            cells = []
            for k, _ in enumerate(SHOAIB_POSITIONS):
                acc = [0.1 * k, 9.8, 0.2]
                cells += ["1.39E+12", *map(str, acc), "0.1", "0.0", "0.0", "0.01", "-0.01", str(0.001 * i), "20", "-5", "30", ""]
            cells[-1] = activity
            lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n")


def test_shoaib_reads_every_position_and_maps_labels(tmp_path: Path) -> None:
    _write_shoaib(tmp_path / "Participant_3.csv", ["walking", "sitting", "upsatirs"])
    recs = list(registry.get("shoaib").read(tmp_path))
    assert [r.placement for r in recs] == ["left_pocket", "right_pocket", "wrist", "upper_arm", "belt"]
    wrist = recs[2]
    assert wrist.subject == "3" and wrist.n_samples == 300 and wrist.rate_hz == 50.0
    assert np.allclose(wrist.signals[0], [0.2, 9.8, 0.2, 0.01, -0.01, 0.0], atol=1e-6)
    assert wrist.labels[0] == "walk" and wrist.labels[150] == "sit" and wrist.labels[-1] == "upstairs"
    only_belt = list(registry.get("shoaib").read(tmp_path, placements=("belt",)))
    assert [r.placement for r in only_belt] == ["belt"]


def test_shoaib_unknown_activity_is_named(tmp_path: Path) -> None:
    _write_shoaib(tmp_path / "Participant_1.csv", ["walking", "dancing"])
    with pytest.raises(DataFormatError, match="dancing"):
        list(registry.get("shoaib").read(tmp_path))


def _pamap2_rows(n: int, activity: int, t0: float) -> np.ndarray:
    rows = np.full((n, 54), np.nan)
    rows[:, 0] = t0 + np.arange(n) / 100.0
    rows[:, 1] = activity
    rows[::11, 2] = 100.0  # heart rate at ~9 Hz, NaN otherwise
    for start, gravity_axis in ((3, 1), (20, 2), (37, 3)):
        block = np.zeros((n, 17))
        block[:, 0] = 32.0
        block[:, 1 + gravity_axis - 1] = GRAVITY  # acc16
        block[:, 4 + gravity_axis - 1] = GRAVITY  # acc6
        block[:, 7:10] = 0.01
        block[:, 10:13] = 20.0
        block[:, 13:17] = np.nan  # invalid orientation
        rows[:, start : start + 17] = block
    return rows


def _write_pamap2(path: Path) -> None:
    rows = np.vstack([_pamap2_rows(300, 0, 5.0), _pamap2_rows(500, 3, 8.0), _pamap2_rows(200, 0, 13.0), _pamap2_rows(400, 4, 15.0)])
    rows[400:420, 3:20] = np.nan  # 0.2 s packet loss in the hand IMU while standing: interpolated
    rows[1200:1300, 3:20] = np.nan  # 1 s loss while walking: split
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savetxt(path, rows, fmt="%.6f", delimiter=" ")
    path.write_text(path.read_text().replace("nan", "NaN"))


def test_pamap2_drops_transients_fills_short_nans_and_splits_long_ones(tmp_path: Path) -> None:
    _write_pamap2(tmp_path / "PAMAP2_Dataset" / "Protocol" / "subject101.dat")
    recs = list(registry.get("pamap2").read(tmp_path))
    assert [r.n_samples for r in recs] == [500, 200, 100]
    assert [r.labels[0] for r in recs] == ["stand", "walk", "walk"]
    assert all(r.placement == "hand" and r.session == "protocol" and r.subject == "101" for r in recs)
    assert np.isfinite(recs[0].signals).all()
    assert np.allclose(np.linalg.norm(recs[0].signals[:, :3], axis=1), GRAVITY)
    assert np.allclose(recs[0].signals[:, 3:], 0.01)


def test_pamap2_other_placements(tmp_path: Path) -> None:
    _write_pamap2(tmp_path / "Protocol" / "subject102.dat")
    recs = list(registry.get("pamap2").read(tmp_path, placements=("chest", "ankle")))
    assert {r.placement for r in recs} == {"chest", "ankle"}
    chest = next(r for r in recs if r.placement == "chest")
    assert chest.n_samples == 500 and np.allclose(chest.signals[:, 1], GRAVITY)  # chest has no NaN gap
    with pytest.raises(DataFormatError, match="unknown placement"):
        list(registry.get("pamap2").read(tmp_path, placements=("knee",)))
