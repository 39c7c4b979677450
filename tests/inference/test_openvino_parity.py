"""The OpenVINO backend in fp32 against Meta's reference outputs (same thresholds as the others)."""

from __future__ import annotations

import pytest

from samlabel.inference import load_predictor
from tests.inference.parity import CASE_NAMES, ReferenceCases

pytest.importorskip("openvino")

MODELS = ["sam_vit_random", "mobile_sam_random"]


@pytest.fixture(scope="module", params=MODELS)
def reference(request, fixtures_dir, onnx_export_root):
    from samlabel.inference.onnx_export import ensure_onnx
    from samlabel.inference.openvino_backend import OpenVinoPredictor

    folder = fixtures_dir / request.param
    cases = ReferenceCases(folder)
    # Module fixtures run before the per-test private folders: export and compile into the
    # session's cache, never the user's.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SAMLABEL_CACHE_DIR", str(onnx_export_root.parent))
        onnx_folder = ensure_onnx(folder / "checkpoint.pth", cache_root=onnx_export_root)
        predictor = load_predictor(onnx_folder, backend="openvino", precision="fp32")
    assert isinstance(predictor, OpenVinoPredictor)
    assert predictor.describe().endswith("OpenVINO fp32 on CPU")
    return cases, predictor, predictor.encode(cases.image)


def test_embedding_matches_reference(reference):
    cases, _, embedding = reference
    assert embedding.original_size == cases.image.shape[:2]
    error = cases.check_embedding(embedding.features)
    assert error < 1e-3  # fp32 must be fp32: the CPU plugin must not slip into bf16 by itself


@pytest.mark.parametrize("name", CASE_NAMES)
def test_case_matches_reference(reference, name):
    cases, predictor, embedding = reference
    cases.check_case(predictor, embedding, name)


def test_compiled_models_are_cached_on_disk(reference):
    from samlabel.inference.openvino_backend import compile_cache_dir

    assert any(compile_cache_dir().iterdir()), "OpenVINO wrote no compiled model to its cache"
