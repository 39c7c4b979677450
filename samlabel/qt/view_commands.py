"""The window's view commands: which image, and how the canvas shows it.

Owned by :class:`samlabel.qt.main_window.MainWindow` as ``window.view``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from samlabel.qt.main_window import MainWindow


class ViewCommands:
    """Navigation and zoom (``window.view``)."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window

    def bindings(self) -> dict[str, Callable[[], None]]:
        """Action name -> command."""
        c, canvas = self.window.controller, self.window.canvas
        return {
            "next_image": c.next_image,
            "previous_image": c.previous_image,
            "next_frame": lambda: c.session.frames.step(1),
            "previous_frame": lambda: c.session.frames.step(-1),
            "fit": canvas.fit,
            "zoom_in": lambda: canvas.zoom_by(1.25),
            "zoom_out": lambda: canvas.zoom_by(0.8),
        }

    def zoom_to_annotation(self, annotation_id: int) -> None:
        """Centre and zoom on one annotation (double click in the layer panel)."""
        x, y, w, h = self.window.controller.document.annotation(annotation_id).bbox
        self.window.canvas.zoom_to_rect(x, y, x + w, y + h)
