"""The propagation scenario against Meta's ``SAM2VideoPredictor``, shared by the parity tests:
Meta's run (made once per test session), our run of the same scenario, and the comparison.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

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

#: Masks must agree with Meta's on at least this fraction of pixels, on every frame.
MASK_AGREEMENT = 0.995


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


def build_video_case(folder: Path) -> VideoCase:
    """Meta's run and ours (torch encoder) of the scenario, frames and checkpoint in ``folder``."""
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
    ours = run_scenario(Propagator(model, _caching_source(model, frames, features)))
    return VideoCase(meta, ours, model, checkpoint, frames, features)


def run_scenario(propagator: Propagator) -> OursRun:
    """Meta's scenario (:func:`tests.sam2.video_reference.run_meta`) on our propagator."""
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
    return ours


def _agreement(ours: FrameMask, meta_logits: np.ndarray) -> float:
    return float((ours.mask == (meta_logits > 0)).mean())


def check_against_meta(meta: VideoRun, ours: OursRun) -> None:
    """Every step of the scenario agrees with Meta's on at least 99.5% of the pixels."""
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
