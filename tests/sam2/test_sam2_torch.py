"""Our torch port of SAM 2 against Meta's ``sam2`` package (seeded random weights).

The checkpoint is written the way Meta's official files are (``{"model": ...}`` with the
video modules), so these tests also show that such a file loads with strict names.
"""

from __future__ import annotations

import numpy as np
import pytest

from samlabel.inference.loader import load_predictor
from tests.sam2.parity import check_predictor


@pytest.fixture(scope="module")
def torch_predictor(tiny_reference):
    return load_predictor(tiny_reference.checkpoint, backend="torch", device="cpu")


def test_the_size_is_read_from_the_weights(torch_predictor):
    assert torch_predictor.model_name == "SAM 2.1 Hiera-T"
    assert torch_predictor.backend == "torch"


@pytest.fixture(scope="module")
def wide_embedding(torch_predictor, tiny_reference):
    return torch_predictor.encode(tiny_reference.images["rgb_wide"])


def test_a_callers_autocast_region_does_not_change_the_results(
    torch_predictor, wide_embedding, tiny_reference
):
    """A bf16 autocast region opened around the calls (as Meta's notebooks do on a GPU; torch
    has it on the CPU too) leaves the predictor in float32: the same embedding and masks."""
    import torch

    points = [(150.0, 160.0, 1), (300.0, 90.0, 0)]
    plain = torch_predictor.decode(wide_embedding, points=points)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        embedding = torch_predictor.encode(tiny_reference.images["rgb_wide"])
        again = torch_predictor.decode(wide_embedding, points=points)
    assert embedding.features.dtype == again.low_res_logits.dtype == np.float32
    np.testing.assert_array_equal(embedding.features, wide_embedding.features)
    np.testing.assert_array_equal(again.low_res_logits, plain.low_res_logits)
    np.testing.assert_array_equal(again.scores, plain.scores)


def test_encoder_outputs_match_meta(wide_embedding, tiny_reference):
    embedding = wide_embedding
    ours = (embedding.features, *embedding.high_res_features)
    for name, a, b in zip(
        ("embedding", "s0", "s1"), ours, tiny_reference.features["rgb_wide"], strict=True
    ):
        error = np.abs(a - b).max() / np.abs(b).max()
        assert error < 1e-4, f"{name} differs by {error:.2e} of its largest value"
    assert embedding.input_size == (1024, 1024) and embedding.stretched


def test_masks_and_scores_match_meta(torch_predictor, tiny_reference, wide_embedding):
    check_predictor(torch_predictor, tiny_reference, "rgb_wide", wide_embedding)


def test_a_grayscale_image_matches_meta(torch_predictor, tiny_reference):
    check_predictor(torch_predictor, tiny_reference, "gray_tall")
