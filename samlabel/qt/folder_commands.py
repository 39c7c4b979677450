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
        try:
            w.controller.open_folder(folder, annotations, files)
        except SamlabelError as error:
            w.show_message("error", str(error))
            return False
        w.settings.last_folder = folder
        w.refresh_title()
        w.canvas.setFocus()
        return True

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
