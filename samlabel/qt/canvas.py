"""The image canvas: shows the image, the live mask, accepted masks and prompts; takes clicks.

The canvas knows nothing of models or documents. It shows what it is given and reports what
the user did as signals in original image pixels (x right, y down, the top-left corner of the
top-left pixel at (0, 0)):

- ``pointClicked(x, y, label)``: left click = include (1); right click or Shift+left = exclude (0)
- ``boxDrawn(x0, y0, x1, y1)``: left drag in the prompt tool
- ``brushStroke(points, radius, erase)``: brush/eraser drag; points ``(N, 2)`` float image pixels
- ``annotationClicked(key)``: Ctrl+left click on an accepted mask

View: ``scale`` screen pixels per image pixel and ``offset``, the screen position of image
(0, 0). Wheel or +/- zoom around the cursor; middle drag or Space+drag pans.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import (
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QWidget

from samlabel.qt.canvas_input import CanvasInput
from samlabel.qt.canvas_painting import AnnotationView, CanvasPainter
from samlabel.qt.overlays import PyramidLevel, image_pyramid

__all__ = ["AnnotationView", "ImageCanvas", "LiveMaskImage"]

MIN_SCALE, MAX_SCALE = 1 / 64, 64.0


@dataclass(frozen=True)
class LiveMaskImage:
    """The live mask ready to draw (made by :class:`samlabel.qt.live_mask.LiveMaskFeed`).

    Attributes:
        image: the outlined mask at screen resolution (device pixels), to draw over ``region``.
        mask: ``(h, w)`` bool, the same pixels (what tests compare).
        region: ``(x0, y0, x1, y1)`` in image pixels that ``image`` covers.
    """

    image: QImage
    mask: np.ndarray
    region: tuple[float, float, float, float]


class ImageCanvas(QWidget):
    """Zoomable, pannable view of one image with mask overlays and prompt markers.

    Its parts: :class:`~samlabel.qt.canvas_input.CanvasInput` (``self.input``) turns mouse and
    keys into the signals; :class:`~samlabel.qt.canvas_painting.CanvasPainter` draws.
    """

    pointClicked = Signal(float, float, int)
    boxDrawn = Signal(float, float, float, float)
    brushStroke = Signal(object, float, bool)
    annotationClicked = Signal(int)
    spaceTapped = Signal()  # Space pressed and released without panning: "accept"
    cursorMoved = Signal(float, float)  # image coordinates under the mouse
    viewChanged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMinimumSize(320, 240)
        self._levels: list[PyramidLevel] = []
        self._image_size: tuple[int, int] | None = None  # (H, W)
        self.scale = 1.0
        self.offset = QPointF(0.0, 0.0)
        self._fit_pending = True
        self._live: LiveMaskImage | None = None
        self._points: tuple[tuple[float, float, int], ...] = ()
        self._box: tuple[float, float, float, float] | None = None
        self._annotations: list[AnnotationView] = []
        self.tool = "prompt"  # "prompt" | "brush" | "eraser"
        self.brush_radius = 12.0  # image pixels
        self.message = ""
        self._placeholder: QWidget | None = None
        self.input = CanvasInput(self)
        self._painter = CanvasPainter(self)

    # -- content -------------------------------------------------------------------------
    def set_image(self, rgb: np.ndarray | None, levels: list[PyramidLevel] | None = None) -> None:
        """Show ``(H, W, 3)`` uint8 RGB (None clears); the view fits on the next paint.

        ``levels`` is the image's pyramid when a worker already built it (see
        :func:`samlabel.qt.overlays.image_pyramid`); otherwise it is built here.
        """
        if rgb is None:
            self._levels = []
        else:
            self._levels = levels if levels is not None else image_pyramid(rgb)
        self._image_size = (int(rgb.shape[0]), int(rgb.shape[1])) if rgb is not None else None
        self._live = None
        self._points, self._box = (), None
        self._annotations = []
        self._fit_pending = True
        self._place_placeholder()
        self.update()

    def replace_pixels(self, rgb: np.ndarray, levels: list[PyramidLevel] | None = None) -> None:
        """Show new ``(H, W, 3)`` uint8 pixels of the same image (e.g. another window/level),
        keeping the view, the prompts and the masks; a different size falls back to
        :meth:`set_image`."""
        if self._image_size != (int(rgb.shape[0]), int(rgb.shape[1])):
            self.set_image(rgb, levels)
            return
        self._levels = levels if levels is not None else image_pyramid(rgb)
        self.update()

    @property
    def image_size(self) -> tuple[int, int] | None:
        """``(H, W)`` of the image shown, or None."""
        return self._image_size

    def set_live_mask(self, live: LiveMaskImage | None) -> None:
        """The live mask to draw over its region (None hides it)."""
        self._live = live
        self.update()

    def set_prompts(
        self,
        points: tuple[tuple[float, float, int], ...],
        box: tuple[float, float, float, float] | None,
    ) -> None:
        """Markers for the prompt points ``(x, y, label)`` and box ``(x0, y0, x1, y1)``."""
        self._points, self._box = tuple(points), box
        self.update()

    def set_annotations(self, annotations: list[AnnotationView]) -> None:
        """The accepted masks to draw, bottom first."""
        self._annotations = list(annotations)
        self.update()

    def set_placeholder(self, widget: QWidget) -> None:
        """A widget (e.g. an "Open folder…" button) shown below the message while no image
        is shown."""
        widget.setParent(self)
        self._placeholder = widget
        self._place_placeholder()

    def _place_placeholder(self) -> None:
        widget = self._placeholder
        if widget is None:
            return
        widget.adjustSize()
        widget.move((self.width() - widget.width()) // 2, self.height() // 2 + 40)
        widget.setVisible(self._image_size is None)

    def set_message(self, text: str) -> None:
        """A line drawn in the middle of an empty canvas."""
        self.message = text
        self.update()

    # -- view --------------------------------------------------------------------------
    def image_to_widget(self, x: float, y: float) -> QPointF:
        """Widget position of image point ``(x, y)``."""
        return QPointF(self.offset.x() + x * self.scale, self.offset.y() + y * self.scale)

    def widget_to_image(self, point: QPointF) -> tuple[float, float]:
        """Image coordinates ``(x, y)`` of widget position ``point``."""
        return (
            (point.x() - self.offset.x()) / self.scale,
            (point.y() - self.offset.y()) / self.scale,
        )

    def fit(self) -> None:
        """Scale the image to fill the widget, centred."""
        self._fit_pending = False
        if self._image_size is None or self.width() < 2 or self.height() < 2:
            return
        height, width = self._image_size
        margin = 8
        self.scale = min((self.width() - 2 * margin) / width, (self.height() - 2 * margin) / height)
        self.scale = float(np.clip(self.scale, MIN_SCALE, MAX_SCALE))
        self.offset = QPointF(
            (self.width() - width * self.scale) / 2, (self.height() - height * self.scale) / 2
        )
        self._view_changed()

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        """Zoom by ``factor`` keeping the image point under ``anchor`` (default: centre)."""
        if self._image_size is None:
            return
        anchor = anchor if anchor is not None else QPointF(self.width() / 2, self.height() / 2)
        image_x, image_y = self.widget_to_image(anchor)
        self.scale = float(np.clip(self.scale * factor, MIN_SCALE, MAX_SCALE))
        self.offset = QPointF(anchor.x() - image_x * self.scale, anchor.y() - image_y * self.scale)
        self._view_changed()

    def zoom_to_rect(self, x0: float, y0: float, x1: float, y1: float) -> None:
        """Show image rectangle ``(x0, y0, x1, y1)`` with some room around it."""
        if self._image_size is None:
            return
        width, height = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
        self.scale = float(
            np.clip(
                min(self.width() / (width * 1.6), self.height() / (height * 1.6)),
                MIN_SCALE,
                MAX_SCALE,
            )
        )
        centre_x, centre_y = (x0 + x1) / 2, (y0 + y1) / 2
        self.offset = QPointF(
            self.width() / 2 - centre_x * self.scale, self.height() / 2 - centre_y * self.scale
        )
        self._fit_pending = False
        self._view_changed()

    def pan_by(self, dx: float, dy: float) -> None:
        """Move the image by ``(dx, dy)`` screen pixels."""
        self.offset = QPointF(self.offset.x() + dx, self.offset.y() + dy)
        self._view_changed()

    def _view_changed(self) -> None:
        self.update()
        self.viewChanged.emit()

    def visible_region(self) -> tuple[tuple[float, float, float, float], tuple[int, int]] | None:
        """The part of the image on screen: ``((x0, y0, x1, y1), (h, w))`` in image pixels and
        device pixels, or None when the image is not visible."""
        if self._image_size is None:
            return None
        height, width = self._image_size
        x0, y0 = self.widget_to_image(QPointF(0, 0))
        x1, y1 = self.widget_to_image(QPointF(self.width(), self.height()))
        x0, y0 = max(0.0, np.floor(x0)), max(0.0, np.floor(y0))
        x1, y1 = min(float(width), np.ceil(x1)), min(float(height), np.ceil(y1))
        if x1 <= x0 or y1 <= y0:
            return None
        ratio = self.devicePixelRatioF()
        view_w = max(1, round((x1 - x0) * self.scale * ratio))
        view_h = max(1, round((y1 - y0) * self.scale * ratio))
        return (float(x0), float(y0), float(x1), float(y1)), (int(view_h), int(view_w))

    def live_mask_view(self) -> tuple[np.ndarray, tuple[float, float, float, float]] | None:
        """The live mask exactly as drawn: ``(h, w)`` bool at screen resolution and the image
        region ``(x0, y0, x1, y1)`` it covers; None when no mask is shown."""
        if self._live is None:
            return None
        return self._live.mask, self._live.region

    @property
    def live_mask(self) -> LiveMaskImage | None:
        """The live mask being drawn, or None."""
        return self._live

    @property
    def annotations(self) -> list[AnnotationView]:
        """The accepted masks being drawn, bottom first."""
        return self._annotations

    @property
    def prompt_markers(self) -> tuple[tuple, tuple | None]:
        """``(points, box)`` being drawn."""
        return self._points, self._box

    @property
    def levels(self) -> list[PyramidLevel]:
        """The image's pyramid being drawn."""
        return self._levels

    # -- painting ----------------------------------------------------------------------
    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place_placeholder()
        if self._fit_pending:
            self.fit()
        else:
            self.viewChanged.emit()  # another part of the image is visible

    def paintEvent(self, event: QPaintEvent) -> None:
        if self._fit_pending and self._image_size is not None:
            self.fit()
        painter = QPainter(self)
        self._painter.paint(painter)
        painter.end()

    # -- input: the handler decides; unhandled events go to QWidget ----------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:
        if not self.input.key_press(event):
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if not self.input.key_release(event):
            super().keyReleaseEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:
        self.input.wheel(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.input.mouse_press(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        self.input.mouse_move(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self.input.mouse_release(event)

    def annotation_at(self, x: float, y: float) -> int | None:
        """Key of the topmost visible annotation covering image point ``(x, y)``."""
        for view in reversed(self._annotations):
            if view.visible and view.overlay.covers(x, y):
                return view.key
        return None
