"""The ONNX Runtime backend (the default) against Meta's reference outputs."""

from __future__ import annotations

import pytest

from samlabel.inference import load_predictor
from samlabel.inference.onnx_backend import OnnxPredictor
from tests.inference.parity import CASE_NAMES, ReferenceCases

MODELS = ["sam_vit_random", "mobile_sam_random"]


@pytest.fixture(scope="module", params=MODELS)
def reference(request, fixtures_dir, onnx_export_root):
    folder = fixtures_dir / request.param
    cases = ReferenceCases(folder)
    from samlabel.inference.onnx_export import ensure_onnx

    onnx_folder = ensure_onnx(folder / "checkpoint.pth", cache_root=onnx_export_root)
    predictor = load_predictor(onnx_folder, backend="onnxruntime")
    assert isinstance(predictor, OnnxPredictor)
    return cases, predictor, predictor.encode(cases.image)


def test_embedding_matches_reference(reference):
    cases, _, embedding = reference
    assert embedding.original_size == cases.image.shape[:2]
    cases.check_embedding(embedding.features)


@pytest.mark.parametrize("name", CASE_NAMES)
def test_case_matches_reference(reference, name):
    cases, predictor, embedding = reference
    cases.check_case(predictor, embedding, name)


@pytest.mark.parametrize("name", CASE_NAMES)
def test_embedding_from_cache_gives_the_same_masks(reference, name):
    """An embedding without the per-image decoder work (as loaded from the disk cache)."""
    from samlabel.inference.api import ImageEmbedding

    cases, predictor, embedding = reference
    bare = ImageEmbedding(embedding.features.copy(), embedding.original_size, embedding.input_size)
    cases.check_case(predictor, bare, name)
    uses_mask_input = cases.prompts(name)[2] is not None
    assert ("layer0_kv" in bare.extras) != uses_mask_input
