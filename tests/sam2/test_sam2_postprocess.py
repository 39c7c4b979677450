"""SAM 2 masks resize straight from the low-res logits to the image (no 1024 step)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from samlabel.inference.api import Prediction


def _prediction(stretched: bool, size=(300, 420)) -> Prediction:
    rng = np.random.default_rng(0)
    low = rng.normal(0, 4, (3, 256, 256)).astype(np.float32)
    low = np.asarray(F.avg_pool2d(torch.from_numpy(low)[None], 5, 1, 2)[0])  # smooth regions
    return Prediction(np.ones(3, np.float32), low, size, (1024, 1024), stretched=stretched)


def test_masks_are_a_single_bilinear_resize_as_metas_postprocess():
    prediction = _prediction(stretched=True)
    expected = F.interpolate(
        torch.from_numpy(prediction.low_res_logits)[None],
        (300, 420),
        mode="bilinear",
        align_corners=False,
    )[0].numpy()
    np.testing.assert_allclose(prediction.mask_logits, expected, atol=1e-4)
    assert np.array_equal(prediction.full_mask(1), expected[1] > 0)


def test_the_sam1_two_step_resize_differs_which_is_why_the_flag_exists():
    stretched, padded = _prediction(True), _prediction(False)
    assert not np.array_equal(stretched.mask_logits, padded.mask_logits)


def test_the_view_path_agrees_with_the_full_size_masks():
    prediction = _prediction(stretched=True)
    view = prediction.mask_logits_for_view(0, (300, 420))
    assert ((view > 0) == prediction.masks[0]).mean() > 0.999
