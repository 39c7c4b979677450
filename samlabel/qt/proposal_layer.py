"""The proposals' own layer on the canvas: dashed outlines, the highlighted one thicker.

A transparent child of the canvas that paints over it (and lets the mouse through), so
proposals are never drawn with, or mistaken for, accepted annotations. Each proposal's
outline is traced once (OpenCV contours of its mask, in image pixels) and drawn through the
canvas's view transform, so zooming and panning cost nothing.
"""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QWidget

from samlabel.session.proposals import Proposal

OUTLINE = QColor(255, 214, 0)
HIGHLIGHT = QColor(255, 255, 255)


def outline_path(proposal: Proposal) -> QPainterPath:
    """The outline of ``proposal``'s mask in image pixels (pixel corners at integers)."""
    mask = proposal.rle.decode().astype(np.uint8)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    path = QPainterPath()
    for contour in contours:
        points = [QPointF(float(x) + 0.5, float(y) + 0.5) for x, y in contour[:, 0, :]]
        if len(points) > 1:
            path.addPolygon(QPolygonF([*points, points[0]]))
    return path


class ProposalLayer(QWidget):
    """Draws the visible proposals over ``canvas`` (see the module docstring)."""

    def __init__(self, canvas: QWidget) -> None:
        super().__init__(canvas)
        self.setObjectName("proposalLayer")
        self.canvas = canvas
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self._paths: dict[int, QPainterPath] = {}  # by id() of the proposal, while shown
        self._shown: list[Proposal] = []
        self.current = -1
        canvas.viewChanged.connect(self.update)
        self.setGeometry(canvas.rect())
        canvas.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:
        if watched is self.canvas and event.type() == event.Type.Resize:
            self.setGeometry(self.canvas.rect())
        return False

    @property
    def shown(self) -> list[Proposal]:
        """The proposals drawn, best first."""
        return list(self._shown)

    def show_proposals(self, proposals: list[Proposal], current: int) -> None:
        """Draw ``proposals`` with ``current`` (an index, or -1) highlighted."""
        keep = {id(p) for p in proposals}
        self._paths = {k: v for k, v in self._paths.items() if k in keep}
        for proposal in proposals:
            if id(proposal) not in self._paths:
                self._paths[id(proposal)] = outline_path(proposal)
        self._shown, self.current = list(proposals), current
        self.setVisible(bool(proposals))
        self.raise_()
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        if not self._shown:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.translate(self.canvas.offset)
        painter.scale(self.canvas.scale, self.canvas.scale)
        pen = QPen(OUTLINE, 1.5, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)  # the same width at every zoom
        painter.setPen(pen)
        for index, proposal in enumerate(self._shown):
            if index != self.current:
                painter.drawPath(self._paths[id(proposal)])
        if 0 <= self.current < len(self._shown):
            pen = QPen(HIGHLIGHT, 3.0)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.drawPath(self._paths[id(self._shown[self.current])])
        painter.end()
