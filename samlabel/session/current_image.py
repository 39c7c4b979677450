"""The current image's picture and embedding: a part of the session, no Qt.

:class:`CurrentImage` holds what is shown and what SAM encodes for the image the session has
open, and moves between its picture states (see :mod:`samlabel.session.picture`):

    ordinary image: ``source.full_size is None``, ``crop is None``.
    huge image's overview: ``source.is_overview``, ``crop is None``; a click opens a crop.
    crop of a huge image: ``crop`` is set exactly when ``source.region`` is; prompts and
        masks are in crop pixels (mapped to the whole image when accepted).

Any of them may be shown through another window/level (``source.window``) when
``source.loaded`` keeps the stored values. The session owns this object and is the only one
that calls its transitions; it tells the session what changed through the callbacks given at
construction (the prompts are cleared on a new picture, decoded again on a new embedding).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from samlabel.core.windowing import Window
from samlabel.inference.api import ImageEmbedding
from samlabel.inference.crops import Crop
from samlabel.session.events import SessionEvents
from samlabel.session.picture import crop_of_overview, picture_to_encode, windowed
from samlabel.session.source import SourceImage
from samlabel.session.work import EncodeRequest, LoadRequest, WorkRunner


class CurrentImage:
    """Picture, pyramid, crop and embedding of the open image.

    Attributes:
        source: the picture shown (and encoded), None until read or when unreadable.
        pyramid: its display pyramid (opaque here; the views draw from it).
        crop: the huge image's crop being labelled, or None.
        embedding: SAM's embedding of the picture, None until computed.
        status: ``"encoding"``, ``"ready"``, ``"failed"`` or ``"none"`` (no model/image).
        encode_started_at: ``time.monotonic()`` when the current encode started.
    """

    def __init__(
        self,
        runner: WorkRunner,
        events: SessionEvents,
        pyramid_of: Callable[[np.ndarray], list],
        on_new_picture: Callable[[], None],
        on_embedding: Callable[[], None],
    ) -> None:
        self._runner = runner
        self._events = events
        self._pyramid_of = pyramid_of
        self._on_new_picture = on_new_picture
        self._on_embedding = on_embedding
        self.path: Path | None = None
        self.source: SourceImage | None = None
        self.pyramid: list = []
        self.crop: Crop | None = None
        self.embedding: ImageEmbedding | None = None
        self.status = "none"
        self.encode_started_at = 0.0
        self._overview: tuple[SourceImage, list] | None = None
        self._picture: SourceImage | None = None  # what SAM encodes; None: the file's own
        self._load_number = 0
        self._encode_number = 0

    def clear(self) -> None:
        """No image (a folder closed or another image coming); answers still on their way
        for the image left are dropped."""
        self._load_number += 1
        self._encode_number += 1
        self.path = None
        self.source, self.pyramid, self.crop = None, [], None
        self._overview = self._picture = None
        self.embedding = None

    def open(self, path: Path) -> None:
        """Make ``path`` the image: its pixels are requested from the runner."""
        self.clear()
        self.path = path
        self._load_number += 1
        self._runner.load(LoadRequest(self._load_number, path))

    # -- pixels --------------------------------------------------------------------------
    def on_loaded(self, number: int, image: SourceImage, pyramid: list) -> None:
        """The runner read request ``number``'s image (and built its display pyramid)."""
        if number != self._load_number:
            return  # an answer for an image the user already left
        self.source, self.pyramid = image, pyramid
        if image.is_overview:
            self._overview = (image, pyramid)
        self._events.image_loaded.emit()

    def on_load_failed(self, number: int, text: str) -> None:
        """The runner could not read request ``number``'s image."""
        if number != self._load_number:
            return
        self.source = None
        self._events.message.emit("error", text)
        self._events.image_loaded.emit()

    # -- embedding -----------------------------------------------------------------------
    def request_embedding(self, has_model: bool, ahead: tuple[Path, ...] = ()) -> None:
        """Ask for the picture's embedding (``ahead``: files to encode into the cache next)."""
        self.embedding = None
        if not has_model or self.path is None:
            self._set_status("none")
            return
        cached = self._runner.cached_embedding(self.path, self._picture)
        self._encode_number += 1
        self._runner.encode(EncodeRequest(self._encode_number, self.path, self._picture, ahead))
        if cached is not None:
            self._use(cached)
        else:
            # The start time first: the view shows the time elapsed when told "encoding".
            self.encode_started_at = time.monotonic()
            self._set_status("encoding")

    def _set_status(self, status: str) -> None:
        self.status = status
        self._events.embedding_state.emit(status)

    def set_no_image_status(self, has_model: bool) -> None:
        """Without an image: ``"ready"`` with a model, ``"none"`` without."""
        self._set_status("ready" if has_model else "none")

    def on_encode_started(self, number: int) -> None:
        """The encoder began request ``number`` (it was not in a cache)."""
        if number == self._encode_number:
            self.encode_started_at = time.monotonic()

    def on_encoded(self, number: int, embedding: ImageEmbedding | None) -> None:
        """Request ``number``'s embedding (None for a huge image's overview, not encoded)."""
        if number != self._encode_number or self.embedding is not None:
            return  # an older picture of this image, or an image the user left
        self._use(embedding)

    def _use(self, embedding: ImageEmbedding | None) -> None:
        self.embedding = embedding
        self._set_status("ready")
        self._on_embedding()

    def on_encode_failed(self, number: int, text: str) -> None:
        """The runner could not compute request ``number``'s embedding."""
        if number != self._encode_number:
            return
        self._set_status("failed")
        name = self.path.name if self.path is not None else "the image"
        self._events.message.emit("error", f"Could not compute the embedding of {name}: {text}")

    # -- huge images ---------------------------------------------------------------------
    def crop_at(self, x: float, y: float, side: int) -> tuple[float, float] | None:
        """Show the ``side`` px crop around overview point ``(x, y)``; returns the point in
        crop pixels, None when not on an overview. Raises SamlabelError when unreadable."""
        if self._overview is None or self.source is None or not self.source.is_overview:
            return None
        source, crop, point = crop_of_overview(self._overview[0], x, y, side)
        self._show(source, self._pyramid_of(source.display), crop)
        return point

    def back_to_overview(self) -> bool:
        """Show the overview again; False when no crop was shown."""
        if self._overview is None or self.crop is None:
            return False
        self._show(*self._overview, crop=None)
        return True

    def _show(self, source: SourceImage, pyramid: list, crop: Crop | None) -> None:
        self._on_new_picture()
        self.source, self.pyramid, self.crop = source, pyramid, crop
        self._picture = source if crop is not None else None
        self._events.image_loaded.emit()  # views show the new picture, fitted

    # -- window/level --------------------------------------------------------------------
    def show_window(self, window: Window) -> bool:
        """Show the picture through ``window`` (``pixels_changed``); SAM keeps its embedding
        until :meth:`encode_window`. False when nothing changed."""
        source = self.source
        if source is None or source.loaded is None or source.window == window:
            return False
        self.source = windowed(source, window)
        self.pyramid = self._pyramid_of(self.source.display)
        self._events.pixels_changed.emit()  # also redraw what shows the picture's pixels
        return True

    def encode_window(self) -> bool:
        """Encode the picture as shown now from the next :meth:`request_embedding` on; False
        when it is not encoded (no window chosen, a huge image's overview)."""
        source = self.source
        if source is None or source.window is None or source.is_overview:
            return False
        if source.path != self.path:
            return False
        self._picture = picture_to_encode(source)
        return True
