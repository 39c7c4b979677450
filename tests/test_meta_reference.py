"""Meta's reference code, run here with the torchvision stand-in, reproduces the fixtures.

If this holds, tests may generate reference outputs with Meta's packages for any model,
image and prompt (SAM 2, the automatic mask generator) instead of relying on stored ones.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from tests.meta_reference import segment_anything
from tests.meta_reference.sam1_build import fixture_reference_predictor


def test_reference_predictor_reproduces_the_stored_fixture(fixtures_dir):
    segment_anything()
    folder = fixtures_dir / "sam_vit_random"
    expected = np.load(folder / "expected.npz")
    predictor = fixture_reference_predictor(folder)
    predictor.set_image(np.asarray(Image.open(folder / "image.png").convert("RGB")))

    embedding = predictor.get_image_embedding().numpy()
    scale = np.abs(expected["image_embedding"]).max()
    assert np.abs(embedding - expected["image_embedding"]).max() <= 1e-4 * scale

    case = json.loads((folder / "cases.json").read_text())["cases"][1]
    masks, scores, _ = predictor.predict(
        point_coords=np.array(case["point_coords"]),
        point_labels=np.array(case["point_labels"]),
        multimask_output=case["multimask"],
    )
    reference_masks = expected[f"{case['name']}__masks"]
    assert masks.shape == reference_masks.shape
    assert (masks == reference_masks).mean() >= 0.999
    np.testing.assert_allclose(scores, expected[f"{case['name']}__iou_predictions"], atol=1e-4)


def test_standin_nms_keeps_the_best_of_overlapping_boxes_per_category():
    segment_anything()
    from torchvision.ops import batched_nms, box_area

    boxes = torch.tensor(
        [[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30], [0, 0, 10, 10]], dtype=torch.float32
    )
    scores = torch.tensor([0.8, 0.9, 0.7, 0.6])
    kept = batched_nms(boxes, scores, torch.tensor([0, 0, 0, 1]), iou_threshold=0.5)
    # Box 1 beats box 0 (IoU 0.81); box 3 is alone in its category; box 2 overlaps nothing.
    assert kept.tolist() == [1, 2, 3]
    assert box_area(boxes[:1]).item() == pytest.approx(100.0)
