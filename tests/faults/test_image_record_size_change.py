"""An image replaced on disk by a different-sized one: said, annotations kept, new ones
refused with a sentence until the user rescales them or sets them aside as stale."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from samlabel.cli import main
from samlabel.core.errors import MaskSizeError, SamlabelError
from samlabel.core.masks import empty_mask
from samlabel.io.coco import load_coco
from samlabel.io.image_record import (
    STALE_FIELD,
    adopt_size_and_rescale,
    check_image_file,
    set_aside_as_stale,
)
from samlabel.io.store import AnnotationStore


def _png(path, width: int, height: int) -> None:
    Image.fromarray(np.zeros((height, width, 3), dtype=np.uint8)).save(path)


@pytest.fixture
def labelled(tmp_path):
    """A folder whose a.png (40x20, W x H) has two masks, then is replaced by a 20x40 one."""
    _png(tmp_path / "a.png", 40, 20)
    _png(tmp_path / "b.png", 10, 10)
    store = AnnotationStore.open(tmp_path / "annotations.json")
    doc = store.document
    doc.add_images([("a.png", 40, 20), ("b.png", 10, 10)], undoable=False)
    doc.add_category("tree")
    for x in (4, 20):
        mask = empty_mask(20, 40)
        mask[4:12, x : x + 8] = True
        doc.add_annotation(1, 1, mask)
    store.save()
    _png(tmp_path / "a.png", 20, 40)  # another tool rotated it
    yield store
    store.close()


def test_the_change_is_described_and_the_annotations_are_kept(labelled, tmp_path):
    store = labelled
    assert check_image_file(store.document, 2, tmp_path) is None
    change = check_image_file(store.document, 1, tmp_path)
    assert change.recorded == (20, 40) and change.on_disk == (40, 20) and change.rotated
    text = change.describe()
    assert "a.png is now 20x40" in text and "was 40x20" in text and "rotated" in text
    assert "2 annotations are kept" in text
    assert len(store.document.annotations_for_image(1)) == 2
    store.save()
    assert len(load_coco(store.path).document.annotations) == 2


def test_a_mask_of_the_new_size_is_refused_with_a_sentence(labelled, tmp_path):
    store = labelled
    mask = empty_mask(40, 20)
    mask[1:5, 1:5] = True
    with pytest.raises(MaskSizeError) as caught:
        store.document.add_annotation(1, 1, mask)
    assert isinstance(caught.value, SamlabelError)  # shown as a message, not a traceback
    message = str(caught.value)
    assert "'a.png'" in message and "20x40" in message and "40x20" in message
    assert "not added" in message
    assert len(store.document.annotations) == 2


def test_adopting_the_new_size_rescales_the_masks_and_undo_restores_them(labelled, tmp_path):
    store = labelled
    doc = store.document
    before = doc.state
    change = check_image_file(doc, 1, tmp_path)
    assert adopt_size_and_rescale(doc, change) == 2
    assert doc.image(1).size == (40, 20)
    first = doc.mask(doc.annotations[0].id)
    assert first.shape == (40, 20)
    # x 4..11 of 40 -> 2..5 of 20; y 4..11 of 20 -> 8..23 of 40
    assert first[8:24, 2:6].all() and first.sum() == 16 * 4
    mask = empty_mask(40, 20)
    mask[30:34, 10:14] = True
    doc.add_annotation(1, 1, mask)  # accepted now
    store.save()
    on_disk = load_coco(store.path).document
    assert on_disk.image(1).size == (40, 20) and len(on_disk.annotations) == 3
    doc.undo()
    doc.undo()
    assert doc.state == before


def test_setting_old_annotations_aside_keeps_them_in_the_file(labelled, tmp_path, capsys):
    store = labelled
    doc = store.document
    old = [a.rle.to_coco() for a in doc.annotations]
    change = check_image_file(doc, 1, tmp_path)
    assert set_aside_as_stale(doc, change) == 2
    assert doc.image(1).size == (40, 20) and doc.annotations_for_image(1) == ()
    store.save()
    data = json.loads(store.path.read_text())
    stale = data["images"][0][STALE_FIELD]
    assert [entry["segmentation"] for entry in stale] == old  # verbatim, nothing lost
    assert all("40x20" in entry["samlabel_stale"] for entry in stale)
    assert load_coco(store.path).document.image(1).size == (40, 20)  # the file still loads
    out = tmp_path / "yolo"
    assert main(["export", str(store.path), "--format", "yolo", "--out", str(out)]) == 0
    assert "2 annotations set aside as stale" in capsys.readouterr().out
    doc.undo()
    assert len(doc.annotations_for_image(1)) == 2 and doc.image(1).size == (20, 40)
