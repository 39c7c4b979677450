"""Resuming a folder: new images are added, vanished ones reported and kept."""

from __future__ import annotations

from samlabel.core.document import Document
from samlabel.core.masks import empty_mask
from samlabel.core.sync import sync_images


def test_sync_adds_new_reports_missing_and_keeps_their_annotations():
    doc = Document()
    doc.add_images([("a.png", 8, 6), ("gone.png", 8, 6)], undoable=False)
    cat = doc.add_category("x")
    mask = empty_mask(6, 8)
    mask[1:3, 1:3] = True
    ann = doc.add_annotation(2, cat.id, mask)
    asked = []

    def size_of(name):
        asked.append(name)
        return (10, 20)

    report = sync_images(doc, ["a.png", "sub/new.jpg", "a.png"], size_of)
    assert asked == ["sub/new.jpg"]  # known images are not re-read
    assert [i.file_name for i in report.added] == ["sub/new.jpg"]
    assert report.added[0].size == (10, 20)
    assert [i.file_name for i in report.missing] == ["gone.png"]
    assert [i.file_name for i in report.present] == ["a.png"]
    assert doc.annotation(ann.id).image_id == 2  # the missing image keeps its work
    assert [i.file_name for i in doc.images] == ["a.png", "gone.png", "sub/new.jpg"]
    # Opening a folder is not an edit: undo does not remove the found images.
    doc.undo()
    doc.undo()
    assert len(doc.images) == 3
