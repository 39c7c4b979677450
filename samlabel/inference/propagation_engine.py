"""A :class:`~samlabel.inference.propagation.Propagator` for a stack the window labels.

The memory modules (memory encoder and attention, object pointers) come from the SAM 2
checkpoint the predictor was loaded from, loaded once per file and kept for the next stack.
Frame features are the predictor's own embeddings (``embed(frame)``: from memory, the disk
cache or the model, whichever backend runs it) with ``no_mem_embed`` taken off
(:func:`~samlabel.inference.propagation_frames.features_from_embedding`), so a frame the
person looked at is not encoded again, and every frame propagated is cached on disk like an
image. That differs slightly from Meta's video predictor, which resizes frames with PIL's
bicubic filter (:mod:`samlabel.inference.propagation_frames`): masks agree closely, not pixel
for pixel.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

import numpy as np

from samlabel.core.errors import CheckpointError
from samlabel.inference.api import ImageEmbedding
from samlabel.inference.propagation import Propagator
from samlabel.inference.propagation_frames import FrameFeatureSource, features_from_embedding
from samlabel.sam.sam2_checkpoint import load_sam2_video_model
from samlabel.sam.sam2_video import Sam2VideoModel

#: Tracked frames whose memory is kept behind the frame being tracked (older ones keep only
#: their pointer): bounds memory on long stacks (~770 KiB per frame and object otherwise).
KEEP_MEMORY_FRAMES = 16

_lock = threading.Lock()
_models: dict[tuple[str, int, int], Sam2VideoModel] = {}


def video_model(path: str | os.PathLike[str]) -> Sam2VideoModel:
    """The video model of checkpoint ``path``, loaded once per file version (the last one
    is kept). Raises CheckpointError naming the file."""
    try:
        stat = os.stat(path)
    except OSError as error:
        raise CheckpointError(
            f"{path}: the SAM 2 checkpoint cannot be read any more ({error.strerror}), so its "
            "memory modules cannot be loaded; choose the model again.",
            path,
        ) from None
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    with _lock:
        model = _models.get(key)
        if model is None:
            model, _info = load_sam2_video_model(path)
            _models.clear()
            _models[key] = model
    return model


def _unread(index: int) -> np.ndarray:
    raise RuntimeError("frames come from their embeddings here")  # never called: encode is set


def new_engine(
    path: str | os.PathLike[str],
    num_frames: int,
    frame_size: tuple[int, int],
    embed: Callable[[int], ImageEmbedding],
) -> Propagator:
    """A propagator over ``num_frames`` frames of ``frame_size`` ``(H, W)`` whose features
    are ``embed(frame)``'s (see the module docstring)."""
    model = video_model(path)

    def features(index: int):
        return features_from_embedding(embed(index), model)

    frames = FrameFeatureSource(model, _unread, num_frames, tuple(frame_size), encode=features)
    return Propagator(model, frames, keep_memory_frames=KEEP_MEMORY_FRAMES)
