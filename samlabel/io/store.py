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
from samlabel.io.atomic import atomic_write_bytes, remove_stale_temp_files, through_links
from samlabel.io.coco import SCHEMA_MAJOR, LoadedCoco
from samlabel.io.coco_write import CocoSerializer, coco_dict, dumps_coco
from samlabel.io.file_sync import Dumps, FileSync, read_annotations
from samlabel.io.fingerprint import FileFingerprint
from samlabel.io.lock import AnnotationLock
from samlabel.io.relocate import relocate_images
from samlabel.io.save_outcome import OutsideChange, SaveKind, SaveOutcome
from samlabel.io.writability import name_too_long, writable_or_why

#: Outcomes after which the document's state is on disk (in the file or the conflict copy).
_WRITTEN = (SaveKind.SAVED, SaveKind.MERGED, SaveKind.CONFLICT)


class AnnotationStore:
    """An open annotations file. Create with :meth:`open`.

    Attributes:
        path: the annotations file.
        document: the document being edited.
        foreign: top-level COCO keys samlabel keeps but does not interpret.
        read_only: True when saving is refused; ``read_only_reason`` says why in one
            sentence and ``read_only_kind`` as a word (``try_take_lock`` / ``save_as`` are
            the ways out).
        removed_temp_files: temporary files of a killed earlier save, removed at open.
        unreadable: why each annotation the file held that cannot be read is kept verbatim
            (written back at every save; see :mod:`samlabel.io.coco`), as last read.

    Another program's edits: every :meth:`save` checks the file first and merges or writes
    ours beside it (the :class:`~samlabel.io.save_outcome.SaveOutcome` says which);
    :meth:`check_outside_change` and :meth:`reload` serve a file watcher; :attr:`notice` is
    the message to keep on screen during a conflict. See docs/annotations-file-safety.md.
    """

    def __init__(
        self,
        path: Path,
        loaded: LoadedCoco,
        lock: AnnotationLock | None,
        read_only_reason: str | None,
        fingerprint: FileFingerprint | None = None,
    ) -> None:
        self.document = loaded.document
        self.schema_version = loaded.schema_version
        self.encoding = loaded.encoding  # of the file as read; saves write UTF-8
        self.read_only_reason = read_only_reason
        self.removed_temp_files: list[Path] = []
        #: Why saving is refused, as a word: "requested", "locked", "not_writable",
        #: "newer_schema", "name_too_long"; None when writable.
        self.read_only_kind: str | None = None if read_only_reason is None else "requested"
        self.last_outcome: SaveOutcome | None = None
        #: The thread that edits the document (the one that opened the store): only saves
        #: from it merge another program's edit; others return DEFERRED.
        self.merge_thread = threading.get_ident()
        self._lock = lock
        self._save_lock = threading.Lock()
        self._serializer = CocoSerializer()
        self._saved_revision = self.document.revision
        self._sync = FileSync(path, self.document.state, loaded.foreign, fingerprint)
        self._sync.unreadable = loaded.unreadable
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
        path = through_links(Path(path))
        if not path.parent.is_dir():
            raise AnnotationFileError(f"{path}: its folder does not exist.", path)
        too_long = name_too_long(path)
        if too_long is not None and too_long[1]:
            raise AnnotationFileError(too_long[0], path)
        lock = None
        kind, reason = ("requested", "opened read-only on request") if read_only else (None, None)
        if not read_only:
            lock, kind, reason = writable_or_why(path)
        removed: list[Path] = []
        try:
            if lock is not None:
                removed = remove_stale_temp_files(path)
            fingerprint = None
            if path.exists():
                loaded, fingerprint = read_annotations(path)
            else:
                loaded = LoadedCoco(Document())
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        version = loaded.schema_version
        if version is not None and version[0] > SCHEMA_MAJOR:
            if lock is not None:
                lock.release()
                lock = None
            kind = "newer_schema"
            reason = (
                f"{path} was written by a newer samlabel (file format {version[0]}.{version[1]}); "
                "it is open read-only so that nothing it holds is lost."
            )
        store = cls(path, loaded, lock, reason, fingerprint)
        store.read_only_kind = kind
        store.removed_temp_files = removed
        return store

    # ------------------------------------------------------------------ state
    @property
    def path(self) -> Path:
        """The annotations file (a new one after :meth:`save_as`)."""
        return self._sync.path

    @property
    def read_only(self) -> bool:
        return self.read_only_reason is not None

    @property
    def dirty(self) -> bool:
        """True when the document has changes that are not on disk."""
        return self.document.revision != self._saved_revision

    # ----------------------------------------------------------------- saving
    def save(self, polygons: bool = False) -> SaveOutcome:
        """Write the document now (atomically; what was on disk is kept as ``<name>.bak``).

        If another program changed the file since we last read or wrote it, its changes are
        merged first (MERGED; the document then holds them too, the undo history is
        cleared) or, where both changed the same thing, its file is kept and ours is
        written beside it as ``<stem>.conflict-<time>.json`` (CONFLICT; later saves go
        there until :meth:`reload` or :meth:`save_as`). A merge replaces the document's
        state, so call this on the thread that edits the document when it may merge.

        Raises:
            AnnotationFileError: read-only, or the write failed (the file is unchanged and
                the document stays dirty, so a later save retries).
        """
        if self.read_only:
            raise AnnotationFileError(f"{self.path}: not saved: {self.read_only_reason}", self.path)
        with self._save_lock:
            if threading.get_ident() != self.merge_thread and self._sync.needs_merge():
                # A merge replaces the document's state: not from a saving thread, where
                # the window's listeners would run. Nothing is written meanwhile.
                message = (
                    f"{self.path} was changed by another program; your changes will be "
                    "merged with it at the next save from the window."
                )
                self.last_outcome = SaveOutcome(SaveKind.DEFERRED, self.path, message)
                return self.last_outcome
            revision, state = self.document.versioned_state
            before = self.document.state
            outcome = self._sync.save(self.document, state, self._dumper(polygons))
            if outcome.kind is SaveKind.MERGED and self.document.state is not before:
                revision = self.document.revision  # the merged state is what is on disk
            self._saved_revision = max(self._saved_revision, revision)
            self.last_outcome = outcome
            return outcome

    def try_save(self, polygons: bool = False) -> SaveOutcome:
        """:meth:`save` that reports failure as a FAILED outcome instead of raising."""
        if self.read_only or not self.dirty:
            return SaveOutcome(SaveKind.NOTHING, self.path, self.read_only_reason or "")
        try:
            return self.save(polygons)
        except AnnotationFileError as error:
            self.last_outcome = SaveOutcome(SaveKind.FAILED, self.path, str(error))
            return self.last_outcome

    def _dumper(self, polygons: bool) -> Dumps:
        if polygons:
            return lambda state, foreign: dumps_coco(
                coco_dict(state, foreign, polygons=True), self.path
            )
        return lambda state, foreign: self._serializer.dumps(state, foreign, self.path)

    # ------------------------------------------------------ outside changes
    @property
    def foreign(self) -> dict[str, Any]:
        """Top-level COCO keys samlabel keeps but does not interpret (``info``, ...)."""
        return self._sync.foreign

    @property
    def unreadable(self) -> tuple[str, ...]:
        """Why each annotation of the file that cannot be read is kept verbatim."""
        return self._sync.unreadable

    @property
    def conflict_path(self) -> Path | None:
        """Where our version is saved while the file conflicts with an outside edit."""
        return self._sync.conflict_path

    @property
    def notice(self) -> str | None:
        """A message to keep on screen until resolved (a conflict), else None."""
        return self._sync.notice

    def check_outside_change(self) -> OutsideChange:
        """Whether another program changed the file, and whether a plain reload is safe.

        Cheap when nothing changed (one ``stat``); poll it or call it from a file watcher.
        """
        return self._sync.check(unsaved=self.dirty)

    def try_take_lock(self) -> bool:
        """Take the file for writing once the window that held it let go; True if taken.

        Only a store that opened read-only because another process held the file can take
        it. Changes the other window saved meanwhile are reloaded when nothing is unsaved
        here, else merged at the next save.
        """
        if self.read_only_kind != "locked":
            return not self.read_only
        lock, kind, reason = writable_or_why(self.path)
        if lock is None:
            self.read_only_kind, self.read_only_reason = kind, reason
            return False
        self._lock, self.read_only_kind, self.read_only_reason = lock, None, None
        if self.check_outside_change().reload_safe:
            self.reload()
        return True

    def save_as(self, path: str | Path, overwrite: bool = False) -> SaveOutcome:
        """Write the document to ``path`` and continue there (a read-only folder's way out).

        The file opened first is left as it is (and let go of). ``path`` must not exist
        unless ``overwrite``; it is locked like any annotations file. In another folder, the
        images' names are rewritten relative to it (they name the same files), and the undo
        history starts again.

        Raises:
            AnnotationFileError: ``path`` exists, is held by another window, or cannot be
                written; the store is unchanged then.
        """
        path = through_links(Path(path))
        if path.exists() and not overwrite:
            raise AnnotationFileError(f"{path}: already exists; not overwritten.", path)
        if not path.parent.is_dir():
            raise AnnotationFileError(f"{path}: its folder does not exist.", path)
        too_long = name_too_long(path)
        if too_long is not None and too_long[1]:
            raise AnnotationFileError(too_long[0], path)
        lock, _, reason = writable_or_why(path)
        if lock is None:
            raise AnnotationFileError(f"Cannot save as {path}: {reason}.", path)
        with self._save_lock:
            try:
                revision, state = self.document.versioned_state
                moved = relocate_images(state, self.path.parent, path.parent)
                data = self._dumper(False)(moved, self.foreign)
                written = atomic_write_bytes(path, data, backup=path.exists())
            except BaseException:
                lock.release()
                raise
            if self._lock is not None:
                self._lock.release()
            self._lock = lock
            if moved is not state:  # image names now relative to the new folder
                self.document.reset(moved, "Save as")
                revision = self.document.revision
            self._sync.moved_to(path, moved, data, written)
            self.read_only_kind = self.read_only_reason = None
            self._saved_revision = revision
        message = f"Saved as {path}; further changes are saved there."
        self.last_outcome = SaveOutcome(SaveKind.SAVED, path, message)
        return self.last_outcome

    def reload(self) -> None:
        """Replace the document by the file as it is now (clears the undo history).

        Also the way out of a conflict, taking the other program's version (ours stays in
        :attr:`conflict_path`). Raises AnnotationFileError, changing nothing, when the file
        cannot be read or parsed.
        """
        with self._save_lock:
            loaded, fingerprint = read_annotations(self.path)
            self.document.reset(loaded.document.state, "Reload")
            self.schema_version = loaded.schema_version
            self._sync.loaded(loaded, fingerprint)
            self._saved_revision = self.document.revision

    def save_if_dirty(self) -> bool:
        """Save if there are unsaved changes and saving is allowed; True if it saved."""
        if self.read_only or not self.dirty:
            return False
        return self.save().kind in _WRITTEN

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
            if self.dirty and not self.read_only:  # a merge deferred to the document's thread
                raise AnnotationFileError(
                    f"{self.path}: not closed, the changes are not saved yet: "
                    f"{self.last_outcome.message if self.last_outcome else 'save first'}",
                    self.path,
                )
        if self._lock is not None:
            self._lock.release()
        self.closed = True

    def __enter__(self) -> AnnotationStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
