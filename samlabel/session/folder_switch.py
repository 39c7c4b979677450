"""Opening a folder, all or nothing: the session's part that switches folders (no Qt).

:class:`FolderSwitching` is the session's part that opens and closes a folder and follows
the file when its content is replaced (a reload, a merge, save-as). :func:`prepare_folder`
lists the images and opens the annotations file completely before the session lets go of
the folder it has open; when anything fails, the new file is released without being
written and the previous folder stays fully in place (its images, its file, its current
image). Without this, a failure half-way once left the window listing one
folder's images over another folder's annotations file, and accepted masks were saved under
the wrong images.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from samlabel.core.errors import SamlabelError
from samlabel.session.images import (
    AnnotationFile,
    FolderImages,
    FolderListing,
    StoreOpener,
    list_folder,
    opening_warnings,
    read_folder,
)
from samlabel.session.work import ListRequest

if TYPE_CHECKING:
    from samlabel.session.session import LabellingSession


@dataclass(frozen=True)
class PreparedFolder:
    """A folder ready to replace the open one.

    Attributes:
        folder: the folder (resolved).
        path: its annotations file (resolved).
        store: the annotations file, open (and locked when writable).
        images: the listed images, matched with the file's records.
    """

    folder: Path
    path: Path
    store: AnnotationFile
    images: FolderImages


def prepare_folder(
    folder: str | Path,
    annotations: str | Path | None,
    files: list[Path] | None,
    open_store: StoreOpener,
    on_error: Callable[[str], None],
    release_same_file: Callable[[Path], None],
    listing: FolderListing | None = None,
) -> PreparedFolder:
    """List ``folder`` (or ``files``) and open its annotations file (default
    ``folder/annotations.json``), changing nothing of the open folder.

    ``release_same_file(path)`` is called before ``path`` is opened (the session closes it
    when it is its own file: its own lock would make it read-only). ``listing``: the
    folder's files and stack headers read beforehand in the runner's work
    (:func:`~samlabel.session.images.read_folder`); None reads them now.

    Raises:
        SamlabelError: one sentence naming the folder or file; nothing was opened.
    """
    if listing is None:
        listing = read_folder(folder, files)
    folder = listing.folder
    path = (Path(annotations) if annotations else folder / "annotations.json").resolve()
    release_same_file(path)
    store = open_store(path, on_error)
    try:
        images = list_folder(store.document, list(listing.paths), path, listing.stacks)
    except (SamlabelError, OSError) as error:
        store.discard()  # nothing of the failed switch is written
        raise SamlabelError(f"Cannot open {folder}: {error}") from error
    return PreparedFolder(folder, path, store, images)


class FolderSwitching:
    """The part of :class:`~samlabel.session.session.LabellingSession` that opens, closes and
    re-lists folders; it writes the session's folder state (the session delegates to it)."""

    def __init__(self, session: LabellingSession) -> None:
        self.session = session
        self._listing: ListRequest | None = None  # the folder being read in the background
        self._number = 0

    def start_opening(
        self,
        folder: str | Path,
        annotations: str | Path | None = None,
        files: list[Path] | None = None,
    ) -> int:
        """Open ``folder`` as :meth:`open_folder` does, its files listed and its stacks'
        headers read in the runner's work (seconds for long DICOM series), so the caller's
        thread does not wait; the folder opens when the listing comes back
        (:meth:`on_listed`). A newer request supersedes this one. Returns its number."""
        self._number += 1
        request = ListRequest(
            self._number,
            Path(folder),
            None if annotations is None else Path(annotations),
            None if files is None else tuple(Path(f) for f in files),
        )
        self._listing = request
        self.session.runner.list_folder(request)
        return request.number

    def is_opening(self) -> bool:
        """Whether a folder is being read in the background (:meth:`start_opening`)."""
        return self._listing is not None

    def on_listed(self, number: int, listing: FolderListing) -> None:
        """The runner read the folder of request ``number``: open it (a failure is a
        message; the folder open before stays)."""
        request = self._listing
        if request is None or request.number != number:
            return  # superseded by a newer request
        self._listing = None
        files = None if request.files is None else list(request.files)
        try:
            self.open_folder(listing.folder, request.annotations, files, listing)
        except SamlabelError as error:
            self.session._message("error", str(error))

    def on_list_failed(self, number: int, text: str) -> None:
        """The folder of request ``number`` could not be listed: say so."""
        if self._listing is not None and self._listing.number == number:
            self._listing = None
            self.session._message("error", text)

    def open_folder(
        self,
        folder: str | Path,
        annotations: str | Path | None = None,
        files: list[Path] | None = None,
        listing: FolderListing | None = None,
    ) -> None:
        """Open the images of ``folder`` (or just ``files``) with their annotations file, all
        or nothing (:mod:`samlabel.session.folder_switch`); unreadable images are listed as
        broken entries. ``listing``: the folder already read (:meth:`start_opening`); None
        reads it now, on this thread. Being the newest request, it supersedes a listing still
        in progress (whose answer is then dropped), whether it succeeds or not.

        Raises:
            SamlabelError: the folder or its annotations file cannot be opened; the folder
                open before stays as it was (and the annotations file is left untouched).
        """
        self._listing = None
        s = self.session
        ready = prepare_folder(
            folder,
            annotations,
            files,
            s._open_store,
            lambda text: s._message("error", text),
            lambda path: s.close_folder() if path == s.annotations_path else None,
            listing,
        )
        s.close_folder()
        s._unsubscribe()
        s.document, s.store, s.images = ready.store.document, ready.store, ready.images
        s.folder, s.annotations_path = ready.folder, ready.path
        s._unsubscribe = s.document.subscribe(s._on_document_changed)
        s.edits.reset()
        s.listed_revision = s.document.revision  # records added by listing are no work
        ready.store.attach(s.file.on_outcome, s.file.check)
        s.events.folder_opened.emit()
        s.file.opened()
        for text in opening_warnings(s.images, ready.path):
            s._message("warning", text)
        s.events.document_changed.emit()
        if s.images.paths:
            s.go_to(0)
        else:
            s._message("warning", f"No images found in {ready.folder}.")
            s.events.image_changed.emit()

    def has_unsaved_work(self) -> bool:
        """Whether closing now would lose something the user did: accepts on their way, or
        changes not on disk (image records the listing added are not counted: the next
        open adds them again)."""
        s = self.session
        if not s.accepts.is_idle():
            return True
        if s.store is None or s.store.is_saved():
            return False
        return s.document.revision != s.listed_revision

    def close_folder(self) -> None:
        """Add the accepts on their way, save and close the annotations file."""
        s = self.session
        s.flush_accepts()
        if s.store is not None:
            s.store.close()
            s.store = None
            s.file.closed()
        s.row = -1
        s._leave_image()

    def on_replaced(self) -> None:
        """The file's content replaced the document's (ids and names may differ): the image
        list is matched again; the current image stays."""
        s = self.session
        if s.store is None:
            return
        s.annotations_path = Path(s.store.store.path)  # save-as may have moved it
        s.images = list_folder(s.document, list(s.images.paths), s.annotations_path)
        s.edits.on_document_changed(True)
        s.edits.selected_annotation = None  # its id may now name another annotation
        s.listed_revision = s.document.revision
        s.events.folder_opened.emit()
        s.events.image_changed.emit()
        s.events.document_changed.emit()
