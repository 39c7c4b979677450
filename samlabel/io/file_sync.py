"""Saving one annotations file without overwriting another program's edit of it.

:class:`FileSync` remembers what the file held when we last read or wrote it (the merge
base and its :class:`~samlabel.io.fingerprint.FileFingerprint`). Before each write it checks
the file; if another program changed it, its changes are merged with ours
(:mod:`samlabel.io.merge`) or, where both changed the same thing (or the file no longer
parses), the file is left as the other program left it and ours goes beside it as
``<stem>.conflict-<YYYYmmdd-HHMMSS>.json``. Every replacement keeps what was on disk as
``<name>.bak``, so the other program's version is never rotated out unseen.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from samlabel.core.document import Document
from samlabel.core.errors import AnnotationFileError
from samlabel.core.state import DocumentState
from samlabel.io.atomic import atomic_write_bytes, write_new_file
from samlabel.io.coco import SCHEMA_MAJOR, UNREADABLE, LoadedCoco, loads_coco
from samlabel.io.coco_write import SCHEMA_VERSION
from samlabel.io.fingerprint import (
    FileFingerprint,
    compare_file,
    fingerprint_written,
    read_with_fingerprint,
)
from samlabel.io.merge import CocoSnapshot, MergeConflict, merge_snapshots
from samlabel.io.save_outcome import OutsideChange, SaveKind, SaveOutcome

#: Serialises a state with its top-level fields: ``dumps(state, foreign) -> bytes``.
Dumps = Callable[[DocumentState, Mapping[str, Any]], bytes]


def read_annotations(path: Path) -> tuple[LoadedCoco, FileFingerprint]:
    """Parse ``path`` and fingerprint the bytes parsed; AnnotationFileError if unreadable
    (an annotation that cannot be read is kept verbatim: see :func:`loads_coco`)."""
    try:
        raw, fingerprint = read_with_fingerprint(path)
    except FileNotFoundError:
        raise AnnotationFileError(f"{path}: no such annotations file.", path) from None
    except OSError as error:
        raise AnnotationFileError(f"{path}: cannot be read ({error.strerror}).", path) from None
    return loads_coco(raw, path, keep_unreadable=True), fingerprint


class FileSync:
    """The file side of one open document. Not thread-safe: the store serialises calls.

    Attributes:
        path: the annotations file.
        foreign: the top-level fields written with the document (``info``, ...).
        unreadable: why each annotation kept verbatim in ``foreign`` cannot be read (as
            last read or merged from the file).
        conflict_path: where our version goes while the file conflicts; None normally.
        notice: the conflict message, to keep on screen until resolved; None normally.
    """

    def __init__(
        self,
        path: Path,
        state: DocumentState,
        foreign: Mapping[str, Any],
        fingerprint: FileFingerprint | None,
    ) -> None:
        self.path = path
        self.foreign: dict[str, Any] = dict(foreign)
        self.unreadable: tuple[str, ...] = ()
        self.conflict_path: Path | None = None
        self.notice: str | None = None
        self._base = CocoSnapshot(state, dict(foreign))
        self._fingerprint = fingerprint
        self._force_merge = False

    def check(self, unsaved: bool) -> OutsideChange:
        """Whether the file changed outside; a reload is safe when nothing is ``unsaved``."""
        if not self._changed():
            return OutsideChange(False, False)
        if not unsaved and self.conflict_path is None:
            message = f"{self.path} was changed by another program; reloading it loses nothing."
            return OutsideChange(True, True, message)
        message = (
            f"{self.path} was changed by another program; your unsaved changes will be "
            "merged with it at the next save."
        )
        return OutsideChange(True, False, message)

    def needs_merge(self) -> bool:
        """Whether the next save must merge another program's edit first."""
        if self.conflict_path is not None:
            return False
        return self._force_merge or self._changed()

    def _changed(self) -> bool:
        """Whether the file differs from what we last read or wrote; when it does not, its
        current ``stat`` is remembered (a touched file is hashed once, not at every look)."""
        known = self._fingerprint
        changed, now = compare_file(self.path, known)
        if not changed and self._fingerprint is known:  # not replaced by a save meanwhile
            self._fingerprint = now
        return changed

    def loaded(self, loaded: LoadedCoco, fingerprint: FileFingerprint) -> None:
        """The document was (re)loaded from the file: it is the new base; no conflict."""
        self.foreign, self.unreadable = dict(loaded.foreign), loaded.unreadable
        self._base = CocoSnapshot(loaded.document.state, dict(self.foreign))
        self._fingerprint = fingerprint
        self._force_merge = False
        self.conflict_path = None
        self.notice = None

    def moved_to(
        self, path: Path, state: DocumentState, data: bytes, written: os.stat_result
    ) -> None:
        """The document was written to a new file ``path`` (save as) and continues there."""
        self.path = path
        self.conflict_path = None
        self.notice = None
        self._wrote(data, CocoSnapshot(state, self.foreign), written)

    def save(self, document: Document, state: DocumentState, dumps: Dumps) -> SaveOutcome:
        """Write ``state`` (a snapshot of ``document``), merging outside edits first.

        A merge puts the merged state into ``document`` (a reset: the undo history is
        cleared) if it still holds ``state``; otherwise the next save merges again.
        Raises AnnotationFileError when writing fails (nothing on disk changed).
        """
        if self.conflict_path is not None:
            atomic_write_bytes(self.conflict_path, dumps(state, self.foreign))
            return SaveOutcome(
                SaveKind.CONFLICT, self.path, self.notice or "", conflict_path=self.conflict_path
            )
        if self.needs_merge():
            return self._save_merging(document, state, dumps)
        data = dumps(state, self.foreign)
        written = atomic_write_bytes(self.path, data, backup=True)
        self._wrote(data, CocoSnapshot(state, self.foreign), written)
        return SaveOutcome(SaveKind.SAVED, self.path)

    def _wrote(self, data: bytes, snapshot: CocoSnapshot, written: os.stat_result) -> None:
        """Remember what the file now holds: the next merge base and its fingerprint."""
        info = snapshot.foreign.get("info")
        info = dict(info) if isinstance(info, dict) else {}
        info["samlabel_schema_version"] = SCHEMA_VERSION  # as coco_dict wrote it
        self.foreign = {**snapshot.foreign, "info": info}
        self._base = CocoSnapshot(snapshot.state, dict(self.foreign))
        self._fingerprint = fingerprint_written(written, data, self.path)
        self._force_merge = False

    def _save_merging(self, document: Document, state: DocumentState, dumps: Dumps) -> SaveOutcome:
        ours = CocoSnapshot(state, self.foreign)
        try:
            raw, _ = read_with_fingerprint(self.path)
        except FileNotFoundError:  # deleted outside: writing ours again loses nothing
            data = dumps(state, self.foreign)
            written = atomic_write_bytes(self.path, data, backup=True)
            self._wrote(data, ours, written)
            message = (
                f"{self.path} was deleted by another program; it was written again with the "
                "annotations open here."
            )
            return SaveOutcome(SaveKind.SAVED, self.path, message)
        except OSError as error:
            raise AnnotationFileError(
                f"{self.path}: changed by another program and cannot be read back "
                f"({error.strerror}); not saved.",
                self.path,
            ) from None
        try:
            theirs = loads_coco(raw, self.path, keep_unreadable=True)
            version = theirs.schema_version
            if version is not None and version[0] > SCHEMA_MAJOR:
                raise AnnotationFileError(f"{self.path}: now written by a newer samlabel.")
        except AnnotationFileError as error:
            return self._conflict(state, dumps, f"it no longer reads as COCO: {error}")
        merged = merge_snapshots(
            self._base, CocoSnapshot(theirs.document.state, theirs.foreign), ours
        )
        if isinstance(merged, MergeConflict):
            return self._conflict(state, dumps, merged.describe())
        data = dumps(merged.snapshot.state, merged.snapshot.foreign)
        try:  # a merge is rare: prove it reads back before it replaces their file
            loads_coco(data, self.path, keep_unreadable=True)
        except AnnotationFileError as error:
            return self._conflict(state, dumps, f"the merged file would not read back: {error}")
        written = atomic_write_bytes(self.path, data, backup=True)  # .bak: theirs, as it was
        if merged.snapshot.foreign.get(UNREADABLE) == theirs.foreign.get(UNREADABLE):
            self.unreadable = theirs.unreadable  # what the file now keeps verbatim
        if document.state is state:
            document.reset(merged.snapshot.state, "Merge outside changes")
            self._wrote(data, merged.snapshot, written)
        else:
            # Edited while we merged: merge those edits onto the file at the next save.
            self._wrote(data, ours, written)
            self._force_merge = True
        message = (
            f"{self.path} was changed by another program; merged: {merged.summary.describe()}."
        )
        return SaveOutcome(SaveKind.MERGED, self.path, message, summary=merged.summary)

    def _conflict(self, state: DocumentState, dumps: Dumps, why: str) -> SaveOutcome:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        beside = self.path.with_name(f"{self.path.stem}.conflict-{stamp}.json")
        self.conflict_path = write_new_file(beside, dumps(state, self.foreign))
        self.notice = (
            f"{self.path} was changed by another program in a way that conflicts with the "
            f"changes made here ({why}); its version was kept and yours was saved as "
            f"{self.conflict_path}."
        )
        return SaveOutcome(
            SaveKind.CONFLICT, self.path, self.notice, conflict_path=self.conflict_path
        )
