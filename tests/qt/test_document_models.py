"""The Qt item models over the document, tested without any view (as napari does)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from samlabel.core.document import Document
from samlabel.qt.document_models import (
    CategoryListModel,
    ColorRole,
    DocumentBridge,
    IdRole,
    LayerListModel,
)


def _mask(x0: int) -> np.ndarray:
    mask = np.zeros((20, 30), bool, order="F")
    mask[2:8, x0 : x0 + 5] = True
    return mask


def test_layers_list_the_current_image_topmost_first_and_follow_edits(qtbot) -> None:
    document = Document()
    image, other = document.add_images([("a.png", 30, 20), ("b.png", 30, 20)])
    category = document.add_category("cell", "#112233")
    bridge = DocumentBridge(document)
    layers = LayerListModel(bridge)
    layers.set_image(image.id)
    first = document.add_annotation(image.id, category.id, _mask(0), score=0.9)
    second = document.add_annotation(image.id, category.id, _mask(10))
    document.add_annotation(other.id, category.id, _mask(20))
    assert layers.annotation_ids() == [second.id, first.id]
    text = layers.data(layers.index(1), Qt.ItemDataRole.DisplayRole)
    assert "cell" in text and "30 px" in text and "IoU 0.90" in text
    with qtbot.waitSignal(layers.modelReset):
        document.reorder(second.id, 0)
    assert layers.annotation_ids() == [first.id, second.id]
    layers.setData(layers.index(0), Qt.CheckState.Unchecked, Qt.ItemDataRole.CheckStateRole)
    assert not layers.is_visible(first.id)
    document.undo()
    assert layers.annotation_ids() == [second.id, first.id]
    document.rename_category(category.id, "nucleus")
    assert "nucleus" in layers.data(layers.index(0), Qt.ItemDataRole.DisplayRole)


def test_categories_rename_in_place_and_refuse_duplicates(qtbot) -> None:
    document = Document()
    bridge = DocumentBridge(document)
    categories = CategoryListModel(bridge)
    document.add_category("road", "#aabbcc")
    document.add_category("car")
    assert categories.rowCount() == 2
    assert categories.data(categories.index(0), ColorRole) == "#aabbcc"
    assert categories.data(categories.index(1), IdRole) == document.categories[1].id
    assert categories.setData(categories.index(1), "truck")
    assert not categories.setData(categories.index(1), "road")  # taken
    assert not categories.setData(categories.index(1), "  ")
    assert [c.name for c in document.categories] == ["road", "truck"]
    replacement = Document()
    replacement.add_category("only")
    with qtbot.waitSignal(categories.modelReset):
        bridge.set_document(replacement)
    assert categories.rowCount() == 1 and categories.category(0).name == "only"
