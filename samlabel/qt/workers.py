"""Background threads: one reads images, one computes embeddings. The GUI thread never waits.

Both follow napari's layer slicer: the GUI thread submits a numbered request; a newer request
replaces the one still waiting (a stale job is dropped before it starts); the result comes
back to the GUI thread through a Qt signal carrying the request number, so the receiver can
ignore answers to questions nobody asks any more. ``wait_until_idle()`` is for tests.

After the current image the embedding worker encodes the next few images ahead (prefetch)
into the on-disk cache, so moving on and going back are instant.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from samlabel.core.errors import SamlabelError
from samlabel.core.windowing import Window
from samlabel.inference.api import ImageEmbedding, Predictor
from samlabel.inference.embedding_cache import EmbeddingCache, EmbeddingKey
from samlabel.io.images import needs_tiled_view
from samlabel.qt.overlays import image_pyramid
from samlabel.session.source import SourceImage, image_size, read_source_image

log = logging.getLogger(__name__)


def describe_error(error: BaseException) -> str:
    """A sentence for the user: SamlabelError messages as they are, others with their type."""
    if isinstance(error, SamlabelError):
        return str(error)
    return f"{type(error).__name__}: {error}"


def _is_huge(path: str) -> bool:
    """Whether ``path`` is shown as an overview (:func:`needs_tiled_view`, header only)."""
    try:
        return needs_tiled_view(image_size(path))
    except SamlabelError:
        return False  # the read that follows reports it


def _file_key(path: str) -> tuple[str, int, int]:
    """``(path, mtime_ns, size)``: a file edited on disk gets a new key."""
    try:
        stat = os.stat(path)
    except OSError:
        return (path, 0, 0)
    return (path, stat.st_mtime_ns, stat.st_size)


class ImageLoader(QObject):
    """Reads image files off the GUI thread; keeps the last few in memory.

    Signals:
        loaded(request_id, path, SourceImage, pyramid): the image and its display pyramid
            (:func:`samlabel.qt.overlays.image_pyramid`, built here so the GUI thread only
            draws)
        failed(request_id, path, message)
    """

    loaded = Signal(int, str, object, object)
    failed = Signal(int, str, str)

    def __init__(self, memory_items: int = 3, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._memory: OrderedDict[tuple[str, int, int], tuple[SourceImage, list]] = OrderedDict()
        self._memory_items = memory_items
        self._next_id = 0
        self._pending: tuple[int, str] | None = None
        self._cond = threading.Condition()
        self._stop = False
        self._busy = False
        self._thread = threading.Thread(target=self._loop, name="samlabel-images", daemon=True)
        self._thread.start()

    def request(self, path: str | Path) -> int:
        """Ask for ``path`` (replacing a waiting request); returns the answer's number."""
        with self._cond:
            self._next_id += 1
            self._pending = (self._next_id, str(path))
            self._cond.notify_all()
            return self._next_id

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._stop and self._pending is None:
                    self._cond.wait()
                if self._stop:
                    return
                (request_id, path), self._pending = self._pending, None
                self._busy = True
            try:
                self._load(request_id, path)
            except Exception as error:  # never let the loader die silently
                log.exception("reading %s failed", path)
                self.failed.emit(request_id, path, describe_error(error))
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _load(self, request_id: int, path: str) -> None:
        key = _file_key(path)  # an edited file is read again
        with self._cond:
            entry = self._memory.get(key)
            if entry is not None:
                self._memory.move_to_end(key)
        if entry is None:
            try:
                image = read_source_image(path)
            except SamlabelError as error:
                log.warning("%s", error)
                self.failed.emit(request_id, path, describe_error(error))
                return
            entry = (image, image_pyramid(image.display))
            with self._cond:
                self._memory[key] = entry
                while len(self._memory) > self._memory_items:
                    self._memory.popitem(last=False)
        self.loaded.emit(request_id, path, entry[0], entry[1])

    def peek(self, path: str | Path) -> SourceImage | None:
        """The image of ``path`` if it is in memory and unchanged on disk (any thread)."""
        key = _file_key(str(path))
        with self._cond:
            entry = self._memory.get(key)
        return entry[0] if entry is not None else None

    def wait_until_idle(self, timeout: float = 10.0) -> bool:
        """Block until nothing runs or waits (tests only); False on timeout."""
        with self._cond:
            return self._cond.wait_for(
                lambda: not self._busy and self._pending is None, timeout=timeout
            )

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop the thread (a read in progress is let finish)."""
        with self._cond:
            self._stop = True
            self._pending = None
            self._cond.notify_all()
        self._thread.join(timeout)

    def is_alive(self) -> bool:
        """Whether the thread still runs."""
        return self._thread.is_alive()


class EmbeddingWorker(QObject):
    """Computes image embeddings with ``predictor.encode`` in one background thread.

    Signals:
        started(request_id, path): the encoder began work on the current image (not emitted
            for answers from memory or the disk cache, which are immediate).
        ready(request_id, path, ImageEmbedding): the embedding of a requested image; None
            for a huge image, which is encoded only in crops (see ``set_picture``).
        failed(request_id, path, message): reading or encoding failed.
        prefetched(path): an image ahead was encoded into the cache.
    """

    started = Signal(int, str)
    ready = Signal(int, str, object)
    failed = Signal(int, str, str)
    prefetched = Signal(str)

    def __init__(
        self,
        predictor: Predictor,
        model_id: str,
        cache: EmbeddingCache | None = None,
        memory_items: int = 4,
        parent: QObject | None = None,
        images: Callable[[str], SourceImage | None] | None = None,
    ) -> None:
        """``images(path)`` may return an already decoded image (the loader's memory), to
        spare decoding a large file twice; None means read the file."""
        super().__init__(parent)
        self._images = images
        self._warmed = False
        self._predictor = predictor
        self._model_id = model_id
        self._cache = cache
        self._memory: OrderedDict[tuple, ImageEmbedding] = OrderedDict()
        self._memory_items = memory_items
        #: path -> the picture to encode instead of the file's own: another window/level, or
        #: a crop of a huge image (its ``window`` and ``region`` are part of the keys).
        self._pictures: dict[str, SourceImage] = {}
        self._next_id = 0
        self._current: tuple[int, str] | None = None
        self._prefetch: list[str] = []
        self._cond = threading.Condition()
        self._stop = False
        self._busy = False
        self._thread = threading.Thread(target=self._loop, name="samlabel-encoder", daemon=True)
        self._thread.start()

    @property
    def predictor(self) -> Predictor:
        """The model that encodes."""
        return self._predictor

    def request(self, path: str | Path, prefetch: Sequence[str | Path] = ()) -> int:
        """Encode ``path`` next (replacing a waiting request), then the ``prefetch`` images.

        Returns the request number carried by ``ready``/``failed``.
        """
        with self._cond:
            self._next_id += 1
            self._current = (self._next_id, str(path))
            self._prefetch = [str(p) for p in prefetch if str(p) != str(path)]
            self._cond.notify_all()
            return self._next_id

    def cached(self, path: str | Path) -> ImageEmbedding | None:
        """The embedding of ``path`` when it is in memory (GUI thread, instant)."""
        with self._cond:
            return self._memory.get(self._memory_key(str(path)))

    def set_picture(self, path: str | Path, image: SourceImage | None) -> None:
        """Encode ``image`` for ``path`` from now on: the file through another window/level
        (``image.window``) or a crop of a huge image (``image.region``), both part of the
        cache keys. None returns to the file's own picture."""
        with self._cond:
            if image is None:
                self._pictures.pop(str(path), None)
            else:
                self._pictures[str(path)] = image

    def set_window(
        self, path: str | Path, window: Window | None, image: SourceImage | None
    ) -> None:
        """:meth:`set_picture` with ``image`` (made through ``window``); None for either
        returns to the file's own picture."""
        self.set_picture(path, None if window is None else image)

    def _variant_of(self, path: str) -> tuple[tuple[float, float] | None, tuple | None]:
        """``(window, region)`` of the picture chosen for ``path`` (call locked)."""
        chosen = self._pictures.get(path)
        if chosen is None:
            return None, None
        window = None if chosen.window is None else (chosen.window.low, chosen.window.high)
        return window, chosen.region

    def _memory_key(self, path: str) -> tuple:
        """Key of the in-memory embeddings: file version, window and crop (call locked)."""
        return (*_file_key(path), *self._variant_of(path))

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._stop and self._current is None and not self._prefetch:
                    self._cond.wait()
                if self._stop:
                    return
                if self._current is not None:
                    (request_id, path), self._current = self._current, None
                else:
                    request_id, path = -1, self._prefetch.pop(0)
                self._busy = True
            try:
                self._process(request_id, path)
            except Exception as error:  # never let the worker die silently
                log.exception("embedding of %s failed", path)
                if request_id >= 0:
                    self.failed.emit(request_id, path, describe_error(error))
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _remember(self, key: tuple, embedding: ImageEmbedding) -> None:
        with self._cond:
            self._memory[key] = embedding
            self._memory.move_to_end(key)
            while len(self._memory) > self._memory_items:
                self._memory.popitem(last=False)

    def _process(self, request_id: int, path: str) -> None:
        prefetch = request_id < 0
        with self._cond:
            # Keys taken once: a window chosen during the encode is a new request.
            memory_key = self._memory_key(path)
            embedding = self._memory.get(memory_key)
            window, region = self._variant_of(path)
            chosen = self._pictures.get(path)
        if embedding is None and chosen is None and _is_huge(path):
            # A huge image is labelled in crops (samlabel.qt.crop_mode), never on its
            # overview: encoding that would only delay the first crop's encode by as long.
            if not prefetch:
                self.ready.emit(request_id, path, None)
            return
        key = None
        if embedding is None and self._cache is not None:
            try:
                key = EmbeddingKey.for_file(self._model_id, path, window, region)
            except OSError:
                key = None
            if key is not None:
                embedding = self._cache.get(key)
        if embedding is None:
            if not prefetch:
                self.started.emit(request_id, path)
            image = chosen
            if image is None and self._images is not None:
                image = self._images(path)
            if image is None:
                image = read_source_image(path)
            embedding = self._predictor.encode(image.pixels)
            if self._cache is not None and key is not None:
                self._cache.put(key, embedding)
        if prefetch:
            # Prefetched embeddings go to disk; memory holds what the user looked at.
            if self._cache is None:
                self._remember(memory_key, embedding)
            self.prefetched.emit(path)
            return
        self._remember(memory_key, embedding)
        if not self._warmed:
            # The first decode of a backend pays its one-off costs (graph compilation, lazy
            # allocations: seconds for torch). Pay them here, not on the user's first click.
            self._warmed = True
            height, width = embedding.original_size
            self._predictor.decode(embedding, points=[(width / 2, height / 2, 1)])
        self.ready.emit(request_id, path, embedding)

    def wait_until_idle(self, timeout: float = 30.0) -> bool:
        """Block until nothing runs or waits, prefetch included (tests only)."""
        with self._cond:
            return self._cond.wait_for(
                lambda: not self._busy and self._current is None and not self._prefetch,
                timeout=timeout,
            )

    def shutdown(self, timeout: float = 30.0) -> None:
        """Drop waiting work and join the thread (an encode in progress is let finish)."""
        with self._cond:
            self._stop = True
            self._prefetch.clear()
            self._current = None
            self._cond.notify_all()
        self._thread.join(timeout)

    def is_alive(self) -> bool:
        """Whether the thread still runs."""
        return self._thread.is_alive()
