"""Fields of annotations and images that tools keep in the file (e.g. ``samlabel auto``)."""

from __future__ import annotations

import numpy as np
import pytest

from samlabel.core.document import Document
from samlabel.io.coco import load_coco
from samlabel.io.coco_write import save_coco


def test_extra_fields_are_saved_loaded_and_undone(tmp_path):
    document = Document()
    image = document.add_image("a.png", 4, 3)
    category = document.add_category("thing")
    mask = np.zeros((3, 4), bool)
    mask[1, 1:3] = True
    annotation = document.add_annotation(
        image.id, category.id, mask, score=0.9, extra={"samlabel_reviewed": False}
    )
    document.set_image_extra(image.id, "samlabel_auto", {"points_per_side": 32})
    path = tmp_path / "annotations.json"
    save_coco(document, path)
    loaded = load_coco(path).document
    assert loaded.annotation(annotation.id).extra == {"samlabel_reviewed": False}
    assert loaded.image(image.id).extra == {"samlabel_auto": {"points_per_side": 32}}

    document.undo()
    assert "samlabel_auto" not in document.image(image.id).extra
    document.set_image_extra(image.id, "samlabel_auto", None)
    with pytest.raises(ValueError):
        document.set_image_extra(image.id, "samlabel_auto", {"bad": float("nan")})
    with pytest.raises(ValueError):
        document.add_annotation(image.id, category.id, mask, extra={"x": object()})
