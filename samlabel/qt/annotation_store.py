"""The open annotations file: loaded once, locked, and saved after every change.

Saving is batched (at most :data:`SAVE_DELAY_MS` after the first unsaved change) and runs in a
background thread on the document's immutable snapshot, so the GUI never waits for the disk;
each write is atomic (:func:`samlabel.io.coco.save_coco`), so a crash leaves the previous or the new
file, never half of one. An unreadable file is reported and never overwritten. A lock file
beside the annotations keeps a second samlabel from writing the same file; the operating
system releases it when the process dies, even by SIGKILL.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout
from PySide6.QtCore import QObject, QTimer, Signal

from samlabel.core.document import Document
from samlabel.core.errors import AnnotationFileError, SamlabelError
from samlabel.core.state import DocumentChanged, DocumentState
from samlabel.io.coco import load_coco, save_coco

log = logging.getLogger(__name__)

#: Milliseconds between the last change and the save: well under a second of work at risk.
SAVE_DELAY_MS = 250


class AnnotationStore(QObject):
    """One annotations file and its document.

    Signals:
        saved(revision): the document at ``revision`` is on disk.
        failed(message): a save failed (the work stays in memory and is retried).
    """

    saved = Signal(int)
    failed = Signal(str)

    def __init__(
        self, path: Path, document: Document, foreign: dict[str, Any], lock: FileLock
    ) -> None:
        super().__init__()
        self.path = path
        self.document = document
        self.foreign = foreign
        self._lock = lock
        self._saved_revision = document.revision
        self._pending: Future | None = None
        self._guard = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="samlabel-save")
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SAVE_DELAY_MS)
        self._timer.timeout.connect(self.save_soon)
        self._unsubscribe = document.subscribe(self._on_change)
        self._closed = False

    def _on_change(self, event: DocumentChanged) -> None:
        # Not restarted by later changes: a steady stream of edits must not postpone the save
        # forever; at most SAVE_DELAY_MS of work waits for the disk.
        if not self._timer.isActive():
            self._timer.start()

    def is_saved(self) -> bool:
        """Whether the file on disk holds the document's current revision."""
        with self._guard:
            return self._saved_revision == self.document.revision

    def save_soon(self) -> None:
        """Write the current snapshot in the background (skipped when already saved)."""
        if self.is_saved():
            return
        state, revision = self.document.state, self.document.revision
        self._pending = self._executor.submit(self._write, state, revision)

    def _write(self, state: DocumentState, revision: int) -> None:
        try:
            save_coco(state, self.path, self.foreign)
        except SamlabelError as error:
            log.error("%s", error)
            self.failed.emit(str(error))
            return
        except OSError as error:  # save_coco reports OSErrors itself; this is belt and braces
            log.error("saving %s failed: %s", self.path, error)
            self.failed.emit(f"{self.path}: not saved ({error}).")
            return
        with self._guard:
            self._saved_revision = max(self._saved_revision, revision)
        self.saved.emit(revision)

    def flush(self) -> None:
        """Save now and wait for the disk (closing, tests)."""
        self._timer.stop()
        pending = self._pending
        if pending is not None:
            pending.result()
        if not self.is_saved():
            self._write(self.document.state, self.document.revision)

    def close(self) -> None:
        """Flush, stop listening, release the lock."""
        if self._closed:
            return
        self._closed = True
        try:
            self.flush()
        finally:
            self._unsubscribe()
            self._executor.shutdown(wait=True)
            self._lock.release()


def open_store(path: str | Path, on_error: Callable[[str], None] | None = None) -> AnnotationStore:
    """Open (or start) the annotations file ``path``.

    Raises:
        AnnotationFileError: the file exists but cannot be read (it is left as it is), or
            another samlabel has it open.
    """
    path = Path(path)
    lock = FileLock(str(path.with_name(f".{path.name}.lock")))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise AnnotationFileError(
            f"{path}: another samlabel window has this annotations file open.", path
        ) from None
    except OSError as error:
        raise AnnotationFileError(f"{path}: cannot be locked ({error}).", path) from None
    try:
        if path.exists():
            loaded = load_coco(path)
            document, foreign = loaded.document, loaded.foreign
        else:
            document, foreign = Document(), {}
    except BaseException:
        lock.release()
        raise
    store = AnnotationStore(path, document, foreign, lock)
    if on_error is not None:
        store.failed.connect(on_error)
    return store
