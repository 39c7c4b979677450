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

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QImage,
    QPainter,
    QPaintEvent,
    QResizeEvent,
)
from PySide6.QtWidgets import QWidget

from samlabel.inference.api import Prediction
from samlabel.qt.canvas_input import CanvasInput
from samlabel.qt.canvas_painting import (
    BACKGROUND,
    LIVE_COLOR,
    AnnotationView,
    CanvasPainting,
)
from samlabel.qt.overlays import (
    PyramidLevel,
    image_pyramid,
    outlined_mask_image,
)

__all__ = ["AnnotationView", "ImageCanvas"]

MIN_SCALE, MAX_SCALE = 1 / 64, 64.0


class ImageCanvas(CanvasInput, CanvasPainting, QWidget):
    """Zoomable, pannable view of one image with mask overlays and prompt markers."""

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
        self._prediction: Prediction | None = None
        self._live_index = 0
        self._live_color = LIVE_COLOR
        self._live_cache: tuple[tuple, QImage, list] | None = None
        self._points: tuple[tuple[float, float, int], ...] = ()
        self._box: tuple[float, float, float, float] | None = None
        self._annotations: list[AnnotationView] = []
        self.tool = "prompt"  # "prompt" | "brush" | "eraser"
        self.brush_radius = 12.0  # image pixels
        self.message = ""
        self._press: tuple[QPointF, Qt.MouseButton, Qt.KeyboardModifier] | None = None
        self._drag_box: QRectF | None = None
        self._stroke: list[tuple[float, float]] = []
        self._pan_from: QPointF | None = None
        self._space_down = False
        self._space_panned = False
        self._cursor_pos: QPointF | None = None
        self._placeholder: QWidget | None = None

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
        self._prediction = None
        self._live_cache = None
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

    def set_live_prediction(
        self, prediction: Prediction | None, index: int = 0, color: QColor | None = None
    ) -> None:
        """Show candidate ``index`` of ``prediction`` as the live mask (None hides it)."""
        self._prediction = prediction
        self._live_index = index
        if color is not None:
            self._live_color = QColor(color)
        self._live_cache = None
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
        self._live_cache = None
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
        cached = self._live_overlay()
        if cached is None:
            return None
        key, _, _ = cached
        return self._live_mask, key[2]

    def _live_overlay(self) -> tuple[tuple, QImage, list] | None:
        if self._prediction is None:
            return None
        visible = self.visible_region()
        if visible is None:
            return None
        region, view_size = visible
        key = (id(self._prediction), self._live_index, region, view_size)
        if self._live_cache is not None and self._live_cache[0] == key:
            return self._live_cache
        logits = self._prediction.mask_logits_for_view(self._live_index, view_size, region)
        self._live_mask = logits > 0.0
        image = outlined_mask_image(self._live_mask, self._live_color, 135)
        image.setDevicePixelRatio(self.devicePixelRatioF())
        self._live_cache = (key, image, [])
        return self._live_cache

    # -- painting ----------------------------------------------------------------------
    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place_placeholder()
        if self._fit_pending:
            self.fit()
        self._live_cache = None

    def paintEvent(self, event: QPaintEvent) -> None:
        if self._fit_pending and self._image_size is not None:
            self.fit()
        painter = QPainter(self)
        painter.fillRect(self.rect(), BACKGROUND)
        if self._image_size is None:
            self._paint_message(painter)
            painter.end()
            return
        self._paint_image(painter)
        self._paint_annotations(painter)
        self._paint_live(painter)
        self._paint_prompts(painter)
        self._paint_cursor(painter)
        if self.message:
            self._paint_message(painter)
        painter.end()

    def annotation_at(self, x: float, y: float) -> int | None:
        """Key of the topmost visible annotation covering image point ``(x, y)``."""
        for view in reversed(self._annotations):
            if view.visible and view.overlay.covers(x, y):
                return view.key
        return None
