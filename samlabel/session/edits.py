"""Edits of the document: annotations, categories, image status, and what is selected.

A part of :class:`samlabel.session.session.LabellingSession` (``session.edits``), kept apart so
each file has one job; every method is one undoable document operation or a change of the
current category or selected annotation, which it owns.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from samlabel.core.document import Document
from samlabel.core.model import ImageRecord, ImageStatus
from samlabel.session.events import SessionEvents
from samlabel.session.review import edit_reviews, mark_reviewed

DEFAULT_CATEGORY = "object"


class DocumentEdits:
    """Annotation and category operations on the session's document.

    Attributes:
        current_category: id of the category accepted masks go to, or None (no categories).
        selected_annotation: id of the highlighted annotation (brush and eraser target).
    """

    def __init__(
        self,
        document: Callable[[], Document],
        image_record: Callable[[], ImageRecord | None],
        events: SessionEvents,
    ) -> None:
        """``document()`` and ``image_record()`` give the session's current ones."""
        self._document = document
        self._image_record = image_record
        self._events = events
        self.current_category: int | None = None
        self.selected_annotation: int | None = None
        #: ``refuses(image_id)``: whether masks of that image cannot be edited now, telling
        #: the user why (the session's size guard: its file changed size).
        self.refuses: Callable[[int], bool] = lambda image_id: False

    @property
    def document(self) -> Document:
        """The session's document."""
        return self._document()

    def _message(self, level: str, text: str) -> None:
        self._events.message.emit(level, text)

    def reset(self) -> None:
        """A document was opened: the first category is current, nothing selected."""
        categories = self.document.categories
        self.current_category = categories[0].id if categories else None
        self.selected_annotation = None

    def on_document_changed(self, categories_changed: bool) -> None:
        """Forget a selection or current category that the change removed."""
        state = self.document.state
        if self.selected_annotation not in state.annotation_index:
            self.selected_annotation = None
        if categories_changed and self.current_category not in state.category_index:
            categories = self.document.categories
            self.current_category = categories[0].id if categories else None

    def ensure_category(self) -> int:
        """The current category id, creating a first category when there is none."""
        if self.current_category is None or self.current_category not in {
            c.id for c in self.document.categories
        }:
            if not self.document.categories:
                self.add_category(DEFAULT_CATEGORY)
            self.current_category = self.document.categories[0].id
        return self.current_category

    # -- annotations -------------------------------------------------------------------
    def select_annotation(self, annotation_id: int | None) -> None:
        """Highlight an annotation (the target of brush and eraser)."""
        self.selected_annotation = annotation_id
        self._events.document_changed.emit()

    def delete_annotation(self, annotation_id: int) -> None:
        """Delete one annotation (undoable)."""
        self.document.delete_annotation(annotation_id)
        if self.selected_annotation == annotation_id:
            self.selected_annotation = None

    def move_annotation(self, annotation_id: int, delta: int) -> None:
        """Move in the drawing order: +1 towards the top, -1 towards the bottom."""
        annotation = self.document.annotation(annotation_id)
        group = self.document.annotations_for_image(annotation.image_id)
        index = [a.id for a in group].index(annotation_id) + delta
        if 0 <= index < len(group):
            self.document.reorder(annotation_id, index)

    def set_annotation_category(self, annotation_id: int, category_id: int) -> None:
        """Change the category of an annotation."""
        with edit_reviews(self.document, annotation_id, "Set category"):
            self.document.set_category(annotation_id, category_id)

    def confirm_review(self, annotation_id: int | None) -> bool:
        """Mark a proposal of ``samlabel auto`` reviewed as it is (undoable); False when it
        was not one."""
        if annotation_id is None:
            return False
        return mark_reviewed(self.document, [annotation_id], "Mark reviewed")

    def brush(self, points: np.ndarray, radius: float, erase: bool) -> None:
        """Paint or erase the selected annotation along ``points`` ``(N, 2)`` image pixels."""
        if self.selected_annotation is None:
            self._message("info", "Select a mask in the layer panel to touch it up.")
            return
        if self.refuses(self.document.annotation(self.selected_annotation).image_id):
            return
        with edit_reviews(self.document, self.selected_annotation, "Brush stroke"):
            result = self.document.brush_stroke(
                self.selected_annotation, [tuple(p) for p in points], radius, erase
            )
        if result is None:
            self.selected_annotation = None

    def toggle_done(self) -> None:
        """Mark the current image done, or back to in progress."""
        record = self._image_record()
        if record is None:
            return
        done = record.status is ImageStatus.DONE
        has_annotations = bool(self.document.annotations_for_image(record.id))
        if done:
            status = ImageStatus.IN_PROGRESS if has_annotations else ImageStatus.UNLABELLED
        else:
            status = ImageStatus.DONE
        self.document.set_image_status(record.id, status)

    # -- categories --------------------------------------------------------------------
    def add_category(self, name: str, color: str | None = None) -> int:
        """Add a category and make it current; returns its id."""
        category = self.document.add_category(name, color)
        self.current_category = category.id
        self._events.document_changed.emit()
        return category.id

    def set_current_category(self, category_id: int) -> None:
        """Accepted masks go to ``category_id`` from now on."""
        if category_id in {c.id for c in self.document.categories}:
            self.current_category = category_id
            self._events.document_changed.emit()

    def choose_category_number(self, number: int) -> None:
        """Make the ``number``-th category (1-based) current."""
        categories = self.document.categories
        if 1 <= number <= len(categories):
            self.set_current_category(categories[number - 1].id)

    def delete_category(self, category_id: int) -> None:
        """Delete a category and its annotations (undoable)."""
        self.document.delete_category(category_id)
        if self.current_category == category_id:
            self.current_category = (
                self.document.categories[0].id if self.document.categories else None
            )
