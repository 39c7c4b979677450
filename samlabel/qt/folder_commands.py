"""The window's folder commands: open a folder of images and choose its annotations file.

Owned by :class:`samlabel.qt.main_window.MainWindow` as ``window.folders``. Commands that need
a path ask with a dialog and then call a method that takes the answer (:meth:`start_opening`,
:meth:`open_folder`), so tests and scripts drive the same code without dialogs.

Opening a folder from the menu reads its listing and stack headers in the runner's folder
lane (:meth:`start_opening`: seconds for a long DICOM series), so the window keeps working on
the folder open until then; the steps after an open (the remembered image and category, the
last folder, the title, the focus) follow when the session says the folder opened.
:meth:`open_folder` opens on the calling thread, for callers that need the folder open when
it returns.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from samlabel.core.errors import SamlabelError
from samlabel.session.file_guard import OFFERS

if TYPE_CHECKING:
    from samlabel.qt.main_window import MainWindow


def ask_unsaved(parent: QWidget, text: str) -> str:
    """Ask what to do with work that cannot be saved where it is: ``"save_as"``,
    ``"discard"`` or ``"cancel"`` (a decision is required here, so a modal question)."""
    box = QMessageBox(QMessageBox.Icon.Warning, "Unsaved annotations", text, parent=parent)
    save_as = box.addButton("Save as…", QMessageBox.ButtonRole.AcceptRole)
    discard = box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(save_as)
    box.exec()
    clicked = box.clickedButton()
    return "save_as" if clicked is save_as else "discard" if clicked is discard else "cancel"


@dataclass(frozen=True)
class PendingOpen:
    """A folder being listed in the background.

    Attributes:
        number: the session's listing request number.
        folder: the folder as asked for (the key of its remembered place).
    """

    number: int
    folder: Path


class FolderCommands:
    """Folders and annotations files of the window (``window.folders``)."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self._pending: PendingOpen | None = None
        # The pending folder's remembered image and category, read when it has opened.
        self._place: tuple[Path | None, str | None] | None = None
        controller = window.controller
        controller.session.events.folder_opened.subscribe(self._on_folder_opened)
        controller.runner.listingAnswered.connect(self._on_listing_answered)

    def bindings(self) -> dict[str, Callable[[], None]]:
        """Action name -> command."""
        return {
            "open_folder": self.choose_folder,
            "open_annotations": self.choose_annotations,
            "save_annotations_as": self.choose_save_as,
        }

    def choose_folder(self) -> None:
        """Ask for a folder of images, then open it."""
        folder = QFileDialog.getExistingDirectory(self.window, "Open a folder of images")
        if folder:
            self.start_opening(Path(folder))

    def start_opening(
        self, folder: Path, annotations: Path | None = None, files: list[Path] | None = None
    ) -> None:
        """Open ``folder`` (or just ``files`` in it) with ``annotations`` (default
        ``folder/annotations.json``) without waiting: it is listed in the background
        ("Opening <folder>…" in the status bar meanwhile) and opens when that is done; a
        failure is a message and the folder open before stays. A newer open wins."""
        w = self.window
        if annotations is None:  # "Save annotations as…" moved this folder's work there
            annotations = w.settings.folder_annotations(folder)
        self._place = None
        number = w.controller.start_opening_folder(folder, annotations, files)
        self._pending = PendingOpen(number, Path(folder))
        w.status.show_busy(f"Opening {folder}", time.monotonic())

    def is_opening(self) -> bool:
        """Whether a folder is being listed to open (:meth:`start_opening`)."""
        return self._pending is not None

    def open_folder(
        self, folder: Path, annotations: Path | None = None, files: list[Path] | None = None
    ) -> bool:
        """Open ``folder`` (or just ``files`` in it) with ``annotations`` (default
        ``folder/annotations.json``) on this thread; False, with a message, when it cannot
        be read. It supersedes a folder still being listed (:meth:`start_opening`)."""
        w = self.window
        self._end_pending()
        # Read before opening: opening shows the first image, which is then remembered.
        image, category = w.settings.folder_place(folder)
        if annotations is None:  # "Save annotations as…" moved this folder's work there
            annotations = w.settings.folder_annotations(folder)
        try:
            w.controller.open_folder(folder, annotations, files)
        except SamlabelError as error:
            w.show_message("error", str(error))
            return False
        self._after_open(folder, image, category)
        return True

    def _after_open(self, folder: Path, image: Path | None, category: str | None) -> None:
        w = self.window
        w.settings.last_folder = folder
        self._restore_place(image, category)
        w.refresh_title()
        w.canvas.setFocus()

    def _end_pending(self) -> None:
        """Forget the folder being listed and take "Opening…" off the status bar."""
        if self._pending is not None:
            self._pending = None
            self.window.status.show_state("")

    def _on_folder_opened(self) -> None:
        # Also sent when the open file's content is replaced (a reload, save-as): only an
        # open that ends the pending listing counts. The place is read now, before the
        # session shows the first image (which is then remembered), and restored once the
        # answer is handled (after that first image).
        pending = self._pending
        if pending is not None and not self.window.controller.session.folders.is_opening():
            self._place = self.window.settings.folder_place(pending.folder)
            self.window.status.show_state("")  # the new image's state follows

    def _on_listing_answered(self, number: int) -> None:
        pending = self._pending
        if pending is None or pending.number != number:
            return  # superseded
        self._pending = None
        if self._place is not None:  # it opened; the status bar shows the image's state
            self._after_open(pending.folder, *self._place)
            self._place = None
        else:  # it failed, and the session said why in the message bar
            self.window.status.show_state("")

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

    def offer_buttons(self, offers: tuple[str, ...]) -> tuple[tuple[str, Callable[[], None]], ...]:
        """The bar buttons for the choices a session notice offers."""
        session = self.window.controller.session
        guard = session.file
        commands: dict[str, Callable[[], object]] = {
            "save_as": self.choose_save_as,
            "take_lock": guard.take_lock,
            "use_theirs": guard.use_theirs,
            "rescale": session.sizes.rescale,
            "set_aside": session.sizes.set_aside,
        }
        return tuple((OFFERS[name], commands[name]) for name in offers if name in commands)

    def choose_save_as(self) -> None:
        """Ask where to save the annotations instead (a read-only folder's way out)."""
        c = self.window.controller
        if c.store is None:
            self.window.show_message("info", "Open a folder first.")
            return
        path, _ = QFileDialog.getSaveFileName(
            self.window, "Save annotations as", str(c.annotations_path), "COCO (*.json)"
        )
        if path:
            self.save_as(Path(path))

    def save_as(self, path: Path) -> bool:
        """Save the annotations to ``path`` and continue there; remembered for the folder, so
        reopening it continues there too. False (told) when it cannot be written."""
        w = self.window
        c = w.controller
        folder = c.folder
        if not c.session.file.save_as(path):
            return False
        if folder is not None:
            w.settings.set_folder_annotations(folder, path)
        w.refresh_title()
        return True

    def confirm_close(self) -> bool:
        """Whether the window may close: True when everything is saved (saved now if it
        can be); with work that cannot be saved where it is, the user chooses to save it
        elsewhere, discard it, or not close."""
        c = self.window.controller
        if c.store is None:
            return True
        c.session.flush_accepts()
        if c.store.read_only_reason is None:
            c.store.flush()
        if not c.session.has_unsaved_work():
            return True
        reason = c.store.read_only_reason or "saving it failed (see the message above)"
        text = (
            f"Your changes to {c.annotations_path} are not saved: {reason.rstrip('.')}. Save "
            "them in another place before closing?"
        )
        answer = ask_unsaved(self.window, text)
        if answer == "discard":
            return True
        if answer == "save_as":
            self.choose_save_as()
            return c.is_saved()
        return False

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
            self.start_opening(c.folder, Path(path))
