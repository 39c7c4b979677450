"""Stacks in a COCO document: one image record per frame, one annotation per object per frame.

A frame of a stack (a volume slice, a video frame) is an ordinary image record, so every COCO
tool reads the file; what ties the frames together are extra fields, kept as they are by
other tools and by samlabel's reader:

- ``images[].file_name`` is ``"<stack uri>#<frame>"`` with the frame zero-padded to the width
  of the last index (at least 3 digits), e.g. ``"ct/series1#012"``; unique per frame;
- ``images[].samlabel_stack`` is ``{"uri": "ct/series1", "frame": 12, "frames": 240}``
  (``frame`` 0-based; ``uri`` relative to the annotations file's folder);
- ``annotations[].track_id`` (an integer) is the same for one object on every frame it
  appears on; ``annotations[].samlabel_reviewed`` is false for a mask propagated by the model
  and not yet looked at, true once a person accepted or corrected it (absent: reviewed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from samlabel.core.document import Document
from samlabel.core.model import REVIEWED_FIELD, Annotation, ImageRecord

STACK_FIELD = "samlabel_stack"
TRACK_FIELD = "track_id"


@dataclass(frozen=True)
class StackFrame:
    """Where an image record sits in its stack: ``frame`` of ``frames`` (0-based)."""

    uri: str
    frame: int
    frames: int


def frame_file_name(uri: str, frame: int, frames: int) -> str:
    """``"<uri>#<frame>"``, zero-padded to the width of ``frames - 1`` (at least 3)."""
    width = max(3, len(str(max(0, frames - 1))))
    return f"{uri}#{frame:0{width}d}"


def stack_frame(image: ImageRecord) -> StackFrame | None:
    """The record's place in a stack, or None for a plain image (or an unusable field)."""
    field = image.extra.get(STACK_FIELD)
    if not isinstance(field, Mapping):
        return None
    uri, frame, frames = field.get("uri"), field.get("frame"), field.get("frames")
    if not isinstance(uri, str) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in (frame, frames)
    ):
        return None
    return StackFrame(uri, int(frame), int(frames))  # type: ignore[arg-type]


def stack_images(document: Document, uri: str) -> list[ImageRecord]:
    """The records of the stack ``uri``, in frame order."""
    found = []
    for image in document.images:
        where = stack_frame(image)
        if where is not None and where.uri == uri:
            found.append((where.frame, image))
    return [image for _frame, image in sorted(found, key=lambda item: item[0])]


def add_stack_frames(
    document: Document, uri: str, frames: int, height: int, width: int, undoable: bool = False
) -> list[ImageRecord]:
    """Make sure every frame of the stack has its record; returns all of them in frame order.

    Frames already in the document keep their records (and ids). Sizes are ``(H, W)`` pixels
    of every frame. ``undoable=False`` as for opening a folder: not an edit to undo.
    """
    have = {stack_frame(i).frame for i in stack_images(document, uri)}  # type: ignore[union-attr]
    new = [
        (
            frame_file_name(uri, k, frames),
            width,
            height,
            {STACK_FIELD: {"uri": uri, "frame": k, "frames": frames}},
        )
        for k in range(frames)
        if k not in have
    ]
    if new:
        document.add_images(new, undoable=undoable)
    return stack_images(document, uri)


def track_id_of(annotation: Annotation) -> int | None:
    value = annotation.extra.get(TRACK_FIELD)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def is_reviewed(annotation: Annotation) -> bool:
    """False only for a propagated mask nobody has looked at yet."""
    return annotation.extra.get(REVIEWED_FIELD, True) is not False


def next_track_id(document: Document) -> int:
    """A track id no annotation of the document uses yet (1 for the first)."""
    used = [t for t in map(track_id_of, document.annotations) if t is not None]
    return max(used, default=0) + 1


def track_annotations(document: Document, track_id: int) -> dict[int, Annotation]:
    """``{frame: annotation}`` of one object across its stack's frames, in frame order."""
    frames = {}
    for image in document.images:
        where = stack_frame(image)
        if where is None:
            continue
        for annotation in document.annotations_for_image(image.id):
            if track_id_of(annotation) == track_id:
                frames[where.frame] = annotation
    return dict(sorted(frames.items()))


def add_frame_annotation(
    document: Document,
    image_id: int,
    category_id: int,
    mask: np.ndarray,
    track_id: int,
    reviewed: bool = True,
    score: float | None = None,
    prompts: Mapping[str, Any] | None = None,
) -> Annotation:
    """Add one object's ``(H, W)`` bool mask on one frame, under ``track_id``; a propagated
    mask not yet looked at is added with ``reviewed=False``."""
    extra: dict[str, Any] = {TRACK_FIELD: int(track_id)}
    if not reviewed:
        extra[REVIEWED_FIELD] = False
    return document.add_annotation(image_id, category_id, mask, score, prompts, extra)


def mark_reviewed(document: Document, annotation_ids: list[int]) -> None:
    """A person looked at these propagated masks: one undo step."""
    document.update_annotation_fields(annotation_ids, {REVIEWED_FIELD: True}, "Mark reviewed")


def unreviewed_frames(document: Document, uri: str) -> list[int]:
    """Frames of the stack holding a propagated mask nobody has looked at, in order."""
    frames = []
    for image in stack_images(document, uri):
        if not all(is_reviewed(a) for a in document.annotations_for_image(image.id)):
            frames.append(stack_frame(image).frame)  # type: ignore[union-attr]
    return frames
