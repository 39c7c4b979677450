"""The images of an open folder, their records in the document, the annotations file (no Qt).

:func:`list_folder` matches the files on disk with the annotations file's image records
(adding records for new files, keeping those whose file went missing) and returns the
folder's :class:`FolderImages`: paths in list order and the document id of each.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from samlabel.core.document import Document
from samlabel.core.sync import sync_images
from samlabel.io.stacks import list_items
from samlabel.session.source import image_size
from samlabel.session.stack_items import StackRow, list_rows


class AnnotationFile(Protocol):
    """An open annotations file that saves itself soon after its document changes."""

    document: Document
    read_only_reason: str | None

    def is_saved(self) -> bool:
        """Whether the file holds the document's current revision."""

    def close(self) -> None:
        """Save what is left and release the file."""


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
        image_ids: the document id of each file, same order.
        missing: file names of the document's images that are not on disk (kept).
        stacks: ``{row: StackRow}`` of the rows that are stacks; such a row's path and id are
            those of the frame being shown (:mod:`samlabel.session.stack_navigation`).
    """

    paths: tuple[Path, ...] = ()
    image_ids: tuple[int, ...] = ()
    missing: tuple[str, ...] = ()
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


def list_folder(document: Document, paths: list[Path], annotations_path: Path) -> FolderImages:
    """Match ``paths`` with ``document``'s image records (names relative to the annotations
    file's folder); images new to the document are added with the size read from their
    header. A stack is one row showing its first frame, each frame with its own record."""
    root = annotations_path.parent
    plain, stacks = list_rows(document, paths, root)
    names = [relative_name(path, root) for path in plain]
    by_name = dict(zip(names, plain, strict=True))
    uris = [row.uri for row in stacks.values()]
    report = sync_images(document, names, lambda name: image_size(by_name[name]), uris)
    rows = [stacks[i].frame_path(0) if i in stacks else p for i, p in enumerate(paths)]
    ids = tuple(
        stacks[i].frame_ids[0] if i in stacks else document.image_by_name(relative_name(p, root)).id
        for i, p in enumerate(paths)
    )
    missing = tuple(r.file_name for r in report.missing)
    return FolderImages(tuple(rows), ids, missing, stacks)


def opening_warnings(store: AnnotationFile, images: FolderImages, path: Path) -> list[str]:
    """What the user must know after opening ``path``: it is read-only, images it lists are
    missing from the folder."""
    warnings = []
    if store.read_only_reason:
        warnings.append(f"Changes will not be saved: {store.read_only_reason}")
    if images.missing:
        warnings.append(
            f"{len(images.missing)} image(s) of {path.name} are not in the folder; their "
            "annotations are kept."
        )
    return warnings
