"""The images of an open folder, their records in the document, the annotations file (no Qt).

:func:`list_folder` matches the files on disk with the annotations file's image records
(adding records for new files, keeping those whose file went missing) and returns the
folder's :class:`FolderImages`: paths in list order and the document id of each.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from samlabel.core.document import Document
from samlabel.core.sync import sync_images
from samlabel.session.source import image_size, list_images


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
    """

    paths: tuple[Path, ...] = ()
    image_ids: tuple[int, ...] = ()
    missing: tuple[str, ...] = ()

    def row_of(self, image_id: int) -> int | None:
        """The list row of document image ``image_id``, None when not listed."""
        try:
            return self.image_ids.index(image_id)
        except ValueError:
            return None


def folder_paths(folder: Path, files: list[Path] | None) -> list[Path]:
    """The files to label: ``files`` (resolved) when given, else the images of ``folder``."""
    return [Path(p).resolve() for p in files] if files else list_images(folder)


def list_folder(document: Document, paths: list[Path], annotations_path: Path) -> FolderImages:
    """Match ``paths`` with ``document``'s image records (names relative to the annotations
    file's folder); images new to the document are added with the size read from their
    header."""
    root = annotations_path.parent
    names = [relative_name(path, root) for path in paths]
    by_name = dict(zip(names, paths, strict=True))
    report = sync_images(document, names, lambda name: image_size(by_name[name]))
    ids = tuple(document.image_by_name(name).id for name in names)
    return FolderImages(tuple(paths), ids, tuple(r.file_name for r in report.missing))


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
