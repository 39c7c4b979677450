"""The owner of one annotations file: lock, load, atomic save, close.

Typical use::

    store = AnnotationStore.open(folder / "annotations.json")
    if store.read_only:
        show(store.read_only_reason)
    ...                       # edits to store.document
    store.save_if_dirty()     # when the autosave policy says so (the window: qt.annotation_store)
    store.close()             # saves what is left, releases the lock

*When* to save is not decided here: :mod:`samlabel.io.autosave_policy` is the one policy, and
the window's timer drives it. A file that fails to parse raises AnnotationFileError from
:meth:`AnnotationStore.open` and is never written.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from samlabel.core.document import Document
from samlabel.core.errors import AnnotationFileError
from samlabel.io.atomic import remove_stale_temp_files
from samlabel.io.coco import SCHEMA_MAJOR, LoadedCoco, load_coco
from samlabel.io.coco_write import CocoSerializer, save_coco, save_state
from samlabel.io.lock import AnnotationLock, LockOwner


class AnnotationStore:
    """An open annotations file. Create with :meth:`open`.

    Attributes:
        path: the annotations file.
        document: the document being edited.
        foreign: top-level COCO keys samlabel keeps but does not interpret.
        read_only: True when saving is refused; ``read_only_reason`` says why.
        removed_temp_files: temporary files of a killed earlier save, removed at open.
    """

    def __init__(
        self,
        path: Path,
        loaded: LoadedCoco,
        lock: AnnotationLock | None,
        read_only_reason: str | None,
    ) -> None:
        self.path = path
        self.document = loaded.document
        self.foreign: dict[str, Any] = loaded.foreign
        self.schema_version = loaded.schema_version
        self.read_only_reason = read_only_reason
        self.removed_temp_files: list[Path] = []
        self._lock = lock
        self._save_lock = threading.Lock()
        self._serializer = CocoSerializer()
        self._saved_revision = self.document.revision
        self.closed = False

    @classmethod
    def open(
        cls,
        path: str | Path,
        read_only: bool = False,
    ) -> AnnotationStore:
        """Open (or start) an annotations file.

        A missing file starts an empty document, written at the first save. A file held by
        another process, or written by a newer major schema version, opens read-only.

        Raises:
            AnnotationFileError: the file exists but cannot be read or parsed; it is left
                exactly as it is.
        """
        path = Path(path)
        if not path.parent.is_dir():
            raise AnnotationFileError(f"{path}: its folder does not exist.", path)
        lock = None
        reason = "opened read-only on request" if read_only else None
        if not read_only:
            lock = AnnotationLock(path)
            owner: LockOwner | None = None
            try:
                owner = lock.acquire()
            except OSError as error:  # e.g. a read-only folder cannot hold the lock file
                lock = None
                reason = f"{path} is read-only here: cannot create its lock file ({error.strerror})"
            if owner is not None:
                lock = None
                reason = (
                    f"{path} is in use by {owner.describe()}; it is open read-only. Close the "
                    "other window to edit it."
                )
        removed: list[Path] = []
        try:
            if lock is not None:
                removed = remove_stale_temp_files(path)
            loaded = load_coco(path) if path.exists() else LoadedCoco(Document())
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        version = loaded.schema_version
        if version is not None and version[0] > SCHEMA_MAJOR:
            if lock is not None:
                lock.release()
                lock = None
            reason = (
                f"{path} was written by a newer samlabel (file format {version[0]}.{version[1]}); "
                "it is open read-only so that nothing it holds is lost."
            )
        store = cls(path, loaded, lock, reason)
        store.removed_temp_files = removed
        return store

    # ------------------------------------------------------------------ state
    @property
    def read_only(self) -> bool:
        return self.read_only_reason is not None

    @property
    def dirty(self) -> bool:
        """True when the document has changes that are not on disk."""
        return self.document.revision != self._saved_revision

    # ----------------------------------------------------------------- saving
    def save(self, polygons: bool = False) -> None:
        """Write the document now (atomically, keeping ``<name>.bak``).

        Raises:
            AnnotationFileError: read-only, or the write failed (the file is unchanged and
                the document stays dirty, so a later save retries).
        """
        if self.read_only:
            raise AnnotationFileError(f"{self.path}: not saved: {self.read_only_reason}", self.path)
        with self._save_lock:
            revision, state = self.document.versioned_state
            if polygons:
                save_coco(state, self.path, self.foreign, polygons=True, backup=True)
            else:
                save_state(self._serializer, state, self.path, self.foreign)
            self._saved_revision = revision

    def save_if_dirty(self) -> bool:
        """Save if there are unsaved changes and saving is allowed; True if it saved."""
        if self.read_only or not self.dirty:
            return False
        self.save()
        return True

    def flush(self) -> bool:
        """Save pending changes now (True if it saved)."""
        return self.save_if_dirty()

    def close(self, save: bool = True) -> None:
        """Save what is unsaved, then release the lock.

        If the save fails, AnnotationFileError propagates and the store stays open, so the
        user can free space and retry, or call ``close(save=False)`` to discard the changes.
        """
        if self.closed:
            return
        if save:
            self.flush()
        if self._lock is not None:
            self._lock.release()
        self.closed = True

    def __enter__(self) -> AnnotationStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

