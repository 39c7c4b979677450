"""A thin strip under the frame slider: one cell per frame of the stack, coloured by what the
frame holds (nothing, masks a person reviewed, or propagated masks nobody looked at yet).

Drawn from a plain list of states the window computes from the document; the cell of the
frame shown is outlined.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QWidget

#: Cell colour of each state.
COLOURS = {
    "none": QColor(70, 74, 80),
    "reviewed": QColor(76, 175, 80),
    "unreviewed": QColor(255, 167, 38),
}


class FrameReviewStrip(QWidget):
    """``states[k]`` is ``"none"``, ``"reviewed"`` or ``"unreviewed"`` for frame ``k``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("frameReviewStrip")
        self.setFixedHeight(6)
        self.states: list[str] = []
        self.current = -1
        self.setToolTip(
            "Frames: green reviewed, orange propagated and unreviewed "
            "(dashed on the canvas; R confirms)"
        )

    def set_states(self, states: list[str], current: int) -> None:
        """Show ``states`` with frame ``current`` outlined."""
        if states != self.states or current != self.current:
            self.states, self.current = list(states), current
            self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        if not self.states:
            return
        painter = QPainter(self)
        width = self.width() / len(self.states)
        for index, state in enumerate(self.states):
            painter.fillRect(QRectF(index * width, 0, width, self.height()), COLOURS[state])
        if 0 <= self.current < len(self.states):
            painter.setPen(QPen(Qt.GlobalColor.white, 1))
            painter.drawRect(QRectF(self.current * width, 0, max(width - 1, 1), self.height() - 1))
        painter.end()
