"""The window's export commands: COCO polygons, PNG label masks, YOLO, in the background.

Owned by :class:`samlabel.qt.main_window.MainWindow` as ``window.exports``. Each export runs
on a snapshot of the document (:class:`samlabel.qt.exporting.ExportJob`), so the window stays
usable and edits made meanwhile stay out of it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog

from samlabel.qt.exporting import ExportJob

if TYPE_CHECKING:
    from samlabel.qt.main_window import MainWindow


class ExportCommands(QObject):
    """Exports of the window (``window.exports``; a QObject so that a job's answer, sent from
    its thread, is handled on the GUI thread).

    Attributes:
        jobs: the exports started and not yet seen finished (closing waits for them).
    """

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.jobs: list[ExportJob] = []

    def bindings(self) -> dict[str, Callable[[], None]]:
        """Action name -> command."""
        return {
            "export_coco": lambda: self.ask_target("coco-polygons"),
            "export_png": lambda: self.ask_target("png"),
            "export_yolo": lambda: self.ask_target("yolo"),
        }

    def ask_target(self, kind: str) -> None:
        """Ask for a folder, then export into it (see :meth:`export_to`)."""
        w = self.window
        if w.controller.folder is None:
            w.show_message("info", "Open a folder first.")
            return
        target = QFileDialog.getExistingDirectory(w, "Export into folder")
        if target:
            self.export_to(kind, Path(target))

    def export_to(self, kind: str, target: Path) -> ExportJob:
        """Export the document (``"coco-polygons"``, ``"png"``, ``"yolo"``) into ``target``.

        Runs in the background on a snapshot of the document; the status bar says it is
        running and the message bar what was written. Returns the job (``job.ok`` when done).
        """
        w = self.window
        job = ExportJob(w.controller, kind, target, parent=w)
        self.jobs = [j for j in self.jobs if not j.done()]
        self.jobs.append(job)
        job.finished.connect(self._on_finished)
        w.status.show_state(f"Exporting to {target}…")
        job.start()
        return job

    def _on_finished(self, ok: bool, text: str) -> None:
        self.window.status.show_state(text if ok else "Export failed")
        notable = any(job.notable for job in self.jobs if job.done() and job.message == text)
        # Clashes resolved or annotations skipped stay in the bar; a plain success passes.
        self.window.show_message("error" if not ok else "warning" if notable else "info", text)

    def wait(self) -> None:
        """Let running exports finish writing (on close: a half-written export helps nobody)."""
        for job in self.jobs:
            job.wait()
