"""The torch backend against Meta's reference outputs (see the fixtures' README).

Per case: masks agree on >= 99.5% of pixels, scores within 0.02, low-res logits within 5%
mean relative error; the embedding within 5% of its largest absolute value.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from samlabel.inference.api import ImageEmbedding
from samlabel.inference.prompts import build_prompt_arrays
from samlabel.inference.torch_backend import TorchPredictor
from samlabel.sam.build import SamConfig, build_sam
from samlabel.sam.image_encoder import ViTConfig
from tests.inference.parity import CASE_NAMES, ReferenceCases

MODELS = [
    "sam_vit_random",
    # TinyViT at full size: about 10 s to load and encode on a busy 2-core machine.
    pytest.param("mobile_sam_random", marks=pytest.mark.slow),
]


@pytest.fixture(scope="module", params=MODELS)
def reference(request, fixtures_dir):
    folder = fixtures_dir / request.param
    cases = ReferenceCases(folder)
    predictor = TorchPredictor.from_checkpoint(folder / "checkpoint.pth")
    return cases, predictor, predictor.encode(cases.image)


def test_embedding_matches(reference):
    cases, _, embedding = reference
    assert embedding.original_size == cases.image.shape[:2]
    cases.check_embedding(embedding.features)


@pytest.mark.parametrize("name", CASE_NAMES)
def test_case_matches(reference, name):
    cases, predictor, embedding = reference
    cases.check_case(predictor, embedding, name)


def test_prompt_assembly_pads_like_the_reference():
    coords, labels = build_prompt_arrays([(10, 20, 1)], None, (100, 200), (512, 1024))
    np.testing.assert_allclose(coords, [[[51.2, 102.4], [0.0, 0.0]]], rtol=1e-6)
    np.testing.assert_array_equal(labels, [[1, -1]])
    coords, labels = build_prompt_arrays([(10, 20, 0)], (0, 0, 200, 100), (100, 200), (512, 1024))
    np.testing.assert_array_equal(labels, [[0, 2, 3]])
    np.testing.assert_allclose(coords[0, 2], [1024, 512])
    coords, labels = build_prompt_arrays(None, (200, 100, 0, 0), (100, 200), (512, 1024))
    np.testing.assert_allclose(coords, [[[0, 0], [1024, 512]]])
    coords, labels = build_prompt_arrays(None, None, (100, 200), (512, 1024))
    assert coords.shape == (1, 0, 2) and labels.shape == (1, 0)
    with pytest.raises(ValueError):
        build_prompt_arrays([(1, 1, 5)], None, (100, 200), (512, 1024))
    with pytest.raises(ValueError):
        build_prompt_arrays([(float("nan"), 1, 1)], None, (100, 200), (512, 1024))


@pytest.fixture(scope="module")
def tiny_predictor() -> TorchPredictor:
    """A small random SAM (fast to encode) for input-format tests."""
    torch.manual_seed(0)
    model = build_sam(SamConfig(encoder=ViTConfig(32, 1, 2, (), 8)))
    return TorchPredictor(model)


def _gradient_image(h: int, w: int) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    return ((x * 7 + y * 3) % 256).astype(np.uint8)


def test_gray_encodes_like_the_same_image_in_rgb(tiny_predictor):
    gray = _gradient_image(90, 120)
    rgb = np.repeat(gray[:, :, None], 3, axis=2)
    a = tiny_predictor.encode(gray)
    b = tiny_predictor.encode(rgb)
    assert a.features.shape == (1, 256, 64, 64)
    assert a.original_size == (90, 120) and a.input_size == (768, 1024)
    np.testing.assert_array_equal(a.features, b.features)


def test_rgba_and_16_bit_images_encode(tiny_predictor):
    gray = _gradient_image(60, 40)
    rgba = np.dstack([gray, gray, gray, np.full_like(gray, 7)])
    wide = gray.astype(np.uint16) * 257
    ref = tiny_predictor.encode(gray).features
    np.testing.assert_array_equal(tiny_predictor.encode(rgba).features, ref)
    np.testing.assert_array_equal(tiny_predictor.encode(wide).features, ref)
    pred = tiny_predictor.decode(tiny_predictor.encode(wide), points=[(5, 5, 1)])
    assert pred.masks.shape == (3, 60, 40)
    assert pred.masks.dtype == np.bool_


def test_decode_without_prompts_and_with_bad_mask(tiny_predictor):
    emb = ImageEmbedding(np.zeros((1, 256, 64, 64), np.float32), (30, 40), (768, 1024))
    pred = tiny_predictor.decode(emb, multimask=False)
    assert pred.low_res_logits.shape == (1, 256, 256)
    with pytest.raises(ValueError):
        tiny_predictor.decode(emb, points=[(1, 1, 1)], mask_input=np.zeros((64, 64)))
    assert tiny_predictor.backend == "torch" and tiny_predictor.device == "cpu"
