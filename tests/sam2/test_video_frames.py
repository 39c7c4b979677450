"""Frames as SAM 2's video predictor sees them, and their embeddings in the disk cache.

- Preprocessing: a frame becomes exactly the tensor Meta's ``load_video_frames`` makes from
  the same JPEG (bicubic resize of the 8-bit frame), which is not the image predictor's.
- Cache: a second propagation over the same stack (another object, a resume after a crash)
  reads every frame's embedding back instead of encoding it; a frame whose file changed is
  encoded again.

Model: SAM 2.1 tiny with seeded random weights, a lighter memory, the object-score bias set
by hand so the object is judged visible (as :mod:`tests.sam2.test_video_propagation`).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from samlabel.core.errors import InferenceError
from samlabel.inference.embedding_cache import EmbeddingCache
from samlabel.inference.propagation_backend import (
    PropagationEngine,
    open_propagation_engine,
    predictor_encoder,
)
from samlabel.inference.propagation_frames import preprocess_video_frame
from samlabel.inference.sam2_transforms import preprocess_sam2
from samlabel.io.stacks import open_stack
from samlabel.sam.checkpoint import file_sha256
from tests.meta_reference import sam2
from tests.sam2.video_reference import (
    disc_centre,
    light_video_model,
    make_frames,
    write_jpeg_frames,
)

NUM_FRAMES = 4


def test_a_frame_is_preprocessed_as_metas_video_predictor_loads_it(tmp_path):
    sam2()
    from sam2.utils.misc import load_video_frames

    frames = write_jpeg_frames(make_frames(2), tmp_path / "frames")
    meta, height, width = load_video_frames(
        str(tmp_path / "frames"), 1024, offload_video_to_cpu=True, compute_device="cpu"
    )
    assert (height, width) == frames[0].shape[:2]
    for index, frame in enumerate(frames):
        ours = preprocess_video_frame(frame)
        np.testing.assert_array_equal(ours[0], meta[index].numpy())
    # The image predictor's preprocessing of the same frame is another tensor: a frame's
    # image embedding cannot stand in for its video features.
    image_path, _ = preprocess_sam2(frames[0])
    assert np.abs(image_path - preprocess_video_frame(frames[0])).max() > 0.05


@pytest.fixture(scope="module")
def model():
    return light_video_model()


@pytest.fixture
def stack(tmp_path):
    """A folder of numbered PNG frames opened as the window opens stacks."""
    folder = tmp_path / "seq"
    folder.mkdir()
    for i, frame in enumerate(make_frames(NUM_FRAMES)):
        Image.fromarray(frame).save(folder / f"frame_{i}.png")
    with open_stack(folder) as opened:
        yield opened


def _propagate(engine: PropagationEngine, stack) -> tuple[object, dict[int, np.ndarray]]:
    propagator = engine.stack_propagator(stack)
    x, y = disc_centre(0)
    propagator.add_prompts(0, 1, [(x, y, 1)])
    masks = {frame: result[1].mask for frame, result in propagator.propagate()}
    return propagator, masks


@pytest.mark.slow
def test_a_second_propagation_encodes_no_frame_and_gives_the_same_masks(model, stack, tmp_path):
    engine = PropagationEngine(model, None, "torch", "sha256:test", EmbeddingCache(tmp_path / "c"))
    first, first_masks = _propagate(engine, stack)
    assert (first.frames.encoded, first.frames.from_cache) == (NUM_FRAMES, 0)
    assert 0.005 < first_masks[NUM_FRAMES - 1].mean() < 0.5  # a real object was tracked

    # A new propagator (a re-propagation, or the window restarted after a crash).
    again, again_masks = _propagate(engine, stack)
    assert (again.frames.encoded, again.frames.from_cache) == (0, NUM_FRAMES)
    for frame, mask in first_masks.items():
        np.testing.assert_array_equal(again_masks[frame], mask)

    # An edited frame file is encoded again, the others still come from the cache.
    edited = stack.frame_file(2)[0]
    Image.fromarray(np.ascontiguousarray(make_frames(NUM_FRAMES, seed=9)[2])).save(edited)
    with open_stack(stack.path) as reopened:
        third, _ = _propagate(engine, reopened)
    assert (third.frames.encoded, third.frames.from_cache) == (1, NUM_FRAMES - 1)


@pytest.mark.slow
def test_without_a_cache_every_propagation_encodes_again(model, stack):
    engine = PropagationEngine(model, None, "torch", "sha256:test", None)
    _propagate(engine, stack)
    again, _ = _propagate(engine, stack)
    assert again.frames.encoded == NUM_FRAMES


def test_a_sam1_predictor_cannot_encode_frames_for_propagation():
    class Folder:
        family = "sam"

    class Sam1Predictor:
        folder = Folder()
        model_name = "SAM ViT-B"
        backend = "onnxruntime"

        def run_encoder(self, tensor):
            raise AssertionError("not to be called")

    with pytest.raises(InferenceError, match="SAM 1 model.*SAM 2") as error:
        predictor_encoder(Sam1Predictor())
    assert "\n" not in str(error.value)
    assert predictor_encoder(None) == (None, "torch")


@pytest.mark.slow
def test_the_engine_encodes_with_the_predictor_exported_from_its_own_checkpoint(model, tmp_path):
    checkpoint = tmp_path / "sam2.1_hiera_tiny_light.pt"
    torch.save({"model": model.state_dict()}, checkpoint)

    class Exported:
        """A predictor of an exported folder, as ``load_predictor`` returns it on a CPU."""

        backend = "onnxruntime"
        model_name = "SAM 2.1 Hiera-T"

        def __init__(self, digest: str) -> None:
            self.folder = SimpleNamespace(family="sam2", checkpoint_sha256=digest)

        def run_encoder(self, tensor):
            raise AssertionError("only called while propagating")

    own = Exported(file_sha256(checkpoint))
    engine = open_propagation_engine(checkpoint, own)
    assert engine.encoder_backend == "onnxruntime"
    assert engine.run_encoder == own.run_encoder
    # An export of other weights would give features the memory was not trained with.
    other = open_propagation_engine(checkpoint, Exported("0" * 64))
    assert (other.encoder_backend, other.run_encoder) == ("torch", None)
