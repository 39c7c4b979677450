"""The images of an open folder, their records in the document, the annotations file (no Qt).

:func:`list_folder` matches the files on disk with the annotations file's image records
(adding records for new files, keeping those whose file went missing) and returns the
folder's :class:`FolderImages`: paths in list order and the document id of each.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from samlabel.core.document import Document
from samlabel.core.errors import SamlabelError
from samlabel.core.sync import sync_images
from samlabel.io.save_outcome import SaveOutcome
from samlabel.io.stacks import list_items
from samlabel.io.store import AnnotationStore
from samlabel.session.source import image_size
from samlabel.session.stack_items import StackHeader, StackRow, list_rows, read_stack_headers


class AnnotationFile(Protocol):
    """An open annotations file that saves itself soon after its document changes."""

    document: Document
    read_only_reason: str | None
    store: AnnotationStore

    def attach(
        self, on_outcome: Callable[[SaveOutcome], None], on_check: Callable[[], None]
    ) -> None:
        """Report each save to ``on_outcome``; call ``on_check`` when the file may have
        changed outside (both on the session's thread)."""

    def is_saved(self) -> bool:
        """Whether the file holds the document's current revision."""

    def close(self) -> None:
        """Save what is left and release the file."""

    def discard(self) -> None:
        """Release the file without saving (a folder switch that did not happen)."""


#: ``open_store(path, on_error)``: opens an annotations file (raises SamlabelError when it
#: cannot be read); ``on_error(text)`` is told when a later save fails.
StoreOpener = Callable[[Path, Callable[[str], None]], AnnotationFile]


def relative_name(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` with forward slashes (COCO ``file_name``)."""
    return Path(os.path.relpath(path, root)).as_posix()


@dataclass(frozen=True)
class FolderImages:
    """The images being labelled.

    Attributes:
        paths: the image files, in list order (absolute).
        image_ids: the document id of each file, same order; None for a broken entry.
        missing: file names of the document's images that are not on disk (kept).
        broken: list row -> why its file cannot be read (a new file whose header does not
            read: listed, but without a record, so nothing can be labelled on it).
        stacks: ``{row: StackRow}`` of the rows that are stacks; such a row's path and id are
            those of the frame being shown (:mod:`samlabel.session.stack_navigation`).
    """

    paths: tuple[Path, ...] = ()
    image_ids: tuple[int | None, ...] = ()
    missing: tuple[str, ...] = ()
    broken: Mapping[int, str] = field(default_factory=dict)
    stacks: dict[int, StackRow] = field(default_factory=dict)

    def row_of(self, image_id: int) -> int | None:
        """The list row of document image ``image_id``, None when not listed."""
        try:
            return self.image_ids.index(image_id)
        except ValueError:
            return None


def folder_paths(folder: Path, files: list[Path] | None) -> list[Path]:
    """The files to label: ``files`` (resolved) when given, else the images of ``folder``
    and its stacks (:func:`samlabel.io.stacks.list_items`), each stack one item."""
    return [Path(p).resolve() for p in files] if files else [p for p, _ in list_items(folder)]


@dataclass(frozen=True, eq=False)
class FolderListing:
    """What opening a folder reads from disk before its annotations file is touched: the
    files to label and the headers of the stacks among them (seconds for a long DICOM
    series). Made by :func:`read_folder` in the runner's work (any thread), then used on
    the session's thread by :func:`~samlabel.session.folder_switch.prepare_folder`.

    Attributes:
        folder: the folder (resolved).
        paths: the files and stacks to list, in order (absolute).
        stacks: the stacks among ``paths`` with their headers.
    """

    folder: Path
    paths: tuple[Path, ...]
    stacks: Mapping[Path, StackHeader]


def read_folder(folder: str | Path, files: list[Path] | None = None) -> FolderListing:
    """List ``folder`` (or ``files``) and read its stacks' headers; changes nothing.

    Raises:
        SamlabelError: the folder cannot be listed (one sentence naming it).
    """
    folder = Path(folder).resolve()
    try:
        paths = folder_paths(folder, files)
    except OSError as error:
        raise SamlabelError(f"Cannot list the images of {folder}: {error}") from error
    return FolderListing(folder, tuple(paths), read_stack_headers(paths))


def list_folder(
    document: Document,
    paths: list[Path],
    annotations_path: Path,
    stack_headers: Mapping[Path, StackHeader] | None = None,
) -> FolderImages:
    """Match ``paths`` with ``document``'s image records (names relative to the annotations
    file's folder); images new to the document are added with the size read from their
    header. A stack is one row showing its first frame, each frame with its own record. A
    new file whose header cannot be read (empty, truncated, not an image) is a broken entry:
    listed, without a record, so the folder still opens. ``stack_headers``: read
    beforehand (:func:`read_folder`); None reads them now."""
    root = annotations_path.parent
    plain, stacks = list_rows(document, paths, root, stack_headers)
    names = [relative_name(path, root) for path in plain]
    known = {image.file_name for image in document.images}
    sizes: dict[str, tuple[int, int]] = {}
    broken: dict[str, str] = {}
    for name, path in zip(names, plain, strict=True):
        if name in known or name in sizes:
            continue
        try:
            sizes[name] = image_size(path)
        except (SamlabelError, OSError) as error:
            broken[name] = broken_reason(path, error)
    listed = [name for name in names if name not in broken]
    uris = [row.uri for row in stacks.values()]
    report = sync_images(document, listed, sizes.__getitem__, uris)
    rows: list[Path] = []
    ids: list[int | None] = []
    broken_rows: dict[int, str] = {}
    for row, path in enumerate(paths):
        if row in stacks:
            rows.append(stacks[row].frame_path(0))
            ids.append(stacks[row].frame_ids[0])
            continue
        rows.append(path)
        name = relative_name(path, root)
        if name in broken:
            ids.append(None)
            broken_rows[row] = broken[name]
        else:
            ids.append(document.image_by_name(name).id)
    missing = tuple(r.file_name for r in report.missing)
    return FolderImages(tuple(rows), tuple(ids), missing, broken=broken_rows, stacks=stacks)


def broken_reason(path: Path, error: Exception) -> str:
    """Which image cannot be read, why, and what to do."""
    text = str(error).rstrip(".") if path.name in str(error) else f"Cannot read {path}: {error}"
    return f"{text}; replace or remove the file, then open the folder again."


def opening_warnings(images: FolderImages, path: Path) -> list[str]:
    """What the user must know after opening ``path``: images that cannot be read, images it
    lists that are missing from the folder (a read-only file is a lasting notice of the
    session's file guard)."""
    warnings = []
    if images.broken:
        count = len(images.broken)
        first = images.paths[min(images.broken)].name
        warnings.append(
            f"{count} image(s) cannot be read (the first: {first}); they are marked in the "
            "image list."
        )
    if images.missing:
        warnings.append(
            f"{len(images.missing)} image(s) of {path.name} are not in the folder; their "
            "annotations are kept."
        )
    return warnings
