"""How the canvas reacts to the mouse and keys: prompts, boxes, brush strokes, pan, zoom.

A mixin of :class:`samlabel.qt.canvas.ImageCanvas`; what the user did leaves as the canvas's
signals, in image pixels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QKeyEvent, QMouseEvent, QWheelEvent

if TYPE_CHECKING:
    from samlabel.qt.canvas import ImageCanvas

    _Base = ImageCanvas
else:
    _Base = object

#: Mouse travel (screen pixels) that turns a click into a drag.
DRAG_THRESHOLD = 5


class CanvasInput(_Base):
    """Qt input event handlers of :class:`ImageCanvas`."""

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_down = True
            self._space_panned = False
            self.setCursor(Qt.CursorShape.OpenHandCursor)
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_down = False
            self.unsetCursor()
            event.accept()
            if not self._space_panned:
                self.spaceTapped.emit()
            return
        super().keyReleaseEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.zoom_by(1.25**steps, event.position())
        event.accept()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        button = event.button()
        if button == Qt.MouseButton.MiddleButton or (
            button == Qt.MouseButton.LeftButton and self._space_down
        ):
            self._pan_from = event.position()
            self._space_panned = self._space_down
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
            return
        if self._image_size is None:
            return
        self._press = (event.position(), button, event.modifiers())
        if self.tool in ("brush", "eraser") and button == Qt.MouseButton.LeftButton:
            self._stroke = [self.widget_to_image(event.position())]

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        position = event.position()
        self._cursor_pos = position
        if self._image_size is not None:
            self.cursorMoved.emit(*self.widget_to_image(position))
        if self._pan_from is not None:
            delta = position - self._pan_from
            self._pan_from = position
            self.pan_by(delta.x(), delta.y())
            return
        if self._press is not None:
            start, button, _ = self._press
            if self.tool in ("brush", "eraser") and button == Qt.MouseButton.LeftButton:
                self._stroke.append(self.widget_to_image(position))
            elif button == Qt.MouseButton.LeftButton and (
                self._drag_box is not None or (position - start).manhattanLength() > DRAG_THRESHOLD
            ):
                self._drag_box = QRectF(start, position).normalized()
        self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            self._pan_from = None
            if self._space_down:
                self.setCursor(Qt.CursorShape.OpenHandCursor)
            else:
                self.unsetCursor()
            return
        if self._press is None:
            return
        start, button, modifiers = self._press
        self._press = None
        if self.tool in ("brush", "eraser") and button == Qt.MouseButton.LeftButton:
            stroke = np.asarray(self._stroke, dtype=np.float64).reshape(-1, 2)
            self._stroke = []
            self.brushStroke.emit(stroke, float(self.brush_radius), self.tool == "eraser")
            return
        if self._drag_box is not None:
            rect, self._drag_box = self._drag_box, None
            x0, y0 = self.widget_to_image(rect.topLeft())
            x1, y1 = self.widget_to_image(rect.bottomRight())
            height, width = self._image_size or (0, 0)
            x0, x1 = float(np.clip(x0, 0, width)), float(np.clip(x1, 0, width))
            y0, y1 = float(np.clip(y0, 0, height)), float(np.clip(y1, 0, height))
            self.update()
            if x1 - x0 >= 1 and y1 - y0 >= 1:
                self.boxDrawn.emit(x0, y0, x1, y1)
            return
        x, y = self.widget_to_image(start)
        height, width = self._image_size or (0, 0)
        if not (0 <= x < width and 0 <= y < height):
            return
        if button == Qt.MouseButton.LeftButton and modifiers & Qt.KeyboardModifier.ControlModifier:
            key = self.annotation_at(x, y)
            if key is not None:
                self.annotationClicked.emit(key)
            return
        if button == Qt.MouseButton.RightButton:
            self.pointClicked.emit(x, y, 0)
        elif button == Qt.MouseButton.LeftButton:
            exclude = bool(modifiers & Qt.KeyboardModifier.ShiftModifier)
            self.pointClicked.emit(x, y, 0 if exclude else 1)
