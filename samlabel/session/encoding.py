"""Computing embeddings with their caches, and keeping the last images read (no Qt, no threads).

:class:`Encoder` answers "the embedding of this file (through this picture)": from memory,
from the on-disk :class:`~samlabel.inference.embedding_cache.EmbeddingCache`, or by running
the model. :class:`ImageMemory` keeps the last few images read with their display pyramid.
Both are safe to call from any thread (a lock guards their memory); the runners call them from
theirs (:mod:`samlabel.qt.work_runner` in background threads, :mod:`samlabel.session.headless`
on the calling one).
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import numpy as np

from samlabel.core.errors import SamlabelError
from samlabel.inference.api import ImageEmbedding, Predictor
from samlabel.inference.embedding_cache import EmbeddingCache, EmbeddingKey, content_sha256
from samlabel.io.images import needs_tiled_view
from samlabel.session.source import SourceImage, image_size, read_source_image
from samlabel.session.stack_items import frame_file_key, frame_source


def file_key(path: str | Path) -> tuple[str, int, int]:
    """``(path, mtime_ns, size)``: a file edited on disk gets a new key (a stack frame's is
    its own name and the file holding it)."""
    try:
        frame = frame_file_key(path)
        if frame is not None:
            return (str(path), frame[1], frame[2])
        stat = os.stat(path)
    except (OSError, SamlabelError):
        return (str(path), 0, 0)
    return (str(path), stat.st_mtime_ns, stat.st_size)


def is_huge(path: str | Path) -> bool:
    """Whether ``path`` is shown as an overview (:func:`needs_tiled_view`, header only)."""
    try:
        return needs_tiled_view(image_size(path))
    except SamlabelError:
        return False  # the read that follows reports it


def picture_variant(picture: SourceImage | None) -> tuple:
    """``(window, region)`` of the picture encoded instead of the file's own (both None for
    the file as read): part of every cache key."""
    if picture is None:
        return None, None
    window = None if picture.window is None else (picture.window.low, picture.window.high)
    return window, picture.region


def _embedding_key(
    model_id: str, path: Path, window: tuple | None, region: tuple | None
) -> EmbeddingKey:
    """The disk-cache key of ``path``, by content (never a machine path); a stack frame's
    names the content of the file holding it and its place there (a DICOM slice's own file,
    a TIFF page, a video frame), so every frame has its own."""
    source = frame_source(path)
    if source is None:
        return EmbeddingKey.for_file(model_id, path, window, region)
    file, place = source
    frame_id = hashlib.sha256(f"{content_sha256(file)}#{place}".encode()).hexdigest()
    return EmbeddingKey(model_id, frame_id, window, region)


class ImageMemory:
    """The last ``items`` images read, each with its display pyramid (built by ``pyramid_of``
    in the reading thread, so the GUI thread only draws)."""

    def __init__(self, pyramid_of: Callable[[np.ndarray], list], items: int = 3) -> None:
        self._pyramid_of = pyramid_of
        self._items = items
        self._memory: OrderedDict[tuple, tuple[SourceImage, list]] = OrderedDict()
        self._lock = threading.Lock()

    def load(self, path: Path) -> tuple[SourceImage, list]:
        """The image of ``path`` and its pyramid; raises ImageReadError naming the file."""
        key = file_key(path)  # an edited file is read again
        with self._lock:
            entry = self._memory.get(key)
            if entry is not None:
                self._memory.move_to_end(key)
                return entry
        image = read_source_image(path)
        entry = (image, self._pyramid_of(image.display))
        with self._lock:
            self._memory[key] = entry
            while len(self._memory) > self._items:
                self._memory.popitem(last=False)
        return entry

    def peek(self, path: str | Path) -> SourceImage | None:
        """The image of ``path`` if it is in memory and unchanged on disk."""
        with self._lock:
            entry = self._memory.get(file_key(path))
        return entry[0] if entry is not None else None


class Encoder:
    """Embeddings of one model, from memory, the disk cache or the model.

    Args:
        predictor: the model.
        model_id: keys the disk cache (another model never reuses an embedding).
        cache: the on-disk cache, or None.
        memory_items: how many embeddings of images looked at stay in memory.
        images: ``images(path)`` returns an already decoded image (the reader's memory), to
            spare decoding a large file twice; None means read the file.
    """

    def __init__(
        self,
        predictor: Predictor,
        model_id: str,
        cache: EmbeddingCache | None = None,
        memory_items: int = 4,
        images: Callable[[Path], SourceImage | None] | None = None,
    ) -> None:
        self.predictor = predictor
        self._model_id = model_id
        self._cache = cache
        self._images = images
        self._memory: OrderedDict[tuple, ImageEmbedding] = OrderedDict()
        self._memory_items = memory_items
        self._lock = threading.Lock()
        self._warmed = False

    def _memory_key(self, path: Path, picture: SourceImage | None) -> tuple:
        return (*file_key(path), *picture_variant(picture))

    def cached(self, path: Path, picture: SourceImage | None = None) -> ImageEmbedding | None:
        """The embedding of ``path`` (through ``picture``) if it is in memory (instant)."""
        with self._lock:
            return self._memory.get(self._memory_key(path, picture))

    def _remember(self, key: tuple, embedding: ImageEmbedding) -> None:
        with self._lock:
            self._memory[key] = embedding
            self._memory.move_to_end(key)
            while len(self._memory) > self._memory_items:
                self._memory.popitem(last=False)

    def _from_disk_or_model(
        self, path: Path, picture: SourceImage | None, on_started: Callable[[], None]
    ) -> ImageEmbedding:
        window, region = picture_variant(picture)
        key = None
        if self._cache is not None:
            try:
                key = _embedding_key(self._model_id, path, window, region)
            except (OSError, SamlabelError):
                key = None
            embedding = self._cache.get(key) if key is not None else None
            if embedding is not None:
                # Its per-image decoder part was not stored: make it here, off the click.
                self.predictor.prepare(embedding)
                return embedding
        on_started()
        image = picture
        if image is None and self._images is not None:
            image = self._images(path)
        if image is None:
            image = read_source_image(path)
        embedding = self.predictor.encode(image.pixels)
        if self._cache is not None and key is not None:
            self._cache.put(key, embedding)
        return embedding

    def encode(
        self,
        path: Path,
        picture: SourceImage | None = None,
        on_started: Callable[[], None] = lambda: None,
    ) -> ImageEmbedding | None:
        """The embedding of ``path`` through ``picture`` (None: the file's own); None for a
        huge image's overview, which is labelled in crops only (encoding it would only delay
        the first crop's). ``on_started()`` runs when the model really has to work."""
        memory_key = self._memory_key(path, picture)
        with self._lock:
            embedding = self._memory.get(memory_key)
        if embedding is not None:
            return embedding
        if picture is None and is_huge(path):
            return None
        embedding = self._from_disk_or_model(path, picture, on_started)
        self._remember(memory_key, embedding)
        if not self._warmed:
            # The first decode of a backend pays its one-off costs (graph compilation, lazy
            # allocations: seconds for torch). Pay them here, not on the user's first click.
            self._warmed = True
            height, width = embedding.original_size
            self.predictor.decode(embedding, points=[(width / 2, height / 2, 1)])
        return embedding

    def prefetch(self, path: Path) -> None:
        """Encode ``path`` ahead into the disk cache (into memory when there is no disk
        cache); nothing for a huge image."""
        memory_key = self._memory_key(path, None)
        with self._lock:
            if memory_key in self._memory:
                return
        if is_huge(path):
            return
        embedding = self._from_disk_or_model(path, None, lambda: None)
        if self._cache is None:
            self._remember(memory_key, embedding)
