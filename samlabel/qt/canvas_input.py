"""How the canvas reacts to the mouse and keys: prompts, boxes, brush strokes, pan, zoom.

:class:`CanvasInput` is a part of :class:`samlabel.qt.canvas.ImageCanvas` (``canvas.input``):
the canvas hands it its input events, and what the user did leaves as the canvas's signals,
in image pixels. It holds the state of a gesture in progress (a press, a box being dragged, a
brush stroke, a pan), which the painter shows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QKeyEvent, QMouseEvent, QWheelEvent

if TYPE_CHECKING:
    from samlabel.qt.canvas import ImageCanvas

#: Mouse travel (screen pixels) that turns a click into a drag.
DRAG_THRESHOLD = 5


class CanvasInput:
    """Input handling of one :class:`ImageCanvas`.

    Attributes:
        drag_box: the box being dragged, in widget pixels, or None.
        stroke: the brush stroke being dragged, ``(x, y)`` image pixels.
        cursor_pos: the mouse position in widget pixels (None before it moved).
    """

    def __init__(self, canvas: ImageCanvas) -> None:
        self.canvas = canvas
        self._press: tuple[QPointF, Qt.MouseButton, Qt.KeyboardModifier] | None = None
        self.drag_box: QRectF | None = None
        self.stroke: list[tuple[float, float]] = []
        self._pan_from: QPointF | None = None
        self._space_down = False
        self._space_panned = False
        self.cursor_pos: QPointF | None = None

    def key_press(self, event: QKeyEvent) -> bool:
        """Space starts a pan (or, released without one, accepts); True when handled."""
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_down = True
            self._space_panned = False
            self.canvas.setCursor(Qt.CursorShape.OpenHandCursor)
            event.accept()
            return True
        return False

    def key_release(self, event: QKeyEvent) -> bool:
        """True when handled."""
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_down = False
            self.canvas.unsetCursor()
            event.accept()
            if not self._space_panned:
                self.canvas.spaceTapped.emit()
            return True
        return False

    def wheel(self, event: QWheelEvent) -> None:
        """Zoom around the cursor."""
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.canvas.zoom_by(1.25**steps, event.position())
        event.accept()

    def mouse_press(self, event: QMouseEvent) -> None:
        """Start a pan, a click, a box or a brush stroke."""
        canvas = self.canvas
        canvas.setFocus(Qt.FocusReason.MouseFocusReason)
        button = event.button()
        if button == Qt.MouseButton.MiddleButton or (
            button == Qt.MouseButton.LeftButton and self._space_down
        ):
            self._pan_from = event.position()
            self._space_panned = self._space_down
            canvas.setCursor(Qt.CursorShape.ClosedHandCursor)
            return
        if canvas.image_size is None:
            return
        self._press = (event.position(), button, event.modifiers())
        if canvas.tool in ("brush", "eraser") and button == Qt.MouseButton.LeftButton:
            self.stroke = [canvas.widget_to_image(event.position())]

    def mouse_move(self, event: QMouseEvent) -> None:
        """Follow a pan, box or stroke; report the cursor."""
        canvas = self.canvas
        position = event.position()
        self.cursor_pos = position
        if canvas.image_size is not None:
            canvas.cursorMoved.emit(*canvas.widget_to_image(position))
        if self._pan_from is not None:
            delta = position - self._pan_from
            self._pan_from = position
            canvas.pan_by(delta.x(), delta.y())
            return
        if self._press is not None:
            start, button, _ = self._press
            if canvas.tool in ("brush", "eraser") and button == Qt.MouseButton.LeftButton:
                self.stroke.append(canvas.widget_to_image(position))
            elif button == Qt.MouseButton.LeftButton and (
                self.drag_box is not None or (position - start).manhattanLength() > DRAG_THRESHOLD
            ):
                self.drag_box = QRectF(start, position).normalized()
        canvas.update()

    def mouse_release(self, event: QMouseEvent) -> None:
        """End the gesture: emit the canvas's signal for it."""
        canvas = self.canvas
        if self._pan_from is not None:
            self._pan_from = None
            if self._space_down:
                canvas.setCursor(Qt.CursorShape.OpenHandCursor)
            else:
                canvas.unsetCursor()
            return
        if self._press is None:
            return
        start, button, modifiers = self._press
        self._press = None
        if canvas.tool in ("brush", "eraser") and button == Qt.MouseButton.LeftButton:
            stroke = np.asarray(self.stroke, dtype=np.float64).reshape(-1, 2)
            self.stroke = []
            canvas.brushStroke.emit(stroke, float(canvas.brush_radius), canvas.tool == "eraser")
            return
        if self.drag_box is not None:
            rect, self.drag_box = self.drag_box, None
            x0, y0 = canvas.widget_to_image(rect.topLeft())
            x1, y1 = canvas.widget_to_image(rect.bottomRight())
            height, width = canvas.image_size or (0, 0)
            x0, x1 = float(np.clip(x0, 0, width)), float(np.clip(x1, 0, width))
            y0, y1 = float(np.clip(y0, 0, height)), float(np.clip(y1, 0, height))
            canvas.update()
            if x1 - x0 >= 1 and y1 - y0 >= 1:
                canvas.boxDrawn.emit(x0, y0, x1, y1)
            return
        x, y = canvas.widget_to_image(start)
        height, width = canvas.image_size or (0, 0)
        if not (0 <= x < width and 0 <= y < height):
            return
        if button == Qt.MouseButton.LeftButton and modifiers & Qt.KeyboardModifier.ControlModifier:
            key = canvas.annotation_at(x, y)
            if key is not None:
                canvas.annotationClicked.emit(key)
            return
        if button == Qt.MouseButton.RightButton:
            canvas.pointClicked.emit(x, y, 0)
        elif button == Qt.MouseButton.LeftButton:
            exclude = bool(modifiers & Qt.KeyboardModifier.ShiftModifier)
            canvas.pointClicked.emit(x, y, 0 if exclude else 1)
