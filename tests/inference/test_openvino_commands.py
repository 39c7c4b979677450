"""OpenVINO from the command line: bench rows, predict --backend/--precision, models list."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from samlabel.cli import main
from samlabel.inference import calibration, candidate_measure, load_predictor
from samlabel.inference import openvino_backend as ovb
from tests.inference.tiny_models import TINY_VIT, write_tiny_checkpoint

pytest.importorskip("openvino")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return write_tiny_checkpoint(tmp_path_factory.mktemp("models") / "tiny-vit.pth")


@pytest.fixture
def image_path(tmp_path):
    path = tmp_path / "photo.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(path)
    return path


@pytest.mark.slow  # exports and times a tiny model in three runtimes: ~15 s on 2 cores
def test_bench_has_openvino_f32_and_bf16_beside_onnx_runtime(monkeypatch, capsys):
    import torch

    from samlabel.inference import benchmark
    from samlabel.sam.build import SamConfig, build_sam

    def tiny(name):
        torch.manual_seed(0)
        return build_sam(SamConfig(encoder=TINY_VIT)).eval(), f"tiny {name}"

    monkeypatch.setattr(benchmark, "_build_random_model", tiny)
    monkeypatch.setattr(benchmark, "IMAGE_SIZES", {"1 MP": (864, 1152)})
    assert main(["bench", "--models", "vit_t", "--clicks", "2", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"machine: {calibration.cpu_name()}")
    assert f"OpenVINO {ovb.openvino_version().split('-')[0]}: CPU (" in out.splitlines()[0]
    table = [line.split("|") for line in out.splitlines()[3:] if line.startswith("|")]
    rows = {cells[2].strip(): cells[3].strip() for cells in table}
    assert rows["encode, ONNX Runtime"].endswith(" s")
    assert "embedding error 0.00% of max" in rows["encode, OpenVINO f32"]
    assert "within the quality gate" in rows["OpenVINO f32 vs ONNX Runtime fp32"]
    assert rows["click 1 MP: OpenVINO f32, mask on screen"].startswith("p50")
    if "bf16" in ovb.device_precisions("CPU"):
        assert "embedding error" in rows["encode, OpenVINO bf16"]
        assert rows["click 1 MP: OpenVINO bf16, mask on screen"].startswith("p50")
    else:
        assert rows["encode, OpenVINO bf16"].startswith("not available")
        assert "does not compute in bf16" in rows["encode, OpenVINO bf16"]


def test_predict_takes_backend_and_precision(checkpoint, image_path, tmp_path, capsys):
    out = tmp_path / "masks.npz"
    argv = ["predict", "--model", str(checkpoint), "--image", str(image_path), "--out", str(out)]
    argv += ["--point", "20,10,1"]
    assert main([*argv, "--backend", "openvino", "--precision", "fp32"]) == 0
    assert "OpenVINO fp32 on CPU" in capsys.readouterr().err
    via_openvino = np.load(out)["masks"]
    assert main([*argv, "--backend", "onnxruntime"]) == 0
    assert (via_openvino == np.load(out)["masks"]).mean() > 0.99
    assert main([*argv, "--backend", "onnxruntime", "--precision", "bf16"]) == 2
    assert "ONNX Runtime runs SAM in fp32 only" in capsys.readouterr().err


def test_models_list_shows_the_measured_backend(checkpoint, monkeypatch, capsys):
    monkeypatch.setattr(candidate_measure, "DECODE_RUNS", 3)
    folder = str(checkpoint.parent)

    def listed() -> str:
        assert main(["models", "list", "--models-dir", folder]) == 0
        out = capsys.readouterr().out
        return next(line for line in out.splitlines() if line.startswith("tiny-vit "))

    assert "not measured yet" in listed()
    predictor = load_predictor(checkpoint)
    stored = calibration.load_calibration(predictor.model_id)
    assert stored is not None and stored.choice.label() in listed()
