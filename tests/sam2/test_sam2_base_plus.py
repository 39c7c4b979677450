"""The larger Hiera-B+ (two heads, 14x14 background position embedding, width 112) against
Meta's ``sam2``, in torch and in ONNX Runtime: one non-square image, every prompt case."""

from __future__ import annotations

import pytest

from samlabel.inference.loader import load_predictor
from tests.sam2.conftest import make_reference
from tests.sam2.parity import check_predictor


@pytest.fixture(scope="module")
def base_plus_reference(tmp_path_factory):
    return make_reference("base_plus", tmp_path_factory.mktemp("sam2_b+"), ["rgb_wide"])


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["torch", "onnxruntime"])
def test_base_plus_matches_meta(base_plus_reference, backend):
    predictor = load_predictor(base_plus_reference.checkpoint, backend=backend, device=None)
    assert predictor.model_name == "SAM 2.1 Hiera-B+"
    check_predictor(predictor, base_plus_reference, "rgb_wide")
