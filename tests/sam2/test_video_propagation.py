"""What a person propagating through a stack relies on: direction and order of frames,
stopping between frames and going on later, several objects, resuming after a crash, one
sentence for bad input.

The model is SAM 2.1 tiny with seeded random weights and a lighter memory (3 memory frames,
one attention layer) to keep the test short; the object-score bias is set by hand so the
object is judged visible (random weights judge it absent everywhere: every mask empty).
"""

from __future__ import annotations

import numpy as np
import pytest

from samlabel.inference.propagation import Propagator
from samlabel.inference.propagation_frames import FrameFeatures, FrameFeatureSource
from samlabel.inference.propagation_record import PropagationRecord, restore
from tests.sam2.video_reference import disc_centre, light_video_model, make_frames

NUM_FRAMES = 5

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack():
    """``(new_propagator, frames)``; features are computed once per frame for the module."""
    model = light_video_model()
    frames = make_frames(NUM_FRAMES)
    size = frames[0].shape[:2]
    plain = FrameFeatureSource(model, lambda i: frames[i], NUM_FRAMES, size)
    cache: dict[int, FrameFeatures] = {}

    def encode(index: int) -> FrameFeatures:
        if index not in cache:
            cache[index] = plain._torch_features(index)
        return cache[index]

    def new() -> Propagator:
        return Propagator(model, FrameFeatureSource(model, None, NUM_FRAMES, size, encode=encode))

    return new, frames


def click(frame: int) -> tuple[float, float, int]:
    x, y = disc_centre(frame)
    return (x, y, 1)


@pytest.fixture(scope="module")
def uninterrupted(stack):
    """Object 1 clicked on frame 0 and propagated to the end: ``{frame: mask}`` and record."""
    new, _ = stack
    propagator = new()
    propagator.add_prompts(0, 1, [click(0)])
    masks = {frame: result[1].mask for frame, result in propagator.propagate()}
    return masks, propagator.record()


def test_both_directions_yield_outwards_from_the_start(stack):
    new, _ = stack
    propagator = new()
    propagator.add_prompts(2, 7, [click(2)])
    order = [frame for frame, results in propagator.propagate(direction="both")]
    assert order == [2, 3, 4, 2, 1, 0]
    tracked = propagator.record().tracked[7]
    # Frames after the start were tracked forward, those before it backward.
    assert {f: tracked[f] for f in (0, 1, 3, 4)} == {0: True, 1: True, 3: False, 4: False}


def test_stopping_between_frames_then_going_on(stack, uninterrupted):
    new, _ = stack
    propagator = new()
    propagator.add_prompts(0, 1, [click(0)])
    run = propagator.propagate()
    assert next(run)[0] == 0
    assert next(run)[0] == 1
    run.close()  # what a cancel does: nothing more is computed
    assert sorted(propagator.record().tracked[1]) == [0, 1]
    rest = {frame: result[1].mask for frame, result in propagator.propagate(start_frame=2)}
    assert sorted(rest) == [2, 3, 4]
    # Same memory as an uninterrupted run, so the same masks.
    for frame, mask in rest.items():
        assert np.array_equal(mask, uninterrupted[0][frame]), frame


def test_a_bounded_memory_gives_the_same_masks(stack, uninterrupted):
    new, _ = stack
    propagator = new()
    propagator.keep_memory_frames = 2  # the light model's num_maskmem - 1
    propagator.add_prompts(0, 1, [click(0)])
    masks = {frame: result[1].mask for frame, result in propagator.propagate()}
    for frame, mask in masks.items():
        assert np.array_equal(mask, uninterrupted[0][frame]), frame
    bank = propagator.objects[1]
    assert bank.non_cond[1].maskmem is None and bank.non_cond[4].maskmem is not None
    assert bank.non_cond[1].nbytes < 2048  # only the pointer is left of frame 1


def test_objects_are_tracked_independently(stack, uninterrupted):
    new, frames = stack
    propagator = new()
    propagator.add_prompts(0, 1, [click(0)])
    propagator.add_prompts(0, 2, [(250.0, 40.0, 1)])  # the background, far from the disc
    results = dict(propagator.propagate(max_frames=2))
    assert sorted(results) == [0, 1, 2]
    for frame, per_object in results.items():
        assert sorted(per_object) == [1, 2]
        assert np.array_equal(per_object[1].mask, uninterrupted[0][frame])
        assert per_object[1].mask.shape == frames[0].shape[:2]
        assert not np.array_equal(per_object[1].mask, per_object[2].mask)


def test_resume_after_a_crash_from_the_record_and_accepted_masks(stack, uninterrupted):
    new, _ = stack
    masks, record = uninterrupted
    text = record.to_json()
    assert len(text) < 1000  # small enough to write after every frame
    assert PropagationRecord.from_json(text) == record
    accepted = {(1, frame): masks[frame] for frame in range(3)}  # frames 3, 4 were lost
    propagator = new()
    restore(propagator, PropagationRecord.from_json(text), accepted, resume_frame=3)
    resumed = {frame: result[1].mask for frame, result in propagator.propagate(start_frame=3)}
    assert sorted(resumed) == [3, 4]
    for frame, mask in resumed.items():
        agreement = float((mask == masks[frame]).mean())
        assert agreement >= 0.98, f"frame {frame}: {agreement:.4f} of pixels as before the crash"


def test_a_given_mask_is_the_frames_answer(stack):
    new, frames = stack
    yy, xx = np.mgrid[0 : frames[0].shape[0], 0 : frames[0].shape[1]]
    cx, cy = disc_centre(1)
    wanted = (xx - cx) ** 2 + (yy - cy) ** 2 < 38.0**2  # an accepted annotation of the disc
    result = new().add_prompts(1, 3, mask=wanted)
    assert result.visible
    assert float((result.mask == wanted).mean()) > 0.995


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda p: list(p.propagate()), "prompt an object on a frame before propagating"),
        (lambda p: p.add_prompts(0, 1), "add at least one point, a box or a mask"),
        (lambda p: p.add_prompts(9, 1, [(1.0, 1.0, 1)]), "frame 9 is outside the stack"),
        (lambda p: p.add_prompts(0, 1, [(1.0, 1.0, 5)]), "label"),
        (
            lambda p: p.add_prompts(0, 1, [(1.0, 1.0, 1)], mask=np.ones((2, 2), bool)),
            "either a mask or points",
        ),
        (lambda p: list(p.propagate(direction="sideways")), "direction must be one of"),
    ],
)
def test_bad_input_is_one_sentence(stack, call, message):
    new, _ = stack
    with pytest.raises(ValueError, match=message) as error:
        call(new())
    assert "\n" not in str(error.value)


def test_a_damaged_record_is_refused_in_one_sentence():
    with pytest.raises(ValueError, match="damaged"):
        PropagationRecord.from_json('{"version": 1, "prompts": {"a": 3}}')
