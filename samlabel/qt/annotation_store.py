"""Autosave for the window: drives :class:`samlabel.io.store.AnnotationStore` from Qt.

The store owns the file (lock, load, atomic save with backup, read-only when another process
holds it). This wrapper decides *when* to save, by :class:`samlabel.io.autosave_policy.
AutosavePolicy` (0.25 s after the last change, at most 0.75 s after the first unsaved one), and
saves off the GUI thread with a superqt worker on a one-thread pool of its own: saves never
overlap, and never wait behind an encode. Closing saves what is left, waiting.

Every save's :class:`~samlabel.io.save_outcome.SaveOutcome` goes to the ``on_outcome`` given
to :meth:`QtAutosave.attach` on the GUI thread (the session's file guard, which merges a
DEFERRED save there). While the file is open, a poll on a timer calls ``on_check`` (one
``stat`` when nothing changed; a QFileSystemWatcher is not used: see ``POLL_MS``) and retries
a failed save; the work stays in memory meanwhile.
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
from samlabel.io.save_outcome import SaveKind, SaveOutcome
from samlabel.io.store import AnnotationStore

log = logging.getLogger(__name__)

#: How often the file is looked at (ms); also the retry interval of a failed save. A poll
#: rather than a QFileSystemWatcher: the full GUI suite hung with one watcher per open file
#: (not yet understood), and the poll sees a file replaced by rename just as well.
POLL_MS = 1000


class QtAutosave(QObject):
    """An open annotations file with autosave.

    Signals:
        saved(): a save wrote the file (or merged, or wrote the conflict copy).
        failed(message): a save crashed (the changes stay unsaved and are retried).
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
        self._on_outcome: Callable[[SaveOutcome], None] = lambda outcome: None
        self._on_check: Callable[[], None] = lambda: None
        self._check_timer = QTimer(self)  # a check that met our own save, again soon
        self._check_timer.setSingleShot(True)
        self._check_timer.setInterval(100)
        self._check_timer.timeout.connect(self._check)
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self._check)

    def attach(
        self, on_outcome: Callable[[SaveOutcome], None], on_check: Callable[[], None]
    ) -> None:
        """Report every save to ``on_outcome`` and call ``on_check`` when the file may have
        changed (both on the GUI thread); starts watching the file."""
        self._on_outcome, self._on_check = on_outcome, on_check
        self._poll.start()

    def _check(self) -> None:
        """Look at the file now (not while our own save writes it), and retry a save that is
        due or failed."""
        if self._closed:
            return
        if self._worker is not None:
            self._check_timer.start()
            return
        self._on_check()
        if self._closed:
            return
        if self.store.dirty and not self.store.read_only and not self._timer.isActive():
            self.save_soon()

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

    def _save_in_thread(self) -> SaveOutcome:
        """Runs on the save pool's thread: what the save did (a merge is DEFERRED to the GUI
        thread)."""
        return self.store.try_save()

    def _on_saved(self, outcome: SaveOutcome) -> None:
        if outcome.kind in (SaveKind.SAVED, SaveKind.MERGED, SaveKind.CONFLICT):
            self.saved.emit()
        self._deliver(outcome)  # FAILED: retried by the poll

    def _deliver(self, outcome: SaveOutcome) -> None:
        """Hand ``outcome`` to the session (a failure also through ``failed``)."""
        if outcome.kind is SaveKind.FAILED:
            self._report(outcome.message)
        self._on_outcome(outcome)

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
        self.policy.saving()
        self._deliver(self.store.try_save())  # on this thread: a merge runs here
        return not self.store.dirty

    def close(self) -> None:
        """Save what is left and release the file. When the save fails, the store stays open
        (and locked until the process ends) rather than drop the unsaved work; the user was
        told through ``failed``."""
        if self._closed:
            return
        self._stop_watching()
        self._unsubscribe()
        if not self.flush():
            self._closed = True
            return
        self._closed = True
        try:
            self.store.close()
        except AnnotationFileError as error:
            log.error("%s", error)

    def _stop_watching(self) -> None:
        """Stop the timers here, on the GUI thread (never left to the garbage collector,
        which may run on another thread)."""
        self._timer.stop()
        self._poll.stop()
        self._check_timer.stop()
        self._on_check = lambda: None

    def discard(self) -> None:
        """Release the file without saving (a folder switch that did not happen)."""
        self._closed = True
        self._stop_watching()
        self._unsubscribe()
        self._pool.waitForDone()
        self.store.close(save=False)


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
