"""Autosave for the window: drives :class:`samlabel.io.store.AnnotationStore` from Qt.

The store owns the file (lock, load, atomic save with backup, read-only when another process
holds it). This wrapper decides *when* to save, by :class:`samlabel.io.autosave_policy.
AutosavePolicy` (0.25 s after the last change, at most 0.75 s after the first unsaved one), and
saves off the GUI thread with a superqt worker on a one-thread pool of its own: saves never
overlap, and never wait behind an encode. A failed save is reported through ``failed`` and
retried at the next change; the work stays in memory. Closing saves what is left, waiting.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QThreadPool, QTimer, Signal
from superqt.utils import WorkerBase, create_worker

from samlabel.core.document import Document
from samlabel.core.errors import AnnotationFileError
from samlabel.core.state import DocumentChanged
from samlabel.io.autosave_policy import AutosavePolicy
from samlabel.io.store import AnnotationStore

log = logging.getLogger(__name__)


class QtAutosave(QObject):
    """An open annotations file with autosave.

    Signals:
        saved(): a background save wrote the file.
        failed(message): a save failed (the changes stay unsaved and are retried).
    """

    saved = Signal()
    failed = Signal(str)

    def __init__(self, store: AnnotationStore, policy: AutosavePolicy | None = None) -> None:
        super().__init__()
        self.store = store
        self.policy = policy if policy is not None else AutosavePolicy()
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._worker: WorkerBase | None = None  # the save running now
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.save_soon)
        self._unsubscribe = store.document.subscribe(self._on_change)
        self._closed = False

    @property
    def document(self) -> Document:
        """The document being edited."""
        return self.store.document

    @property
    def path(self) -> Path:
        """The annotations file."""
        return self.store.path

    @property
    def read_only_reason(self) -> str | None:
        """Why nothing is saved (another process holds the file, ...), or None."""
        return self.store.read_only_reason

    def is_saved(self) -> bool:
        """Whether the file holds the document's current revision."""
        return not self.store.dirty

    def _on_change(self, event: DocumentChanged) -> None:
        self.policy.changed(time.monotonic())
        self._schedule()

    def _schedule(self) -> None:
        """(Re)start the timer for the policy's due time (a running save reschedules when it
        ends)."""
        due = self.policy.due_at()
        if due is None or self._closed or self._worker is not None:
            return
        self._timer.start(max(0, round((due - time.monotonic()) * 1000)))

    def save_soon(self) -> None:
        """Save the current snapshot in the background (nothing when clean or read-only)."""
        if self.store.read_only or not self.store.dirty or self._closed:
            return
        if self._worker is not None:
            return  # the running save reschedules what it did not include
        self.policy.saving()
        worker = create_worker(self._save_in_thread, _start_thread=False)
        worker.returned.connect(self._on_saved)
        worker.errored.connect(self._on_crashed)
        worker.finished.connect(self._on_finished)
        self._worker = worker
        self._pool.start(worker)

    def _save_in_thread(self) -> str | None:
        """Runs on the save pool's thread: None when saved (or nothing to save), else why not."""
        try:
            self.store.save_if_dirty()
        except AnnotationFileError as error:
            return str(error)
        return None

    def _on_saved(self, error: str | None) -> None:
        if error is None:
            self.saved.emit()
        else:
            self._report(error)  # retried at the next change, or at close

    def _on_crashed(self, error: Exception) -> None:
        log.error("saving %s failed", self.path, exc_info=error)
        self._report(f"{self.path} could not be saved: {error}")

    def _report(self, text: str) -> None:
        log.error("%s", text)
        self.failed.emit(text)

    def _on_finished(self) -> None:
        self._worker = None
        if self.store.dirty and self.policy.due_at() is not None:
            self._schedule()  # changes made while it was writing

    def flush(self) -> bool:
        """Save now, on this thread, after any background save; True when the file holds
        everything (a failure is reported through ``failed``)."""
        self._timer.stop()
        self._pool.waitForDone()
        if self.store.read_only:
            return not self.store.dirty
        try:
            self.store.save_if_dirty()
        except AnnotationFileError as error:
            self._report(str(error))
            return False
        self.policy.saving()
        return True

    def close(self) -> None:
        """Save what is left and release the file. When the save fails, the store stays open
        (and locked until the process ends) rather than drop the unsaved work; the user was
        told through ``failed``."""
        if self._closed:
            return
        self._closed = True
        self._timer.stop()
        self._unsubscribe()
        if not self.flush():
            return
        try:
            self.store.close()
        except AnnotationFileError as error:
            log.error("%s", error)


def open_store(path: str | Path, on_error: Callable[[str], None] | None = None) -> QtAutosave:
    """Open (or start) the annotations file ``path`` with autosave.

    Raises:
        AnnotationFileError: the file exists but cannot be read (it is left as it is).
    """
    store = AnnotationStore.open(path)
    autosave = QtAutosave(store)
    if on_error is not None:
        autosave.failed.connect(on_error)
    return autosave
