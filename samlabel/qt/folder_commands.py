"""The window's folder commands: open a folder of images and choose its annotations file.

Owned by :class:`samlabel.qt.main_window.MainWindow` as ``window.folders``. Commands that need
a path ask with a dialog and then call a method that takes the answer (:meth:`open_folder`),
so tests and scripts drive the same code without dialogs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog

from samlabel.core.errors import SamlabelError

if TYPE_CHECKING:
    from samlabel.qt.main_window import MainWindow


class FolderCommands:
    """Folders and annotations files of the window (``window.folders``)."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window

    def bindings(self) -> dict[str, Callable[[], None]]:
        """Action name -> command."""
        return {
            "open_folder": self.choose_folder,
            "open_annotations": self.choose_annotations,
        }

    def choose_folder(self) -> None:
        """Ask for a folder of images, then open it."""
        folder = QFileDialog.getExistingDirectory(self.window, "Open a folder of images")
        if folder:
            self.open_folder(Path(folder))

    def open_folder(
        self, folder: Path, annotations: Path | None = None, files: list[Path] | None = None
    ) -> bool:
        """Open ``folder`` (or just ``files`` in it) with ``annotations`` (default
        ``folder/annotations.json``); False, with a message, when it cannot be read."""
        w = self.window
        # Read before opening: opening shows the first image, which is then remembered.
        image, category = w.settings.folder_place(folder)
        try:
            w.controller.open_folder(folder, annotations, files)
        except SamlabelError as error:
            w.show_message("error", str(error))
            return False
        w.settings.last_folder = folder
        self._restore_place(image, category)
        w.refresh_title()
        w.canvas.setFocus()
        return True

    def _restore_place(self, image: Path | None, category: str | None) -> None:
        """Go back to the image and category that were current when the folder was last open
        (so accepts after a restart do not silently go under the first category)."""
        c = self.window.controller
        if category is not None:
            for candidate in c.document.categories:
                if candidate.name == category:
                    c.set_current_category(candidate.id)
        if image is not None and image in c.paths:
            c.go_to(c.paths.index(image))

    def remember_place(self) -> None:
        """Note the open folder's current image and category in the settings."""
        c = self.window.controller
        if c.folder is None or c.row < 0:
            return
        category = None
        if c.current_category is not None and c.current_category in c.document.state.category_index:
            category = c.document.category(c.current_category).name
        self.window.settings.set_folder_place(c.folder, c.paths[c.row], category)

    def choose_annotations(self) -> None:
        """Ask for another annotations file for the open folder, then open it."""
        w = self.window
        c = w.controller
        if c.folder is None:
            w.show_message("info", "Open a folder first.")
            return
        # A save dialog, because a new file may be named too; opening an existing one is
        # not overwriting it.
        path, _ = QFileDialog.getSaveFileName(
            w,
            "Annotations file",
            str(c.annotations_path),
            "COCO (*.json)",
            options=QFileDialog.Option.DontConfirmOverwrite,
        )
        if path:
            self.open_folder(c.folder, Path(path))
