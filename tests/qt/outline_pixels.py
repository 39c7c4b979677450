"""Reading a drawn mask's outline back from the canvas's pixels (a grab of the widget)."""

from __future__ import annotations

from PySide6.QtGui import QColor, QImage

from samlabel.qt.canvas import ImageCanvas


def top_edge(canvas: ImageCanvas, row: int, columns: range, colors: list[QColor]) -> list[bool]:
    """Per image pixel ``(x, row)`` for ``x`` in ``columns``: whether the grabbed canvas shows
    one of ``colors`` (the opaque outline colours) at that pixel's centre."""
    shot: QImage = canvas.grab().toImage()
    wanted = {c.rgb() for c in colors}
    return [
        shot.pixelColor(canvas.image_to_widget(x + 0.5, row + 0.5).toPoint()).rgb() in wanted
        for x in columns
    ]


def gaps(on_line: list[bool]) -> int:
    """How many runs of pixels off the outline interrupt it (0 for a solid line)."""
    inner = on_line[1:-1]  # the corners are outline pixels of the other edge as well
    return sum(1 for i, off in enumerate(inner) if not off and (i == 0 or inner[i - 1]))
