"""The window's category commands: add, recolour and choose the current category.

Owned by :class:`samlabel.qt.main_window.MainWindow` as ``window.categories``. A category's
colour is remembered per name in the settings, so "car" keeps its colour across folders.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtGui import QColor
from PySide6.QtWidgets import QColorDialog, QInputDialog

if TYPE_CHECKING:
    from samlabel.qt.main_window import MainWindow


class CategoryCommands:
    """Categories of the window (``window.categories``)."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window

    def bindings(self) -> dict[str, Callable[[], None]]:
        """Action name -> command: Ctrl+1…9 choose the n-th category."""
        choose = self.window.controller.choose_category_number
        return {f"category_{n}": (lambda n=n: choose(n)) for n in range(1, 10)}

    def ask_new_category(self) -> None:
        """Ask for a name, then add it (see :meth:`add_category`)."""
        name, ok = QInputDialog.getText(self.window, "New category", "Name:")
        if ok and name.strip():
            self.add_category(name.strip())

    def add_category(self, name: str) -> None:
        """Add a category and make it current (with the colour this name had before, if any)."""
        w = self.window
        try:
            w.controller.add_category(name, w.settings.category_color(name))
        except ValueError as error:
            w.show_message("warning", str(error))

    def ask_category_colour(self, category_id: int) -> None:
        """Ask for a colour, then use it (see :meth:`recolour_category`)."""
        w = self.window
        category = w.controller.document.category(category_id)
        color = QColorDialog.getColor(QColor(category.color), w, f"Colour of {category.name}")
        if color.isValid():
            self.recolour_category(category_id, color.name())

    def recolour_category(self, category_id: int, color: str) -> None:
        """Give a category a new colour (``"#rrggbb"``, remembered for this name)."""
        document = self.window.controller.document
        document.recolour_category(category_id, color)
        self.window.settings.set_category_color(document.category(category_id).name, color)

    def box_chosen(self, row: int) -> None:
        """The toolbar's category chooser picked ``row``."""
        c = self.window.controller
        if row >= 0:
            c.set_current_category(c.categories.category(row).id)
