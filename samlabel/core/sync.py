"""Resume work on a folder: match the images found on disk with those of the document."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from samlabel.core.document import Document
from samlabel.core.model import ImageRecord
from samlabel.core.stack_frames import stack_frame


@dataclass(frozen=True)
class SyncReport:
    """What :func:`sync_images` found.

    ``missing`` images stay in the document with all their annotations: a disconnected
    drive or a renamed folder must not cost the user's work. The GUI shows them to the user.
    """

    added: tuple[ImageRecord, ...]
    missing: tuple[ImageRecord, ...]
    present: tuple[ImageRecord, ...]


def sync_images(
    document: Document,
    found_files: Iterable[str],
    size_of: Callable[[str], tuple[int, int]],
    stacks: Iterable[str] = (),
) -> SyncReport:
    """Add the images found on disk that the document lacks; report those it has but disk lacks.

    Args:
        document: the document to update (adding images is not an undoable edit).
        found_files: file names relative to the annotations file's folder, ``/``-separated.
        size_of: ``file_name -> (H, W)``, called only for new images (reading a header costs).
        stacks: the uris of the stacks found (their frame records are added by
            :func:`samlabel.core.stack_frames.add_stack_frames`); a frame record is missing
            only when its stack is.
    """
    found = list(dict.fromkeys(found_files))  # keep order, drop duplicates
    known = {image.file_name: image for image in document.images}
    new_names = [name for name in found if name not in known]
    records = []
    for name in new_names:
        height, width = size_of(name)
        records.append((name, width, height))
    added = document.add_images(records, undoable=False)
    found_set, stack_set = set(found), set(stacks)

    def is_found(image: ImageRecord) -> bool:
        where = stack_frame(image)
        return where.uri in stack_set if where is not None else image.file_name in found_set

    missing = tuple(image for image in document.images if not is_found(image))
    present = tuple(image for name in found if (image := known.get(name)) is not None)
    return SyncReport(added=tuple(added), missing=missing, present=present)
