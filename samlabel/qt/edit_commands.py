"""The window's editing commands: undo, accept, candidates, deletion, tools and brush size.

Owned by :class:`samlabel.qt.main_window.MainWindow` as ``window.edits``; each command asks
the controller to do it or sets a tool on the canvas. :meth:`EditCommands.bindings` binds the
action names of :mod:`samlabel.qt.actions` to these methods.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from samlabel.qt.main_window import MainWindow

#: The canvas tools: prompts (clicks and boxes), brush and eraser on the selected mask.
TOOLS = ("prompt", "brush", "eraser")


class EditCommands:
    """Editing and tools of the window (``window.edits``)."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window

    def bindings(self) -> dict[str, Callable[[], None]]:
        """Action name -> command."""
        c = self.window.controller
        return {
            "undo": c.undo,
            "redo": c.redo,
            "accept": self.accept_mask,
            "discard": c.discard_prompts,
            "candidate_1": lambda: c.choose_candidate(0),
            "candidate_2": lambda: c.choose_candidate(1),
            "candidate_3": lambda: c.choose_candidate(2),
            "next_candidate": c.next_candidate,
            "delete_annotation": self.delete_selected,
            "mark_done": c.toggle_done,
            "tool_prompt": lambda: self.set_tool("prompt"),
            "tool_brush": lambda: self.set_tool("brush"),
            "tool_eraser": lambda: self.set_tool("eraser"),
            "brush_bigger": self.brush_bigger,
            "brush_smaller": self.brush_smaller,
        }

    def accept_mask(self) -> None:
        """Accept the selected candidate under the current category (Enter, Space).

        Without any category the controller makes a default one; the user is told so, with a
        button to rename it, instead of finding an "object" category later.
        """
        w = self.window
        c = w.controller
        had_categories = bool(c.document.categories)
        if w.proposals.accept_highlighted():
            return
        c.accept()
        if had_categories or not c.document.categories:
            return
        category = c.document.categories[0]
        w.message_bar.show_message(
            "info",
            f"The mask went under a new category “{category.name}”. Rename it (double click "
            "in Categories) or add your own with +.",
            "Rename…",
            lambda: w.category_panel.rename(category.id),
        )

    def delete_selected(self) -> None:
        """Delete the annotation selected in the layer panel or on the canvas."""
        c = self.window.controller
        if c.selected_annotation is not None:
            c.delete_annotation(c.selected_annotation)

    def set_tool(self, tool: str) -> None:
        """Use one of :data:`TOOLS` on the canvas (the toolbar shows which)."""
        w = self.window
        w.canvas.tool = tool
        for name in TOOLS:
            w.actions[f"tool_{name}"].setChecked(name == tool)
        w.canvas.update()

    def brush_bigger(self) -> None:
        slider = self.window.radius_slider
        slider.setValue(min(slider.maximum(), round(slider.value() * 1.25) + 1))

    def brush_smaller(self) -> None:
        slider = self.window.radius_slider
        slider.setValue(max(slider.minimum(), round(slider.value() / 1.25)))

    def radius_changed(self, value: int) -> None:
        """The brush slider moved: radius ``value`` in image pixels, remembered."""
        w = self.window
        w.canvas.brush_radius = float(value)
        w.settings.brush_radius = value
        w.canvas.update()
