"""Folders of ONNX files are checked before ONNX Runtime sees them."""

from __future__ import annotations

import json
import shutil

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from samlabel.core.errors import CheckpointError
from samlabel.inference import load_predictor
from samlabel.inference.loader import choose_backend
from samlabel.inference.onnx_export import ensure_onnx
from samlabel.inference.onnx_folder import open_onnx_folder
from tests.inference.tiny_models import write_tiny_checkpoint


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    base = tmp_path_factory.mktemp("onnx")
    checkpoint = write_tiny_checkpoint(base / "tiny.pth")
    return ensure_onnx(checkpoint, cache_root=base / "cache")


def _copy(exported, tmp_path):
    target = tmp_path / "model"
    shutil.copytree(exported, target)
    return target


def _tiny_graph(domain: str = "", external: str | None = None) -> onnx.ModelProto:
    weight = numpy_helper.from_array(np.ones((2,), np.float32), "w")
    if external is not None:
        weight.ClearField("raw_data")
        weight.data_location = TensorProto.EXTERNAL
        entry = weight.external_data.add()
        entry.key, entry.value = "location", external
    node = helper.make_node("Add" if not domain else "Secret", ["x", "w"], ["y"], domain=domain)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
        [weight],
    )
    opsets = [helper.make_opsetid("", 17)] + ([helper.make_opsetid(domain, 1)] if domain else [])
    return helper.make_model(graph, opset_imports=opsets)


def test_exported_folder_loads_and_segments(exported):
    predictor = load_predictor(exported, backend="onnxruntime")
    assert predictor.backend == "onnxruntime" and predictor.device == "cpu"
    assert "onnxruntime" in predictor.describe()
    prediction = predictor.decode(
        predictor.encode(np.zeros((20, 30), np.uint8)), box=(2, 2, 20, 15)
    )
    assert prediction.masks.shape == (3, 20, 30)


def test_external_data_outside_the_folder_is_refused(exported, tmp_path):
    folder = _copy(exported, tmp_path)
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.ones(2, np.float32).tobytes())
    onnx.save(_tiny_graph(external="../secret.bin"), str(folder / "decoder.onnx"))
    with pytest.raises(CheckpointError, match="outside the model folder"):
        load_predictor(folder)


def test_custom_operator_domain_is_refused(exported, tmp_path):
    folder = _copy(exported, tmp_path)
    onnx.save(_tiny_graph(domain="com.example.custom"), str(folder / "decoder.onnx"))
    with pytest.raises(CheckpointError, match=r"custom operators \(com.example.custom\)"):
        open_onnx_folder(folder)


def test_folder_without_manifest_or_with_a_broken_one(exported, tmp_path):
    folder = _copy(exported, tmp_path)
    (folder / "manifest.json").unlink()
    with pytest.raises(CheckpointError, match="no manifest.json"):
        load_predictor(folder)
    (folder / "manifest.json").write_text("{broken")
    with pytest.raises(CheckpointError, match="manifest.json"):
        load_predictor(folder)
    (folder / "manifest.json").write_text(
        json.dumps({"format": "samlabel-onnx", "version": 1, "files": {"encoder": "../x.onnx"}})
    )
    with pytest.raises(CheckpointError, match="outside the folder"):
        load_predictor(folder)


def test_newer_format_is_refused_with_advice(exported, tmp_path):
    folder = _copy(exported, tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["version"] = 99
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CheckpointError, match="newer samlabel"):
        load_predictor(folder)


def test_auto_backend_is_onnxruntime_without_a_gpu(exported, tmp_path, monkeypatch):
    import samlabel.inference.loader as loader

    monkeypatch.setattr(loader, "cuda_available", lambda: False)
    assert choose_backend("auto", tmp_path / "m.pth") == "onnxruntime"
    monkeypatch.setattr(loader, "cuda_available", lambda: True)
    assert choose_backend("auto", tmp_path / "m.pth") == "torch"
    assert choose_backend("auto", exported) == "onnxruntime"  # a folder is ONNX only
    with pytest.raises(Exception, match="unknown backend"):
        choose_backend("tpu", exported)


def test_int8_decoder_is_an_option(exported, tmp_path):
    folder = _copy(exported, tmp_path)
    fp32 = load_predictor(folder)
    from samlabel.inference.onnx_backend import OnnxPredictor

    int8 = OnnxPredictor(open_onnx_folder(folder), decoder_precision="int8")
    assert (folder / "decoder_prompt.int8.onnx").exists()
    embedding = fp32.encode(np.random.default_rng(0).integers(0, 255, (32, 32, 3), np.uint8))
    a = fp32.decode(embedding, points=[(16, 16, 1)])
    b = int8.decode(embedding, points=[(16, 16, 1)])
    assert a.masks.shape == b.masks.shape
    assert np.abs(a.scores - b.scores).max() < 0.2
