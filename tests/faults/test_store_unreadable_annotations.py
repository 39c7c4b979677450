"""Annotations the reader cannot make sense of are kept, not fatal (issue 12).

Once, one malformed annotation (a segmentation of the wrong type, a bbox that is a string, a
missing image_id) made the whole annotations file fail to open: hours of other work out of
reach until someone fixed the JSON by hand. Now the readable annotations load, the others are
kept verbatim and written back at every save (also through reloads, merges and save-as), and
the store says how many and why.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from samlabel.core.errors import AnnotationFileError
from samlabel.core.masks import empty_mask, encode_mask
from samlabel.io.coco import load_coco
from samlabel.io.save_outcome import SaveKind
from samlabel.io.store import AnnotationStore

BAD = [
    {"id": 7, "image_id": 1, "category_id": 1, "segmentation": "polygon please", "iscrowd": 0},
    {"id": 8, "image_id": 1, "category_id": 1, "segmentation": [[0, 0, 4, 0, 4, 4]], "bbox": "1"},
    {"id": 9, "category_id": 1, "segmentation": [[0, 0, 4, 0, 4, 4]], "iscrowd": 0},
    "not even an object",
]


def _good(annotation_id: int) -> dict:
    mask = empty_mask(6, 8)
    mask[1:4, 2:6] = True
    return {
        "id": annotation_id,
        "image_id": 1,
        "category_id": 1,
        "segmentation": encode_mask(mask).to_coco(),
        "area": 12,
        "bbox": [2, 1, 4, 3],
        "iscrowd": 0,
    }


def write_mixed(path: Path) -> dict:
    """Two readable annotations around four unreadable ones."""
    data = {
        "info": {"description": "survey"},
        "images": [{"id": 1, "file_name": "a.png", "width": 8, "height": 6}],
        "categories": [{"id": 1, "name": "tree"}],
        "annotations": [_good(3), *BAD, _good(12)],
    }
    path.write_text(json.dumps(data), "utf-8")
    return data


def kept_on_disk(path: Path) -> list:
    """The annotations on disk that are not readable ones."""
    return [a for a in json.loads(path.read_text("utf-8"))["annotations"] if a in BAD]


def test_readable_ones_load_the_others_are_said_and_written_back_verbatim(tmp_path):
    path = tmp_path / "annotations.json"
    write_mixed(path)
    with pytest.raises(AnnotationFileError, match="annotation 7"):
        load_coco(path)  # the strict reader (exports) still refuses
    store = AnnotationStore.open(path)
    assert [a.id for a in store.document.annotations] == [3, 12]
    assert len(store.unreadable) == 4
    assert "annotation 7 (annotations[1]) has no usable segmentation" in store.unreadable[0]
    assert "annotation 8 (annotations[2]) has a bbox '1' that is not four" in store.unreadable[1]
    assert "'image_id'" in store.unreadable[2]
    assert "annotations[4] is not a JSON object" in store.unreadable[3]
    mask = empty_mask(6, 8)
    mask[0, 0] = True
    added = store.document.add_annotation(1, 1, mask)
    assert added.id == 13  # never an id an unreadable one keeps in the file
    assert store.save().kind is SaveKind.SAVED
    assert kept_on_disk(path) == BAD
    coco = json.loads(path.read_text("utf-8"))
    assert [a["id"] for a in coco["annotations"] if isinstance(a, dict)] == [3, 12, 13, 7, 8, 9]
    assert coco["info"]["description"] == "survey"
    store.close()
    again = AnnotationStore.open(path)
    assert len(again.unreadable) == 4 and len(again.document.annotations) == 3
    again.close()


def test_they_survive_a_reload_a_merge_and_save_as(tmp_path):
    path = tmp_path / "annotations.json"
    write_mixed(path)
    store = AnnotationStore.open(path)
    store.document.add_category("ours")
    # Another program adds a category meanwhile: merged at our save, theirs and ours kept.
    data = json.loads(path.read_text("utf-8"))
    data["categories"].append({"id": 5, "name": "theirs"})
    time.sleep(0.01)
    path.write_text(json.dumps(data), "utf-8")
    os.utime(path, ns=(time.time_ns(), time.time_ns()))
    assert store.save().kind is SaveKind.MERGED
    assert kept_on_disk(path) == BAD
    store.reload()
    assert len(store.unreadable) == 4
    store.document.add_category("after reload")
    store.save()
    assert kept_on_disk(path) == BAD
    other = tmp_path / "elsewhere" / "annotations.json"
    other.parent.mkdir()
    store.save_as(other)
    assert kept_on_disk(other) == BAD
    store.close()


def test_an_unreadable_annotation_another_program_adds_is_merged_kept_and_said(tmp_path):
    path = tmp_path / "annotations.json"
    data = write_mixed(path)
    data["annotations"] = [_good(3)]
    path.write_text(json.dumps(data), "utf-8")
    store = AnnotationStore.open(path)
    assert store.unreadable == ()
    store.document.add_category("ours")  # unsaved here
    data["annotations"].append(BAD[0])  # theirs: one the reader cannot read
    time.sleep(0.01)
    path.write_text(json.dumps(data), "utf-8")
    outcome = store.save()
    assert outcome.kind is SaveKind.MERGED
    assert "changed the annotations samlabel cannot read" in outcome.message
    assert kept_on_disk(path) == [BAD[0]]
    assert len(store.unreadable) == 1 and "annotation 7" in store.unreadable[0]
    assert [c.name for c in store.document.categories] == ["tree", "ours"]
    store.close()
