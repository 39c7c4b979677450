"""Another program edits the annotations file while it is open: merged, or kept beside ours.

Each case checks the file on disk (nothing lost) and the outcome's message (the user told).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from samlabel.core.masks import empty_mask
from samlabel.io.coco import load_coco
from samlabel.io.save_outcome import SaveKind
from samlabel.io.store import AnnotationStore


def _mask(y: int, x: int):
    mask = empty_mask(20, 30)
    mask[y : y + 4, x : x + 4] = True
    return mask


def _open_labelled(tmp_path: Path) -> AnnotationStore:
    store = AnnotationStore.open(tmp_path / "annotations.json")
    doc = store.document
    doc.add_images([("a.png", 30, 20), ("b.png", 30, 20)], undoable=False)
    doc.add_category("tree")
    doc.add_annotation(1, 1, _mask(1, 1))
    assert store.save().kind is SaveKind.SAVED
    return store


def _edit_outside(path: Path, change) -> bytes:
    """Rewrite the file as another program would (new mtime, different bytes)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    raw = json.dumps(data, indent=2).encode()
    time.sleep(0.01)
    path.write_bytes(raw)
    return raw


def test_other_programs_category_and_description_survive_our_next_saves(tmp_path):
    store = _open_labelled(tmp_path)
    path = store.path

    def add_category_and_description(data):
        data["categories"].append({"id": 7, "name": "rock", "supercategory": ""})
        data["info"]["description"] = "survey 2026"

    theirs = _edit_outside(path, add_category_and_description)
    store.document.add_annotation(2, 1, _mask(5, 5))  # accept again
    outcome = store.save()
    assert outcome.kind is SaveKind.MERGED
    assert str(path) in outcome.message and "another program" in outcome.message
    on_disk = json.loads(path.read_text())
    assert on_disk["info"]["description"] == "survey 2026"
    assert [c["name"] for c in on_disk["categories"]] == ["tree", "rock"]
    assert len(on_disk["annotations"]) == 2
    assert (tmp_path / "annotations.json.bak").read_bytes() == theirs  # backed up as they left it
    # The document holds their changes too, so the next saves keep them.
    assert [c.name for c in store.document.categories] == ["tree", "rock"]
    store.document.add_annotation(1, 7, _mask(10, 10))
    assert store.save().kind is SaveKind.SAVED
    store.document.add_annotation(2, 7, _mask(12, 12))
    assert store.save().kind is SaveKind.SAVED
    for kept in (path, tmp_path / "annotations.json.bak"):
        data = json.loads(kept.read_text())
        assert data["info"]["description"] == "survey 2026"
        assert "rock" in [c["name"] for c in data["categories"]]
    assert len(load_coco(path).document.annotations) == 4
    store.close()


def test_colliding_ids_are_renumbered_and_the_user_is_told_which(tmp_path):
    store = _open_labelled(tmp_path)
    path = store.path
    theirs_annotation = {
        "id": 2,
        "image_id": 2,
        "category_id": 1,
        "segmentation": [[0, 0, 5, 0, 5, 5, 0, 5]],
        "area": 25,
        "bbox": [0, 0, 5, 5],
        "iscrowd": 0,
    }
    _edit_outside(path, lambda data: data["annotations"].append(theirs_annotation))
    ours = store.document.add_annotation(1, 1, _mask(8, 8))
    assert ours.id == 2  # the same id the other program used
    outcome = store.save()
    assert outcome.kind is SaveKind.MERGED
    assert outcome.summary.renumbered == {"annotation": {2: 3}}
    assert "annotation 2 is now 3" in outcome.message
    loaded = load_coco(path).document
    assert {a.id: a.image_id for a in loaded.annotations} == {1: 1, 2: 2, 3: 1}
    assert loaded.annotation(3).rle == ours.rle
    assert store.document.annotation(3).rle == ours.rle
    store.close()


def test_both_sides_changing_one_annotation_keeps_their_file_and_writes_ours_beside(tmp_path):
    store = _open_labelled(tmp_path)
    path = store.path
    store.document.add_category("bush")
    theirs = _edit_outside(path, lambda data: data["annotations"][0].update(category_id=1, note=1))
    store.document.set_category(1, 2)  # the same annotation, changed here too
    outcome = store.save()
    assert outcome.kind is SaveKind.CONFLICT and outcome.persistent
    assert path.read_bytes() == theirs  # exactly as the other program left it
    beside = outcome.conflict_path
    assert beside.parent == tmp_path and beside.name.startswith("annotations.conflict-")
    assert load_coco(beside).document.annotation(1).category_id == 2  # ours, complete
    assert str(path) in outcome.message and str(beside) in outcome.message
    assert "annotation 1" in outcome.message
    assert store.notice == outcome.message  # stays until resolved
    # Later edits keep going to our file, never over theirs.
    store.document.add_annotation(2, 2, _mask(3, 3))
    assert store.save().kind is SaveKind.CONFLICT
    assert path.read_bytes() == theirs
    assert len(load_coco(beside).document.annotations) == 2
    # Taking their version ends the conflict.
    store.reload()
    assert store.notice is None and store.document.annotation(1).extra == {"note": 1}
    store.close()


def test_conflict_copy_never_overwrites_an_existing_file(tmp_path):
    store = _open_labelled(tmp_path)
    path = store.path
    now = time.time()
    taken = {}
    for dt in range(3):
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now + dt))
        name = tmp_path / f"annotations.conflict-{stamp}.json"
        name.write_text("someone else's")
        taken[name] = name.read_bytes()
    theirs = _edit_outside(path, lambda data: data["annotations"].clear())
    store.document.brush_stroke(1, [(20, 10)], 2)  # ours changes the annotation they deleted
    outcome = store.save()
    assert outcome.kind is SaveKind.CONFLICT
    assert "deleted by the other program and changed here" in outcome.message
    assert outcome.conflict_path not in taken and outcome.conflict_path.name.endswith("-2.json")
    for name, content in taken.items():
        assert name.read_bytes() == content
    assert path.read_bytes() == theirs
    store.close()


def test_a_file_that_no_longer_parses_is_kept_and_ours_written_beside(tmp_path):
    store = _open_labelled(tmp_path)
    path = store.path
    time.sleep(0.01)
    path.write_bytes(b'{"images": [')  # another program is half-way through, or broke it
    store.document.add_annotation(2, 1, _mask(2, 2))
    outcome = store.save()
    assert outcome.kind is SaveKind.CONFLICT
    assert "no longer reads as COCO" in outcome.message and "not valid JSON" in outcome.message
    assert path.read_bytes() == b'{"images": ['
    assert len(load_coco(outcome.conflict_path).document.annotations) == 2
    store.close()


def test_outside_change_is_detected_and_reload_is_safe_only_when_nothing_is_unsaved(tmp_path):
    store = _open_labelled(tmp_path)
    path = store.path
    assert not store.check_outside_change().changed
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 5_000_000))  # touched, same bytes
    assert not store.check_outside_change().changed
    _edit_outside(path, lambda data: data["info"].update(description="x"))
    change = store.check_outside_change()
    assert change.changed and change.reload_safe and str(path) in change.message
    store.reload()
    assert store.foreign["info"]["description"] == "x"
    assert not store.check_outside_change().changed
    _edit_outside(path, lambda data: data["info"].update(description="y"))
    store.document.add_category("unsaved")
    change = store.check_outside_change()
    assert change.changed and not change.reload_safe and "unsaved" in change.message
    assert store.save().kind is SaveKind.MERGED
    data = json.loads(path.read_text())
    assert data["info"]["description"] == "y" and data["categories"][-1]["name"] == "unsaved"
    store.close()


def test_file_deleted_outside_is_written_again(tmp_path):
    store = _open_labelled(tmp_path)
    store.path.unlink()
    store.document.add_annotation(2, 1, _mask(2, 2))
    outcome = store.save()
    assert outcome.kind is SaveKind.SAVED and "deleted by another program" in outcome.message
    assert len(load_coco(store.path).document.annotations) == 2
    store.close()


def test_an_image_both_sides_added_is_one_image_and_our_mask_follows_its_id(tmp_path):
    store = _open_labelled(tmp_path)
    path = store.path

    def add_c(data):
        data["images"].append({"id": 3, "file_name": "z.png", "width": 30, "height": 20})
        data["images"].append({"id": 4, "file_name": "c.png", "width": 30, "height": 20})

    _edit_outside(path, add_c)
    (ours,) = store.document.add_images([("c.png", 30, 20)], undoable=False)
    assert ours.id == 3  # their z.png took that id
    store.document.add_annotation(ours.id, 1, _mask(4, 4))
    outcome = store.save()
    assert outcome.kind is SaveKind.MERGED
    loaded = load_coco(path).document
    assert [(i.id, i.file_name) for i in loaded.images] == [
        (1, "a.png"),
        (2, "b.png"),
        (3, "z.png"),
        (4, "c.png"),
    ]
    assert loaded.annotations[-1].image_id == 4
    store.close()


def test_our_mask_on_an_image_they_removed_is_a_conflict_not_a_loss(tmp_path):
    store = _open_labelled(tmp_path)
    path = store.path
    theirs = _edit_outside(path, lambda data: data["images"].pop(1))  # b.png, no masks yet
    store.document.add_annotation(2, 1, _mask(4, 4))
    outcome = store.save()
    assert outcome.kind is SaveKind.CONFLICT and "image 2" in outcome.message
    assert path.read_bytes() == theirs
    assert len(load_coco(outcome.conflict_path).document.annotations) == 2
    store.close()


def test_our_prompts_held_as_tuples_do_not_look_like_their_change(tmp_path):
    """The file reads a prompt's tuples back as lists: that alone is no conflict."""
    store = _open_labelled(tmp_path)
    prompts = {"points": ((3.0, 4.0, 1),), "box": (1, 1, 9, 9)}
    ours = store.document.add_annotation(2, 1, _mask(6, 6), score=0.9, prompts=prompts)
    store.save()
    _edit_outside(store.path, lambda data: data["categories"].append({"id": 5, "name": "rock"}))
    store.document.brush_stroke(ours.id, [(20, 10)], 2)  # ours changes the same annotation
    outcome = store.save()
    assert outcome.kind is SaveKind.MERGED, outcome.message
    loaded = load_coco(store.path).document
    assert loaded.annotation(ours.id).area > ours.area
    assert [c.name for c in loaded.categories] == ["tree", "rock"]
    store.close()


def test_one_new_image_added_on_both_sides_with_different_sizes_is_a_conflict(tmp_path):
    """Our masks are of our size: merging them onto their record would break the file."""
    store = _open_labelled(tmp_path)
    path = store.path
    theirs = _edit_outside(
        path,
        lambda data: data["images"].append(
            {"id": 3, "file_name": "c.png", "width": 20, "height": 30}
        ),
    )
    (ours,) = store.document.add_images([("c.png", 30, 20)], undoable=False)
    assert ours.id == 3  # the same id and name, another size
    store.document.add_annotation(ours.id, 1, _mask(2, 2))
    outcome = store.save()
    assert outcome.kind is SaveKind.CONFLICT and "'c.png'" in outcome.message
    assert path.read_bytes() == theirs
    assert load_coco(outcome.conflict_path).document.image(3).size == (20, 30)
    store.close()


def test_their_resize_of_an_image_we_drew_on_is_a_conflict(tmp_path):
    store = _open_labelled(tmp_path)
    path = store.path

    def resize_b(data):
        data["images"][1].update(width=60, height=40)

    theirs = _edit_outside(path, resize_b)
    store.document.add_annotation(2, 1, _mask(3, 3))  # drawn at the size we know, 30x20
    outcome = store.save()
    assert outcome.kind is SaveKind.CONFLICT and "no longer fits its image 2" in outcome.message
    assert path.read_bytes() == theirs
    assert len(load_coco(outcome.conflict_path).document.annotations) == 2
    store.close()
