"""Keeps the canvas's drawings of accepted masks in step with the document.

Decoding an RLE mask and tracing its outline costs milliseconds to tens of milliseconds on a
12 MP image, so each annotation is prepared once and reused until its record, its category's
colour or whether it is reviewed changes (a mask nobody has confirmed, propagated or added by
``samlabel auto``, is drawn dashed and hatched until R). Only the current image's annotations
are kept. Opening an image with many annotations prepares them in slices of
:data:`SLICE_SECONDS` between events, so the window stays responsive while they appear.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer
from PySide6.QtGui import QColor

from samlabel.core.model import Annotation
from samlabel.qt.canvas import AnnotationView, ImageCanvas
from samlabel.qt.controller import LabelController
from samlabel.qt.overlays import MaskOverlay, build_mask_overlay
from samlabel.qt.picture_masks import mask_in_picture
from samlabel.session.review import is_unreviewed

#: Longest stretch of overlay preparation between two rounds of event processing.
SLICE_SECONDS = 0.03


class LayerOverlays:
    """Builds :class:`AnnotationView` lists for the canvas from the controller's document."""

    def __init__(self, controller: LabelController, canvas: ImageCanvas) -> None:
        self.controller = controller
        self.canvas = canvas
        #: annotation id -> (the record, its colour, reviewed, the overlay made from them)
        self._cache: dict[int, tuple[Annotation, str, bool, MaskOverlay]] = {}
        #: The picture the cache was prepared for: another crop of the same image needs others.
        self._frame: tuple | None = None
        self._more = QTimer(canvas)
        self._more.setSingleShot(True)
        self._more.setInterval(0)
        self._more.timeout.connect(self.refresh)
        controller.layers.dataChanged.connect(lambda *_: self.refresh())

    @property
    def complete(self) -> bool:
        """Whether every annotation of the current image is drawn (none waits its slice)."""
        return not self._more.isActive()

    def clear(self) -> None:
        """Forget all prepared overlays (another image is current)."""
        self._cache.clear()
        self._more.stop()

    def refresh(self) -> None:
        """Give the canvas the current image's annotations, in drawing order."""
        c = self.controller
        image_id = c.image_id
        if image_id is None or c.source is None or self.canvas.image_size is None:
            self.canvas.set_annotations([])
            return
        frame = (c.source.path, c.source.region, c.source.size)
        if frame != self._frame:
            self.clear()
            self._frame = frame
        document = c.document
        views = []
        alive = set()
        started = time.perf_counter()
        unfinished = False
        for annotation in document.annotations_for_image(image_id):
            alive.add(annotation.id)
            color = document.category(annotation.category_id).color
            reviewed = not is_unreviewed(annotation)
            cached = self._cache.get(annotation.id)
            if cached is None or cached[0] is not annotation or cached[1:3] != (color, reviewed):
                if time.perf_counter() - started > SLICE_SECONDS:
                    unfinished = True  # the rest in the next slice
                    continue
                # In the picture's frame: a huge image's overview or crop gets only the part
                # it shows; a record of another size than the file is not drawn.
                mask = mask_in_picture(annotation.rle, c.source)
                if mask is None or mask.shape != self.canvas.image_size:
                    continue
                overlay = build_mask_overlay(mask, QColor(color), reviewed=reviewed)
                cached = (annotation, color, reviewed, overlay)
                self._cache[annotation.id] = cached
            views.append(
                AnnotationView(
                    key=annotation.id,
                    overlay=cached[3],
                    color=QColor(color),
                    visible=c.layers.is_visible(annotation.id),
                    selected=annotation.id == c.selected_annotation,
                )
            )
        for stale in set(self._cache) - alive:
            del self._cache[stale]
        self.canvas.set_annotations(views)
        if unfinished:
            self._more.start()
