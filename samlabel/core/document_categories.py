"""Category operations of the document: add, rename, recolour, delete (each undoable).

:class:`CategoryEdits` works on the :class:`~samlabel.core.document_core.DocumentCore` that
:class:`~samlabel.core.document.Document` owns and hands it; the document's category methods
are these.
"""

from __future__ import annotations

from dataclasses import replace

from samlabel.core.document_core import DocumentCore
from samlabel.core.model import PALETTE, Category, normalize_color


class CategoryEdits:
    """The category operations of one document, made on its ``core``."""

    def __init__(self, core: DocumentCore) -> None:
        self._core = core

    def add_category(
        self, name: str, color: str | None = None, supercategory: str | None = None
    ) -> Category:
        """Add a category; without ``color`` the next palette colour is used."""
        name = name.strip()
        if not name:
            raise ValueError("a category needs a name")
        if any(c.name == name for c in self._core.categories):
            raise ValueError(f"a category named {name!r} already exists")
        count = len(self._core.categories)
        color = normalize_color(color) if color else PALETTE[count % len(PALETTE)]
        category = Category(self._core.state.next_category_id, name, color, supercategory)
        state = replace(
            self._core.state,
            categories=(*self._core.categories, category),
            next_category_id=category.id + 1,
        )
        self._core.commit("Add category", state)
        return category

    def _update_category(self, label: str, category: Category) -> None:
        categories = tuple(category if c.id == category.id else c for c in self._core.categories)
        self._core.commit(label, replace(self._core.state, categories=categories))

    def rename_category(self, category_id: int, name: str) -> None:
        name = name.strip()
        if not name:
            raise ValueError("a category needs a name")
        if any(c.name == name and c.id != category_id for c in self._core.categories):
            raise ValueError(f"a category named {name!r} already exists")
        category = replace(self._core.category(category_id), name=name)
        self._update_category("Rename category", category)

    def recolour_category(self, category_id: int, color: str) -> None:
        category = replace(self._core.category(category_id), color=normalize_color(color))
        self._update_category("Change category colour", category)

    def set_supercategory(self, category_id: int, supercategory: str | None) -> None:
        category = replace(self._core.category(category_id), supercategory=supercategory or None)
        self._update_category("Change supercategory", category)

    def delete_category(self, category_id: int, reassign_to: int | None = None) -> None:
        """Delete a category; its annotations move to ``reassign_to`` or are deleted with it."""
        self._core.category(category_id)
        if reassign_to is not None:
            self._core.category(reassign_to)
            if reassign_to == category_id:
                raise ValueError("cannot reassign a category's annotations to itself")
            annotations = (
                replace(a, category_id=reassign_to) if a.category_id == category_id else a
                for a in self._core.annotations
            )
        else:
            annotations = (a for a in self._core.annotations if a.category_id != category_id)
        state = self._core.with_annotations(
            annotations, categories=tuple(c for c in self._core.categories if c.id != category_id)
        )
        self._core.commit("Delete category", state)
