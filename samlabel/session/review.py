"""Annotations to review: what ``samlabel auto`` added as proposals, until a person sees them.

``samlabel auto`` marks each annotation it adds with ``"samlabel_reviewed": false``; an
annotation without the field (or with it true) is reviewed work. The window lists the marked
ones as "to review". A person reviews one by confirming it (Enter or R with it selected),
by editing it (brush, eraser, another category), or by accepting a proposal over it; each
sets the field to true in the same undo step as the edit, so undo brings the mark back.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

from samlabel.core.document import Document
from samlabel.core.model import REVIEWED_FIELD, Annotation


def is_unreviewed(annotation: Annotation) -> bool:
    """Whether ``annotation`` is a proposal of ``samlabel auto`` nobody has reviewed yet."""
    return annotation.extra.get(REVIEWED_FIELD) is False


def unreviewed_ids(document: Document, image_id: int) -> list[int]:
    """Ids of the image's annotations still to review, in drawing order."""
    return [a.id for a in document.annotations_for_image(image_id) if is_unreviewed(a)]


def mark_reviewed(document: Document, annotation_ids: Iterable[int], label: str) -> bool:
    """Mark the unreviewed ones of ``annotation_ids`` reviewed (one undo step ``label``);
    False when none needed it."""
    index = document.state.annotation_index
    ids = [i for i in annotation_ids if i in index and is_unreviewed(index[i])]
    if not ids:
        return False
    document.update_annotation_fields(ids, {REVIEWED_FIELD: True}, label)
    return True


@contextlib.contextmanager
def edit_reviews(document: Document, annotation_id: int | None, label: str) -> Iterator[None]:
    """Run an edit of ``annotation_id`` and mark it reviewed, as one undo step ``label``."""
    annotation = document.state.annotation_index.get(annotation_id)
    if annotation is None or not is_unreviewed(annotation):
        yield
        return
    with document.group(label):
        yield
        if annotation_id in document.state.annotation_index:
            mark_reviewed(document, [annotation_id], label)
