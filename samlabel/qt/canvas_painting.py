"""How the canvas draws: the image from its pyramid, accepted masks, the live mask, prompts.

:class:`CanvasPainter` is a part of :class:`samlabel.qt.canvas.ImageCanvas`: it reads what
the canvas was given (pictures ready to draw) and its view, and paints; it computes nothing
from a model's output.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPen

from samlabel.qt.overlays import MaskOverlay

if TYPE_CHECKING:
    from samlabel.qt.canvas import ImageCanvas

INCLUDE_COLOR = QColor(46, 204, 113)
EXCLUDE_COLOR = QColor(231, 76, 60)
LIVE_COLOR = QColor(64, 156, 255)
BACKGROUND = QColor(30, 31, 34)


@dataclass
class AnnotationView:
    """One accepted mask as the canvas shows it."""

    key: int
    overlay: MaskOverlay
    color: QColor
    visible: bool = True
    selected: bool = False


class CanvasPainter:
    """Paints one :class:`ImageCanvas`, bottom layer first (:meth:`paint`)."""

    def __init__(self, canvas: ImageCanvas) -> None:
        self.canvas = canvas

    def paint(self, painter: QPainter) -> None:
        """The whole canvas: background, image, accepted masks, live mask, prompts, cursor."""
        canvas = self.canvas
        painter.fillRect(canvas.rect(), BACKGROUND)
        if canvas.image_size is None:
            self._paint_message(painter)
            return
        self._paint_image(painter)
        self._paint_annotations(painter)
        self._paint_live(painter)
        self._paint_prompts(painter)
        self._paint_cursor(painter)
        if canvas.message:
            self._paint_message(painter)

    def _paint_message(self, painter: QPainter) -> None:
        painter.setPen(QColor(200, 200, 205))
        font = painter.font()
        font.setPointSizeF(12)
        painter.setFont(font)
        painter.drawText(self.canvas.rect(), Qt.AlignmentFlag.AlignCenter, self.canvas.message)

    def _paint_image(self, painter: QPainter) -> None:
        visible = self.canvas.visible_region()
        if visible is None:
            return
        (x0, y0, x1, y1), _ = visible
        # The smallest pyramid level that still has at least one pixel per screen pixel.
        ratio = self.canvas.devicePixelRatioF()
        levels = self.canvas.levels
        level_scale, picture = levels[0]
        for candidate_scale, candidate in levels:
            if candidate_scale >= self.canvas.scale * ratio:
                level_scale, picture = candidate_scale, candidate
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.canvas.scale < 2.0)
        target = QRectF(self.canvas.image_to_widget(x0, y0), self.canvas.image_to_widget(x1, y1))
        source = QRectF(
            x0 * level_scale, y0 * level_scale, (x1 - x0) * level_scale, (y1 - y0) * level_scale
        )
        painter.drawImage(target, picture, source)

    def _image_transform_painter(self, painter: QPainter) -> None:
        painter.translate(self.canvas.offset)
        painter.scale(self.canvas.scale, self.canvas.scale)

    def _paint_annotations(self, painter: QPainter) -> None:
        painter.save()
        self._image_transform_painter(painter)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.canvas.scale < 2.0)
        for view in self.canvas.annotations:
            if not view.visible:
                continue
            overlay = view.overlay
            x0, y0, x1, y1 = overlay.rect
            picture = overlay.selected_image if view.selected else overlay.image
            painter.drawImage(QRectF(x0, y0, x1 - x0, y1 - y0), picture)
        painter.restore()

    def _paint_live(self, painter: QPainter) -> None:
        live = self.canvas.live_mask
        if live is None:
            return
        x0, y0, x1, y1 = live.region
        # Made at the screen resolution of this region: drawn without scaling.
        target = QRectF(self.canvas.image_to_widget(x0, y0), self.canvas.image_to_widget(x1, y1))
        painter.drawImage(target, live.image)

    def _paint_prompts(self, painter: QPainter) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        points, box = self.canvas.prompt_markers
        drag_box = self.canvas.input.drag_box
        boxes = [box] if box is not None else []
        if drag_box is not None:
            boxes.append(None)
        for box in boxes:
            if box is None:
                rect = drag_box
            else:
                to_widget = self.canvas.image_to_widget
                rect = QRectF(to_widget(box[0], box[1]), to_widget(box[2], box[3]))
            pen = QPen(QColor(255, 214, 10), 2.0, Qt.PenStyle.DashLine)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(rect)
        for x, y, label in points:
            centre = self.canvas.image_to_widget(x, y)
            painter.setPen(QPen(QColor(255, 255, 255), 2.0))
            painter.setBrush(QBrush(INCLUDE_COLOR if label == 1 else EXCLUDE_COLOR))
            painter.drawEllipse(centre, 6.0, 6.0)
            painter.setPen(QPen(QColor(255, 255, 255), 2.0))
            painter.drawLine(centre + QPointF(-3, 0), centre + QPointF(3, 0))
            if label == 1:
                painter.drawLine(centre + QPointF(0, -3), centre + QPointF(0, 3))

    def _paint_cursor(self, painter: QPainter) -> None:
        canvas, cursor = self.canvas, self.canvas.input.cursor_pos
        stroke = self.canvas.input.stroke
        if canvas.tool not in ("brush", "eraser") or cursor is None:
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        color = QColor(255, 255, 255) if canvas.tool == "brush" else EXCLUDE_COLOR
        radius = canvas.brush_radius * canvas.scale
        if len(stroke) > 1:
            # The stroke being dragged, as wide as the brush, until it is applied on release.
            trail = QColor(color)
            trail.setAlpha(90)
            pen = QPen(trail, 2 * radius, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
            pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
            painter.setPen(pen)
            painter.drawPolyline([canvas.image_to_widget(x, y) for x, y in stroke])
        painter.setPen(QPen(color, 1.5))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawEllipse(cursor, radius, radius)
