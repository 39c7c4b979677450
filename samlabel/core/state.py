"""An immutable snapshot of a document, and the change event computed between two snapshots.

Operations build a new :class:`DocumentState` from the old one, sharing every unchanged
record; undo puts the old snapshot back, so undo returns the *exact* earlier document. A
snapshot can be read from another thread (the autosaver) while the GUI thread edits.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from samlabel.core.model import Annotation, Category, ImageRecord


@dataclass(frozen=True)
class DocumentState:
    """Everything a document holds at one moment.

    ``annotations`` is in draw order: later ones are drawn over earlier ones (per image,
    the order of appearance here is the stacking order). ``next_*_id`` are the ids the next
    added records get, so ids stay stable and are never reused within an undo history.
    """

    images: tuple[ImageRecord, ...] = ()
    categories: tuple[Category, ...] = ()
    annotations: tuple[Annotation, ...] = ()
    next_image_id: int = 1
    next_category_id: int = 1
    next_annotation_id: int = 1

    @cached_property
    def image_index(self) -> dict[int, ImageRecord]:
        return {image.id: image for image in self.images}

    @cached_property
    def category_index(self) -> dict[int, Category]:
        return {category.id: category for category in self.categories}

    @cached_property
    def annotation_index(self) -> dict[int, Annotation]:
        return {annotation.id: annotation for annotation in self.annotations}

    @cached_property
    def by_image(self) -> dict[int, tuple[Annotation, ...]]:
        """image id -> its annotations in draw order (images without any are absent)."""
        groups: dict[int, list[Annotation]] = {}
        for annotation in self.annotations:
            groups.setdefault(annotation.image_id, []).append(annotation)
        return {image_id: tuple(group) for image_id, group in groups.items()}


@dataclass(frozen=True)
class DocumentChanged:
    """What one change (an edit, an undo or a redo) did to a document.

    Attributes:
        reason: ``"edit"``, ``"undo"``, ``"redo"`` or ``"reset"`` (whole document replaced).
        label: what the change was, e.g. ``"Add annotation"`` (for an undo undoes that).
        image_ids: images whose record, annotations or draw order changed.
        added / removed / modified: annotation ids added, removed, or changed in place
            (mask, category, ...).
        categories_changed: the category list changed (names, colours, ids, order).
        images_changed: image records changed (added, removed, status).
        revision: the document's revision after the change.
    """

    reason: str
    label: str
    image_ids: frozenset[int] = frozenset()
    added: frozenset[int] = frozenset()
    removed: frozenset[int] = frozenset()
    modified: frozenset[int] = frozenset()
    categories_changed: bool = False
    images_changed: bool = False
    revision: int = 0

    @property
    def annotation_ids(self) -> frozenset[int]:
        """Every annotation id added, removed or modified."""
        return self.added | self.removed | self.modified


def diff_states(
    before: DocumentState, after: DocumentState, reason: str, label: str, revision: int
) -> DocumentChanged:
    """The :class:`DocumentChanged` event that turns ``before`` into ``after``.

    Records are compared by identity (operations reuse unchanged ones), so this costs one
    pass over the annotations, with no mask decoding.
    """
    old = before.annotation_index
    new = after.annotation_index
    added = frozenset(new.keys() - old.keys())
    removed = frozenset(old.keys() - new.keys())
    modified = frozenset(k for k in new.keys() & old.keys() if new[k] is not old[k])
    image_ids = {old[k].image_id for k in removed | modified}
    image_ids |= {new[k].image_id for k in added | modified}
    if before.annotations is not after.annotations:
        old_order = {i: tuple(a.id for a in g) for i, g in before.by_image.items()}
        new_order = {i: tuple(a.id for a in g) for i, g in after.by_image.items()}
        image_ids |= {
            i for i in old_order.keys() | new_order.keys() if old_order.get(i) != new_order.get(i)
        }
    images_changed = before.images is not after.images and before.images != after.images
    if images_changed:
        old_images = before.image_index
        new_images = after.image_index
        image_ids |= {
            i
            for i in old_images.keys() | new_images.keys()
            if old_images.get(i) is not new_images.get(i)
        }
    categories_changed = (
        before.categories is not after.categories and before.categories != after.categories
    )
    return DocumentChanged(
        reason=reason,
        label=label,
        image_ids=frozenset(image_ids),
        added=added,
        removed=removed,
        modified=modified,
        categories_changed=categories_changed,
        images_changed=images_changed,
        revision=revision,
    )
