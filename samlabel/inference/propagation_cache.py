"""Frame features of propagation in the on-disk embedding cache, keyed per frame by content.

A propagated frame is encoded once per model: re-propagating, propagating another object or
resuming after a crash reads its features back from
:class:`~samlabel.inference.embedding_cache.EmbeddingCache` instead of running the encoder
(seconds per frame on a CPU).

Keys name what the features depend on, never a machine path: the model
(:func:`~samlabel.inference.embedding_cache.model_key`), the frame (the sha256 of the bytes
of the file holding it and its place there, the display window that made its 8-bit
picture: :func:`stack_frame_key`), and the video preprocessing. That last part keeps them
apart from the same frame's image embedding, which the window computes with the image
predictor's resize (:mod:`samlabel.inference.propagation_frames` says why they differ).

Stored as a SAM 2 :class:`~samlabel.inference.api.ImageEmbedding`: the encoder's embedding
*with* ``no_mem_embed`` (as the exported encoder returns it), the two projected
high-resolution maps, ``original_size`` the frame's ``(H, W)``, ``stretched`` True.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from samlabel.core.windowing import Window
from samlabel.inference.api import ImageEmbedding
from samlabel.inference.embedding_cache import EmbeddingCache, EmbeddingKey, content_sha256
from samlabel.io.stacks.base import Stack

log = logging.getLogger(__name__)

#: Part of every key: the frame was resized as Meta's video predictor resizes frames.
VIDEO_PREPROCESSING = "sam2-video-frame-v1"


def stack_frame_key(stack: Stack, index: int, window: Window | None = None) -> str:
    """The name of frame ``index`` of ``stack`` as shown through ``window`` (default: the
    stack's own): the content of the file holding it, its place there, the window.

    Raises:
        OSError: the file holding the frame cannot be read.
    """
    file, place = stack.frame_file(index)
    window = window if window is not None else stack.default_window
    shown = None if window is None else (float(window.low), float(window.high))
    return f"{content_sha256(file)}#{place}|{shown}"


@dataclass
class FrameEmbeddingStore:
    """Frame embeddings of one stack in an :class:`EmbeddingCache`.

    Attributes:
        cache: the cache (shared with the window's image embeddings).
        model_id: the encoder's weights and precision (as the image cache names them).
        frame_key: frame index -> a string naming exactly the pixels the frame is encoded
            from (:func:`stack_frame_key`), or None to leave that frame out of the cache.
    """

    cache: EmbeddingCache
    model_id: str
    frame_key: Callable[[int], str | None]

    def key(self, index: int) -> EmbeddingKey | None:
        """The cache key of frame ``index``; None when the frame cannot be named (its file
        is gone: the frame is encoded and the error is left to the frame reader)."""
        try:
            name = self.frame_key(index)
        except OSError as error:
            log.info("Frame %d is not cached: %s", index, error)
            return None
        if name is None:
            return None
        digest = hashlib.sha256(f"{name}\0{VIDEO_PREPROCESSING}".encode()).hexdigest()
        return EmbeddingKey(self.model_id, digest)

    def get(self, index: int, frame_size: tuple[int, int]) -> ImageEmbedding | None:
        """The stored embedding of frame ``index``; None when missing or not a SAM 2 one of
        a ``frame_size`` frame."""
        key = self.key(index)
        embedding = None if key is None else self.cache.get(key)
        if embedding is None or len(embedding.high_res_features) != 2:
            return None
        return embedding if tuple(embedding.original_size) == tuple(frame_size) else None

    def put(self, index: int, embedding: ImageEmbedding) -> None:
        """Store frame ``index``'s embedding (a cache never stops the work)."""
        key = self.key(index)
        if key is not None:
            self.cache.put(key, embedding)
