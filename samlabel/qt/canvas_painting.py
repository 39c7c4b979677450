"""How the canvas draws: the image from its pyramid, accepted masks, the live mask, prompts.

A mixin of :class:`samlabel.qt.canvas.ImageCanvas` (the state it reads lives there).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPen

from samlabel.qt.overlays import MaskOverlay

if TYPE_CHECKING:
    from samlabel.qt.canvas import ImageCanvas

    _Base = ImageCanvas
else:
    _Base = object

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


class CanvasPainting(_Base):
    """The ``_paint_*`` steps of :meth:`ImageCanvas.paintEvent`, bottom layer first."""

    def _paint_message(self, painter: QPainter) -> None:
        painter.setPen(QColor(200, 200, 205))
        font = painter.font()
        font.setPointSizeF(12)
        painter.setFont(font)
        painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.message)

    def _paint_image(self, painter: QPainter) -> None:
        visible = self.visible_region()
        if visible is None:
            return
        (x0, y0, x1, y1), _ = visible
        # The smallest pyramid level that still has at least one pixel per screen pixel.
        ratio = self.devicePixelRatioF()
        level_scale, picture = self._levels[0]
        for candidate_scale, candidate in self._levels:
            if candidate_scale >= self.scale * ratio:
                level_scale, picture = candidate_scale, candidate
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.scale < 2.0)
        target = QRectF(self.image_to_widget(x0, y0), self.image_to_widget(x1, y1))
        source = QRectF(
            x0 * level_scale, y0 * level_scale, (x1 - x0) * level_scale, (y1 - y0) * level_scale
        )
        painter.drawImage(target, picture, source)

    def _image_transform_painter(self, painter: QPainter) -> None:
        painter.translate(self.offset)
        painter.scale(self.scale, self.scale)

    def _paint_annotations(self, painter: QPainter) -> None:
        painter.save()
        self._image_transform_painter(painter)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.scale < 2.0)
        for view in self._annotations:
            if not view.visible:
                continue
            overlay = view.overlay
            x0, y0, x1, y1 = overlay.rect
            picture = overlay.selected_image if view.selected else overlay.image
            painter.drawImage(QRectF(x0, y0, x1 - x0, y1 - y0), picture)
        painter.restore()

    def _paint_live(self, painter: QPainter) -> None:
        cached = self._live_overlay()
        if cached is None:
            return
        (_, _, region, _), image, _ = cached
        x0, y0, x1, y1 = region
        # The overlay was computed at the screen resolution of this region: no scaling.
        painter.drawImage(QRectF(self.image_to_widget(x0, y0), self.image_to_widget(x1, y1)), image)

    def _paint_prompts(self, painter: QPainter) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        boxes = [self._box] if self._box is not None else []
        if self._drag_box is not None:
            boxes.append(None)
        for box in boxes:
            if box is None:
                rect = self._drag_box
            else:
                rect = QRectF(
                    self.image_to_widget(box[0], box[1]), self.image_to_widget(box[2], box[3])
                )
            pen = QPen(QColor(255, 214, 10), 2.0, Qt.PenStyle.DashLine)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(rect)
        for x, y, label in self._points:
            centre = self.image_to_widget(x, y)
            painter.setPen(QPen(QColor(255, 255, 255), 2.0))
            painter.setBrush(QBrush(INCLUDE_COLOR if label == 1 else EXCLUDE_COLOR))
            painter.drawEllipse(centre, 6.0, 6.0)
            painter.setPen(QPen(QColor(255, 255, 255), 2.0))
            painter.drawLine(centre + QPointF(-3, 0), centre + QPointF(3, 0))
            if label == 1:
                painter.drawLine(centre + QPointF(0, -3), centre + QPointF(0, 3))

    def _paint_cursor(self, painter: QPainter) -> None:
        if self.tool not in ("brush", "eraser") or self._cursor_pos is None:
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        color = QColor(255, 255, 255) if self.tool == "brush" else EXCLUDE_COLOR
        radius = self.brush_radius * self.scale
        if len(self._stroke) > 1:
            # The stroke being dragged, as wide as the brush, until it is applied on release.
            trail = QColor(color)
            trail.setAlpha(90)
            pen = QPen(trail, 2 * radius, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
            pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
            painter.setPen(pen)
            painter.drawPolyline([self.image_to_widget(x, y) for x, y in self._stroke])
        painter.setPen(QPen(color, 1.5))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawEllipse(self._cursor_pos, radius, radius)
