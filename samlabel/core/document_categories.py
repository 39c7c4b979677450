"""Category operations of the document: add, rename, recolour, delete (undoable)."""

from __future__ import annotations

from dataclasses import replace

from samlabel.core.document_core import DocumentCore
from samlabel.core.model import PALETTE, Category, normalize_color


class CategoryEditing(DocumentCore):
    """The category half of :class:`~samlabel.core.document.Document`."""

    def add_category(
        self, name: str, color: str | None = None, supercategory: str | None = None
    ) -> Category:
        """Add a category; without ``color`` the next palette colour is used."""
        name = name.strip()
        if not name:
            raise ValueError("a category needs a name")
        if any(c.name == name for c in self.categories):
            raise ValueError(f"a category named {name!r} already exists")
        color = normalize_color(color) if color else PALETTE[len(self.categories) % len(PALETTE)]
        category = Category(self._state.next_category_id, name, color, supercategory)
        state = replace(
            self._state,
            categories=(*self.categories, category),
            next_category_id=category.id + 1,
        )
        self._commit("Add category", state)
        return category

    def _update_category(self, label: str, category: Category) -> None:
        categories = tuple(category if c.id == category.id else c for c in self.categories)
        self._commit(label, replace(self._state, categories=categories))

    def rename_category(self, category_id: int, name: str) -> None:
        name = name.strip()
        if not name:
            raise ValueError("a category needs a name")
        if any(c.name == name and c.id != category_id for c in self.categories):
            raise ValueError(f"a category named {name!r} already exists")
        self._update_category("Rename category", replace(self.category(category_id), name=name))

    def recolour_category(self, category_id: int, color: str) -> None:
        category = replace(self.category(category_id), color=normalize_color(color))
        self._update_category("Change category colour", category)

    def set_supercategory(self, category_id: int, supercategory: str | None) -> None:
        category = replace(self.category(category_id), supercategory=supercategory or None)
        self._update_category("Change supercategory", category)

    def delete_category(self, category_id: int, reassign_to: int | None = None) -> None:
        """Delete a category; its annotations move to ``reassign_to`` or are deleted with it."""
        self.category(category_id)
        if reassign_to is not None:
            self.category(reassign_to)
            if reassign_to == category_id:
                raise ValueError("cannot reassign a category's annotations to itself")
            annotations = (
                replace(a, category_id=reassign_to) if a.category_id == category_id else a
                for a in self.annotations
            )
        else:
            annotations = (a for a in self.annotations if a.category_id != category_id)
        state = self._with_annotations(
            annotations, categories=tuple(c for c in self.categories if c.id != category_id)
        )
        self._commit("Delete category", state)
