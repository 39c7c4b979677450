"""Opening a folder, all or nothing: the session's part that switches folders (no Qt).

:class:`FolderSwitching` holds the session's methods that open and close a folder and follow
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

from samlabel.core.errors import SamlabelError
from samlabel.session.images import (
    AnnotationFile,
    FolderImages,
    StoreOpener,
    folder_paths,
    list_folder,
    opening_warnings,
)


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
) -> PreparedFolder:
    """List ``folder`` (or ``files``) and open its annotations file (default
    ``folder/annotations.json``), changing nothing of the open folder.

    ``release_same_file(path)`` is called before ``path`` is opened (the session closes it
    when it is its own file: its own lock would make it read-only).

    Raises:
        SamlabelError: one sentence naming the folder or file; nothing was opened.
    """
    folder = Path(folder).resolve()
    path = (Path(annotations) if annotations else folder / "annotations.json").resolve()
    try:
        paths = folder_paths(folder, files)
    except OSError as error:
        raise SamlabelError(f"Cannot list the images of {folder}: {error}") from error
    release_same_file(path)
    store = open_store(path, on_error)
    try:
        images = list_folder(store.document, paths, path)
    except (SamlabelError, OSError) as error:
        store.discard()  # nothing of the failed switch is written
        raise SamlabelError(f"Cannot open {folder}: {error}") from error
    return PreparedFolder(folder, path, store, images)


class FolderSwitching:
    """The folder methods of :class:`~samlabel.session.session.LabellingSession` (a mixin: the
    attributes are the session's)."""

    def open_folder(
        self,
        folder: str | Path,
        annotations: str | Path | None = None,
        files: list[Path] | None = None,
    ) -> None:
        """Open the images of ``folder`` (or just ``files``) with their annotations file, all
        or nothing (:mod:`samlabel.session.folder_switch`); unreadable images are listed as
        broken entries.

        Raises:
            SamlabelError: the folder or its annotations file cannot be opened; the folder
                open before stays as it was (and the annotations file is left untouched).
        """
        ready = prepare_folder(
            folder, annotations, files, self._open_store,
            lambda text: self._message("error", text),
            lambda path: self.close_folder() if path == self.annotations_path else None,
        )
        self.close_folder()
        self._unsubscribe()
        self.document, self.store, self.images = ready.store.document, ready.store, ready.images
        self.folder, self.annotations_path = ready.folder, ready.path
        self._unsubscribe = self.document.subscribe(self._on_document_changed)
        self.edits.reset()
        self.listed_revision = self.document.revision  # records added by listing are no work
        ready.store.attach(self.file.on_outcome, self.file.check)
        self.events.folder_opened.emit()
        self.file.opened()
        for text in opening_warnings(self.images, ready.path):
            self._message("warning", text)
        self.events.document_changed.emit()
        if self.images.paths:
            self.go_to(0)
        else:
            self._message("warning", f"No images found in {ready.folder}.")
            self.events.image_changed.emit()

    def has_unsaved_work(self) -> bool:
        """Whether closing now would lose something the user did: accepts on their way, or
        changes not on disk (image records the listing added are not counted: the next
        open adds them again)."""
        if not self.accepts.is_idle():
            return True
        if self.store is None or self.store.is_saved():
            return False
        return self.document.revision != self.listed_revision

    def close_folder(self) -> None:
        """Add the accepts on their way, save and close the annotations file."""
        self.flush_accepts()
        if self.store is not None:
            self.store.close()
            self.store = None
            self.file.closed()
        self.row = -1
        self._leave_image()

    def _on_replaced(self) -> None:
        """The file's content replaced the document's (ids and names may differ): the image
        list is matched again; the current image stays."""
        if self.store is None:
            return
        self.annotations_path = Path(self.store.store.path)  # save-as may have moved it
        self.images = list_folder(self.document, list(self.images.paths), self.annotations_path)
        self.edits.on_document_changed(True)
        self.edits.selected_annotation = None  # its id may now name another annotation
        self.listed_revision = self.document.revision
        self.events.folder_opened.emit()
        self.events.image_changed.emit()
        self.events.document_changed.emit()
