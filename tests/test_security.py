"""No file a user or another process can place runs code when LanHAR Studio loads it.

Each loader gets a crafted file whose pickle would create a marker file on load; the
loader must refuse it with a ``LanharError`` and the marker must not exist. Damaged and
foreign model files get a ``ModelError`` instead of a parser traceback.
"""

from __future__ import annotations

import io
import json
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from lanhar_core.cli import main
from lanhar_core.data.readers import seglearn_watch
from lanhar_core.errors import DataFormatError, ModelError
from lanhar_core.models.checkpoint import load_checkpoint, save_checkpoint
from lanhar_core.models.export import export_artifact, load_artifact
from lanhar_core.models.loading import open_recognizer
from lanhar_core.models.recognizer import Preprocessing, Recognizer
from lanhar_core.models.sensor_encoder import create_sensor_encoder

ROOT = Path(__file__).resolve().parents[1]


class _CreatesMarker:
    """Unpickling this calls ``exec``, which writes ``path``: proof that code ran."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (exec, (f"open({str(self.path)!r}, 'w').close()",))


def _npy_object_file(path: Path, payload: object) -> None:
    """A ``.npy`` of dtype object, shape (), holding ``payload`` pickled (as numpy writes it)."""
    with path.open("wb") as handle:
        np.lib.format.write_array_header_1_0(handle, {"descr": "|O", "fortran_order": False, "shape": ()})
        pickle.dump(payload, handle, protocol=2)


def test_seglearn_bundle_with_code_is_refused_and_nothing_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    _npy_object_file(tmp_path / "watch_dataset.npy", {"X": _CreatesMarker(marker), "y": [], "y_labels": [],
                                                      "subject": [], "side": []})
    with pytest.raises(DataFormatError, match=r"\.exec, which is not a numpy array part; such a file could run code"):
        list(seglearn_watch.read(tmp_path))
    assert not marker.exists()


def test_seglearn_bundle_of_plain_arrays_still_loads(tmp_path: Path) -> None:
    series = np.tile(np.array([[0.0, 0.0, 1.0, 0.1, 0.2, 0.3]]), (50, 1))
    bundle = {"X": [series, series * 2], "y": np.array([0, 1]), "y_labels": np.array(["PEN", "ABD"]),
              "subject": np.array([1, 2]), "side": np.array([1, 0])}
    handle = io.BytesIO()
    pickle.dump(np.array(bundle, dtype=object), handle, protocol=2)
    with (tmp_path / "watch_dataset.npy").open("wb") as out:
        np.lib.format.write_array_header_1_0(out, {"descr": "|O", "fortran_order": False, "shape": ()})
        out.write(handle.getvalue())
    recs = list(seglearn_watch.read(tmp_path))
    assert [r.labels[0] for r in recs] == ["shoulder_pendulum", "shoulder_abduction"]
    assert np.allclose(recs[1].signals[0], [0, 0, 2 * 9.80665, 0.2, 0.4, 0.6])
    assert recs[1].meta["side"] == "left"


def test_seglearn_numeric_npy_is_refused_with_a_message(tmp_path: Path) -> None:
    np.save(tmp_path / "watch_dataset.npy", np.zeros((3, 6)))
    with pytest.raises(DataFormatError, match="expected one pickled dict"):
        list(seglearn_watch.read(tmp_path))


def _module_and_optimizer() -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    module = torch.nn.Linear(3, 2)
    return module, torch.optim.AdamW(module.parameters())


def test_checkpoint_with_code_is_refused_and_nothing_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = tmp_path / "checkpoint.pt"
    torch.save({"modules": {"m": _CreatesMarker(marker)}, "epoch": 1}, path)
    module, optimizer = _module_and_optimizer()
    with pytest.raises(ModelError, match="could run code"):
        load_checkpoint(path, {"m": module}, optimizer)
    assert not marker.exists()


def test_checkpoint_round_trip_restores_weights_and_rng(tmp_path: Path) -> None:
    module, optimizer = _module_and_optimizer()
    path = save_checkpoint(tmp_path / "checkpoint.pt", {"m": module}, optimizer, epoch=3, step=30, extra={"k": [1, 2]})
    expected = torch.rand(2)
    fresh, fresh_optimizer = _module_and_optimizer()
    state = load_checkpoint(path, {"m": fresh}, fresh_optimizer)
    assert (state.epoch, state.step, state.extra) == (3, 30, {"k": [1, 2]})
    assert torch.equal(fresh.weight, module.weight)
    assert torch.equal(torch.rand(2), expected)


@pytest.mark.parametrize("damage", ["truncated", "foreign"])
def test_damaged_checkpoint_is_a_model_error(tmp_path: Path, damage: str) -> None:
    module, optimizer = _module_and_optimizer()
    path = save_checkpoint(tmp_path / "checkpoint.pt", {"m": module}, optimizer, epoch=1, step=1)
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    else:
        torch.save({"modules": {"m": {"other.weight": torch.zeros(1)}}}, path)
    with pytest.raises(ModelError, match=str(path)):
        load_checkpoint(path, {"m": module}, optimizer)


def _saved_recognizer(directory: Path) -> Path:
    torch.manual_seed(0)
    recognizer = Recognizer(create_sensor_encoder("patch", 8, width=16, layers=1), Preprocessing(20.0, 120, 60), 0.1, 0.0)
    recognizer.set_label("walk", np.eye(8, dtype=np.float32)[0], ["walking"])
    return recognizer.save(directory)


def test_recognizer_weights_with_code_are_refused_and_nothing_runs(tmp_path: Path) -> None:
    directory = _saved_recognizer(tmp_path / "rec")
    marker = tmp_path / "ran"
    torch.save({"w": _CreatesMarker(marker)}, directory / "sensor_encoder.pt")
    with pytest.raises(ModelError, match="damaged or were not written"):
        open_recognizer(directory)
    assert not marker.exists()


@pytest.mark.parametrize("damage", ["truncated weights", "bad json", "unknown config key", "truncated labels"])
def test_damaged_recognizer_files_are_a_model_error(tmp_path: Path, damage: str) -> None:
    directory = _saved_recognizer(tmp_path / "rec")
    open_recognizer(directory)
    weights, meta_file, labels = directory / "sensor_encoder.pt", directory / "recognizer.json", directory / "label_embeddings.npy"
    if damage == "truncated weights":
        weights.write_bytes(weights.read_bytes()[:1000])
    elif damage == "bad json":
        meta_file.write_text(meta_file.read_text()[:40])
    elif damage == "unknown config key":
        meta = json.loads(meta_file.read_text())
        meta["encoder"]["d_model"] = 64
        meta_file.write_text(json.dumps(meta))
    else:
        labels.write_bytes(labels.read_bytes()[:60])
    with pytest.raises(ModelError, match=re.escape(str(directory))):
        open_recognizer(directory)


def test_truncated_exported_artifact_is_a_model_error(tmp_path: Path) -> None:
    recognizer = open_recognizer(_saved_recognizer(tmp_path / "rec"))
    out = export_artifact(recognizer, tmp_path / "artifact")
    encoder = out / "sensor_encoder.onnx"
    encoder.write_bytes(encoder.read_bytes()[:500])
    with pytest.raises(ModelError, match="damaged"):
        load_artifact(out)


UNSAFE = re.compile(r"allow_pickle\s*=\s*True|weights_only\s*=\s*False|unsafe_allow_html\s*=\s*True")


def test_no_unsafe_loading_on_any_user_reachable_path() -> None:
    offenders = [
        f"{file.relative_to(ROOT)}:{number}"
        for folder in ("lanhar_core", "storage", "app", "pages")
        for file in sorted((ROOT / folder).rglob("*.py"))
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1)
        if UNSAFE.search(line)
    ]
    assert offenders == []
    assert all((ROOT / folder).is_dir() for folder in ("lanhar_core", "storage", "app", "pages"))


def test_cli_reports_a_damaged_model_without_a_traceback(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = _saved_recognizer(tmp_path / "rec")
    weights = directory / "sensor_encoder.pt"
    weights.write_bytes(weights.read_bytes()[:1000])
    assert main(["--home", str(home), "labels", "list", "--model", str(directory)]) == 2
    err = capsys.readouterr().err
    assert "damaged or were not written" in err and "Traceback" not in err
