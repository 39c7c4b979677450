"""Autosave for the window: drives :class:`samlabel.io.store.AnnotationStore` from Qt.

The store owns the file (lock, load, atomic save with backup, read-only when another process
holds it). This wrapper decides *when* to save: at most :data:`SAVE_DELAY_MS` after the first
unsaved change (a steady stream of edits must not postpone the save forever), in a background
thread, so the GUI never waits for the disk. A failed save is reported through ``failed`` and
retried at the next change; the work stays in memory.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from samlabel.core.document import Document
from samlabel.core.errors import AnnotationFileError
from samlabel.core.state import DocumentChanged
from samlabel.io.store import AnnotationStore

log = logging.getLogger(__name__)

#: Milliseconds from the first unsaved change to the save: well under a second at risk.
SAVE_DELAY_MS = 250


class QtAutosave(QObject):
    """An open annotations file with autosave.

    Signals:
        saved(): a save finished.
        failed(message): a save failed (the changes stay unsaved and are retried).
    """

    saved = Signal()
    failed = Signal(str)

    def __init__(self, store: AnnotationStore) -> None:
        super().__init__()
        self.store = store
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="samlabel-save")
        self._pending: Future | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SAVE_DELAY_MS)
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

    def _on_change(self, event: DocumentChanged) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def is_saved(self) -> bool:
        """Whether the file holds the document's current revision."""
        return not self.store.dirty

    def save_soon(self) -> None:
        """Save the current snapshot in the background (nothing when clean or read-only)."""
        if self.store.read_only or not self.store.dirty or self._closed:
            return
        self._pending = self._executor.submit(self._save)

    def _save(self) -> None:
        try:
            if self.store.save_if_dirty():
                self.saved.emit()
        except AnnotationFileError as error:
            log.error("%s", error)
            self.failed.emit(str(error))

    def flush(self) -> None:
        """Save now and wait for the disk (closing, tests)."""
        self._timer.stop()
        pending = self._pending
        if pending is not None:
            pending.result()
        if not self.store.read_only:
            self._save()

    def close(self) -> None:
        """Save what is left, stop the thread, release the file."""
        if self._closed:
            return
        self._closed = True
        try:
            self.flush()
        finally:
            self._unsubscribe()
            self._executor.shutdown(wait=True)
            try:
                self.store.close()
            except AnnotationFileError as error:
                # The store stays open (and locked until the process ends) rather than drop
                # the unsaved work; the user was told when the save failed.
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
