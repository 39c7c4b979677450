"""The ONNX export cache: exported once per checkpoint, again when the checkpoint changes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from samlabel.core.errors import CheckpointError
from samlabel.inference import load_predictor, onnx_export
from samlabel.inference.onnx_backend import OnnxPredictor
from samlabel.inference.onnx_folder import FORMAT_VERSION
from tests.inference.tiny_models import write_tiny_checkpoint


@pytest.fixture
def export_calls(monkeypatch):
    calls = []
    real = onnx_export.export_checkpoint

    def counting(checkpoint, out_dir, digest, report):
        calls.append(checkpoint)
        return real(checkpoint, out_dir, digest, report)

    monkeypatch.setattr(onnx_export, "export_checkpoint", counting)
    return calls


def test_second_load_does_not_export_again_and_a_changed_checkpoint_does(tmp_path, export_calls):
    checkpoint = write_tiny_checkpoint(tmp_path / "tiny.pth", seed=0)
    progress = []
    first = load_predictor(
        checkpoint, backend="onnxruntime", progress=lambda m, f: progress.append(f)
    )
    assert isinstance(first, OnnxPredictor)
    assert len(export_calls) == 1
    assert progress[-1] == 1.0 and progress == sorted(progress)

    second = load_predictor(checkpoint, backend="onnxruntime")
    assert len(export_calls) == 1
    assert second.folder.root == first.folder.root

    write_tiny_checkpoint(checkpoint, seed=1)  # same path, new weights
    third = load_predictor(checkpoint, backend="onnxruntime")
    assert len(export_calls) == 2
    assert third.folder.root != first.folder.root

    manifest = json.loads((third.folder.root / "manifest.json").read_text())
    assert manifest["checkpoint_file"] == "tiny.pth"
    image = np.full((40, 60, 3), 128, np.uint8)
    prediction = third.decode(third.encode(image), points=[(30, 20, 1)])
    assert prediction.masks.shape == (3, 40, 60)


def test_interrupted_export_leaves_no_half_folder(tmp_path, monkeypatch):
    checkpoint = write_tiny_checkpoint(tmp_path / "tiny.pth")

    def failing(*args, **kwargs):
        raise RuntimeError("power cut")

    monkeypatch.setattr(onnx_export, "verify_export", failing)
    with pytest.raises(RuntimeError):
        onnx_export.ensure_onnx(checkpoint, cache_root=tmp_path / "cache")
    assert [
        p.name for p in (tmp_path / "cache").iterdir() if not p.name.endswith((".lock", ".json"))
    ] == []


def test_not_a_checkpoint_gives_an_error_naming_the_file(tmp_path, export_calls):
    bogus = tmp_path / "notes.pth"
    bogus.write_bytes(b"not a model at all")
    with pytest.raises(CheckpointError, match="notes.pth"):
        load_predictor(bogus, backend="onnxruntime")
    assert len(export_calls) == 1  # the export step reads the file, and refuses it


def test_missing_path_is_named(tmp_path):
    with pytest.raises(CheckpointError, match="nowhere.pth"):
        load_predictor(tmp_path / "nowhere.pth")


def test_a_conversion_cached_by_an_older_version_is_converted_again(tmp_path, export_calls):
    """Older cached graphs are slower (or lack SAM 2's split decoder): convert once more."""
    checkpoint = write_tiny_checkpoint(tmp_path / "tiny.pth", seed=0)
    first = load_predictor(checkpoint, backend="onnxruntime")
    manifest_path = first.folder.root / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["version"] = FORMAT_VERSION - 1
    manifest_path.write_text(json.dumps(manifest))
    exported_before = len(export_calls)  # 0 when an earlier test converted the same weights

    again = load_predictor(checkpoint, backend="onnxruntime")
    assert len(export_calls) == exported_before + 1
    assert json.loads((again.folder.root / "manifest.json").read_text())["version"] == (
        FORMAT_VERSION
    )
