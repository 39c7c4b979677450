"""Propagation through 8 generated frames against Meta's ``SAM2VideoPredictor``.

Scenario (issue: stacks and sequences): one object clicked on frame 0, propagated forward,
a correction click on frame 5, propagated again from there. Masks must agree on at least
99.5% of pixels on every frame. Meta's model has seeded random weights, the SAM 2.1 tiny
configuration with a lighter memory (see :data:`tests.sam2.video_reference.LIGHT_MEMORY`)
and the object-score bias set by hand so the object is judged visible.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import torch

from samlabel.inference.propagation import FrameMask, Propagator
from samlabel.inference.propagation_frames import FrameFeatures, FrameFeatureSource
from samlabel.sam.sam2_checkpoint import load_sam2_video_model
from tests.sam2.video_reference import (
    CORRECTION_FRAME,
    FIRST_CLICK,
    NUM_FRAMES,
    VideoRun,
    build_video_reference,
    correction_click,
    make_frames,
    run_meta,
    save_checkpoint,
    write_jpeg_frames,
)

MASK_AGREEMENT = 0.995

pytestmark = pytest.mark.slow


@dataclass
class OursRun:
    first: FrameMask | None = None
    pass1: dict[int, FrameMask] = field(default_factory=dict)
    order1: list[int] = field(default_factory=list)
    correction: FrameMask | None = None
    pass2: dict[int, FrameMask] = field(default_factory=dict)
    order2: list[int] = field(default_factory=list)


@dataclass
class VideoCase:
    meta: VideoRun
    ours: OursRun
    model: object
    checkpoint: Path
    frames: list[np.ndarray]
    features: dict[int, FrameFeatures]

    def source(self) -> FrameFeatureSource:
        """Our frames, reusing features already computed (the tests after parity)."""
        return _caching_source(self.model, self.frames, self.features)


def _caching_source(model, frames, features: dict[int, FrameFeatures]) -> FrameFeatureSource:
    plain = FrameFeatureSource(model, lambda i: frames[i], len(frames), frames[0].shape[:2])

    def encode(index: int) -> FrameFeatures:
        if index not in features:
            features[index] = plain._torch_features(index)
        return features[index]

    return FrameFeatureSource(
        model, lambda i: frames[i], len(frames), frames[0].shape[:2], encode=encode
    )


@pytest.fixture(scope="module")
def video_case(tmp_path_factory) -> VideoCase:
    folder = tmp_path_factory.mktemp("sam2_video")
    frames = write_jpeg_frames(make_frames(), folder / "frames")
    predictor = build_video_reference("tiny")
    checkpoint = save_checkpoint(predictor, folder / "sam2.1_hiera_tiny_light.pt")
    with warnings.catch_warnings():
        # Meta's hole filling needs its CUDA extension; on a CPU it warns and skips.
        warnings.simplefilter("ignore")
        meta = run_meta(predictor, folder / "frames")
    del predictor
    model, _ = load_sam2_video_model(checkpoint)
    features: dict[int, FrameFeatures] = {}
    propagator = Propagator(model, _caching_source(model, frames, features))
    ours = OursRun()
    frame, click = FIRST_CLICK
    ours.first = propagator.add_prompts(frame, 1, [click])
    for index, result in propagator.propagate():
        ours.order1.append(index)
        ours.pass1[index] = result[1]
    ours.correction = propagator.add_prompts(CORRECTION_FRAME, 1, [correction_click()])
    for index, result in propagator.propagate(CORRECTION_FRAME):
        ours.order2.append(index)
        ours.pass2[index] = result[1]
    return VideoCase(meta, ours, model, checkpoint, frames, features)


def _agreement(ours: FrameMask, meta_logits: np.ndarray) -> float:
    return float((ours.mask == (meta_logits > 0)).mean())


def test_frames_arrive_in_order_one_at_a_time(video_case):
    assert video_case.ours.order1 == list(range(NUM_FRAMES))
    assert video_case.ours.order2 == list(range(CORRECTION_FRAME, NUM_FRAMES))


def test_masks_match_meta_on_every_frame(video_case):
    meta, ours = video_case.meta, video_case.ours
    steps = [("click on frame 0", ours.first, meta.first)]
    steps += [(f"pass 1 frame {i}", ours.pass1[i], meta.pass1[i]) for i in range(NUM_FRAMES)]
    steps += [("correction on frame 5", ours.correction, meta.correction)]
    steps += [(f"pass 2 frame {i}", ours.pass2[i], meta.pass2[i]) for i in sorted(meta.pass2)]
    lines = []
    for name, mine, theirs in steps:
        assert mine.mask.shape == theirs.shape, name
        # Every step shows a real mask (random weights could give empty or full frames).
        assert 0.01 < (theirs > 0).mean() < 0.99, f"{name}: degenerate reference mask"
        lines.append(f"{name}: {_agreement(mine, theirs):.5f}")
        assert _agreement(mine, theirs) >= MASK_AGREEMENT, lines[-1]


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
