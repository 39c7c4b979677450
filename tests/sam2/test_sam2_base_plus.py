"""The larger Hiera-B+ (two heads, 14x14 background position embedding, width 112) against
Meta's ``sam2``, in torch, ONNX Runtime and OpenVINO fp32: one non-square image, every
prompt case."""

from __future__ import annotations

import pytest

from samlabel.inference.loader import load_predictor
from samlabel.inference.openvino_backend import openvino_available
from tests.sam2.conftest import make_reference
from tests.sam2.parity import check_predictor


@pytest.fixture(scope="module")
def base_plus_reference(tmp_path_factory):
    return make_reference("base_plus", tmp_path_factory.mktemp("sam2_b+"), ["rgb_wide"])


NO_OPENVINO = pytest.mark.skipif(not openvino_available(), reason="OpenVINO is not installed")


@pytest.mark.slow
@pytest.mark.parametrize(
    "backend", ["torch", "onnxruntime", pytest.param("openvino", marks=NO_OPENVINO)]
)
def test_base_plus_matches_meta(base_plus_reference, backend):
    """OpenVINO reads the folder ONNX Runtime's case exported (the export cache) in fp32."""
    options = {"precision": "fp32"} if backend == "openvino" else {"device": None}
    predictor = load_predictor(base_plus_reference.checkpoint, backend=backend, **options)
    assert predictor.model_name == "SAM 2.1 Hiera-B+"
    assert predictor.backend == backend
    if backend == "openvino":
        assert predictor.precision == predictor.decoder_precision == "fp32"
    check_predictor(predictor, base_plus_reference, "rgb_wide")
