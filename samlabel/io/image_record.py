"""An image file whose size no longer matches its record (replaced or rotated by another tool).

Call :func:`check_image_file` when an image is opened. While the sizes differ the document
keeps the image's annotations as they are, and refuses masks of the new size
(:class:`samlabel.core.errors.MaskSizeError`). The user then chooses one of two document
operations, each one undoable step:

- :func:`adopt_size_and_rescale`: the record takes the file's size and every mask of the
  image is rescaled to it (nearest neighbour; right for a resized image, not a rotated one);
- :func:`set_aside_as_stale`: the record takes the file's size and the old annotations move,
  unchanged, into the image record's ``samlabel_stale_annotations`` field (complete COCO
  entries plus ``samlabel_stale`` saying why). They stay in the file, out of the way of
  drawing and exports, which need masks of the image's size.

Sizes are ``(H, W)`` in upright pixels, as :func:`samlabel.io.images.read_image_size` gives.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from samlabel.core.document import Document
from samlabel.core.document_core import annotation_from_rle
from samlabel.core.masks import decode_rle, encode_mask
from samlabel.core.stack_frames import stack_frame
from samlabel.io.coco_write import annotation_entry
from samlabel.io.images import read_image_size
from samlabel.io.stacks import open_stack

STALE_FIELD = "samlabel_stale_annotations"


@dataclass(frozen=True)
class ImageSizeChange:
    """What changed: sizes are ``(H, W)``; ``annotations`` counts the image's annotations."""

    image_id: int
    file_name: str
    recorded: tuple[int, int]
    on_disk: tuple[int, int]
    annotations: int

    @property
    def rotated(self) -> bool:
        """Width and height swapped: the file was most likely rotated."""
        return self.on_disk == self.recorded[::-1]

    def describe(self) -> str:
        """One sentence for the user: what changed and what they can do."""
        (rh, rw), (dh, dw) = self.recorded, self.on_disk
        how = "rotated" if self.rotated else "replaced by a different-sized image"
        text = (
            f"{self.file_name} is now {dw}x{dh} pixels (W x H) but was {rw}x{rh} when it was "
            f"labelled, so it was probably {how}"
        )
        if not self.annotations:
            return text + "; its record will take the new size."
        return text + (
            f"; its {self.annotations} annotation{'s' if self.annotations > 1 else ''} are "
            "kept but no new ones can be added until you rescale them to the new size"
            + (" (they will not line up with a rotated image)" if self.rotated else "")
            + " or set them aside as stale."
        )


def compare_image_size(
    document: Document, image_id: int, size: tuple[int, int]
) -> ImageSizeChange | None:
    """The change between the image's record and its decoded ``size`` ``(H, W)``, or None."""
    image = document.image(image_id)
    size = (int(size[0]), int(size[1]))
    if size == image.size:
        return None
    count = len(document.annotations_for_image(image_id))
    return ImageSizeChange(image_id, image.file_name, image.size, size, count)


def check_image_file(document: Document, image_id: int, root: Path) -> ImageSizeChange | None:
    """Compare the file ``root / file_name`` (header only) with its record; a stack frame's
    record (``ct/series1#012``) with its stack's frame size (``root / uri``, headers only).

    Raises ImageReadError (naming the file) when it cannot be read.
    """
    image = document.image(image_id)
    where = stack_frame(image)
    if where is None:
        size = read_image_size(Path(root) / image.file_name)
    else:
        with open_stack(Path(root) / where.uri, root=root) as stack:
            size = stack.frame_size
    return compare_image_size(document, image_id, size)


def _rescale(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of an ``(H, W)`` bool mask to ``size`` ``(H', W')``.

    Output pixel centres map back to input pixels: row r' samples row floor((r'+0.5)*H/H').
    """
    height, width = mask.shape
    rows = np.minimum(((np.arange(size[0]) + 0.5) * height / size[0]).astype(np.int64), height - 1)
    cols = np.minimum(((np.arange(size[1]) + 0.5) * width / size[1]).astype(np.int64), width - 1)
    return np.asfortranarray(mask[np.ix_(rows, cols)])


def adopt_size_and_rescale(document: Document, change: ImageSizeChange) -> int:
    """The record takes the new size and the image's masks are rescaled; returns how many.

    A mask that rescales to nothing (thinner than a pixel) is kept unscaled as stale in the
    image record rather than dropped.
    """
    image = document.image(change.image_id)
    size = change.on_disk
    annotations, stale = [], []
    for a in document.annotations_for_image(image.id):
        rle = encode_mask(_rescale(decode_rle(a.rle), size))
        if rle.area == 0:
            stale.append(_stale_entry(a, change, "vanished when rescaled"))
            continue
        fields = {k: getattr(a, k) for k in ("score", "prompts", "created", "iscrowd", "extra")}
        annotations.append(annotation_from_rle(a.id, a.image_id, a.category_id, rle, **fields))
    extra = dict(image.extra)
    if stale:
        extra[STALE_FIELD] = [*extra.get(STALE_FIELD, []), *stale]
    new = replace(image, height=size[0], width=size[1], extra=extra)
    document.replace_image(new, annotations, "Rescale annotations to the new image size")
    return change.annotations - len(stale)


def _stale_entry(annotation, change: ImageSizeChange, why: str) -> dict:
    (rh, rw) = change.recorded
    entry = annotation_entry(annotation, polygons=False)
    entry["samlabel_stale"] = f"drawn on the image at {rw}x{rh} (W x H); {why}"
    return entry


def set_aside_as_stale(document: Document, change: ImageSizeChange) -> int:
    """The record takes the new size; the old annotations move into its stale field.

    Returns how many were set aside. Undo puts them back as they were.
    """
    image = document.image(change.image_id)
    size = change.on_disk
    why = f"the image file is now {size[1]}x{size[0]}"
    old = document.annotations_for_image(image.id)
    extra = dict(image.extra)
    extra[STALE_FIELD] = [*extra.get(STALE_FIELD, []), *(_stale_entry(a, change, why) for a in old)]
    new = replace(image, height=size[0], width=size[1], extra=extra)
    document.replace_image(new, (), "Set annotations aside as stale")
    return len(old)


def stale_count(document: Document) -> int:
    """How many annotations are set aside as stale in the whole document."""
    return sum(len(i.extra.get(STALE_FIELD, ())) for i in document.images)
