"""Propagation through 8 generated frames against Meta's ``SAM2VideoPredictor``.

Scenario (issue: stacks and sequences): one object clicked on frame 0, propagated forward,
a correction click on frame 5, propagated again from there. Masks must agree on at least
99.5% of pixels on every frame. Meta's model has seeded random weights, the SAM 2.1 tiny
configuration with a lighter memory (see :data:`tests.sam2.video_reference.LIGHT_MEMORY`)
and the object-score bias set by hand so the object is judged visible.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from samlabel.sam.sam2_checkpoint import load_sam2_video_model
from tests.sam2.video_case import check_against_meta
from tests.sam2.video_reference import CORRECTION_FRAME, NUM_FRAMES

pytestmark = pytest.mark.slow


def test_frames_arrive_in_order_one_at_a_time(video_case):
    assert video_case.ours.order1 == list(range(NUM_FRAMES))
    assert video_case.ours.order2 == list(range(CORRECTION_FRAME, NUM_FRAMES))


def test_masks_match_meta_on_every_frame(video_case):
    check_against_meta(video_case.meta, video_case.ours)


def test_the_correction_changes_frame_5_and_holds_after_propagating(video_case):
    meta = video_case.meta
    before, after = meta.pass1[CORRECTION_FRAME] > 0, meta.correction > 0
    assert (before != after).mean() > 0.01, "the correction click must change the mask"
    # Propagating from the corrected frame returns the corrected mask on it, not a new one.
    assert np.array_equal(
        video_case.ours.pass2[CORRECTION_FRAME].mask, video_case.ours.correction.mask
    )


def test_memory_modules_load_strictly_and_the_image_model_still_loads(video_case, tmp_path):
    from samlabel.core.errors import CheckpointError
    from samlabel.inference.loader import load_predictor

    model = video_case.model
    assert model.video.num_maskmem == 3 and len(model.memory_attention.layers) == 1
    predictor = load_predictor(video_case.checkpoint, backend="torch", device="cpu")
    assert predictor.model_name == "SAM 2.1 Hiera-T"
    state = torch.load(video_case.checkpoint, weights_only=True)["model"]
    image_only = {k: v for k, v in state.items() if not k.startswith("memory_")}
    path = tmp_path / "image_only.pt"
    torch.save({"model": image_only}, path)
    with pytest.raises(CheckpointError, match="only SAM 2's image model") as error:
        load_sam2_video_model(path)
    assert "\n" not in str(error.value)
