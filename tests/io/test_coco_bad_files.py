"""Broken input and failing writes: a clear error naming the file, and nothing lost."""

from __future__ import annotations

import errno
import json
import os
from dataclasses import replace

import numpy as np
import pytest

from samlabel.core.document import Document
from samlabel.core.errors import AnnotationFileError
from samlabel.core.masks import empty_mask
from samlabel.io import atomic
from samlabel.io.coco import load_coco, parse_coco, save_coco
from samlabel.io.store import AnnotationStore


def _valid() -> dict:
    return {
        "images": [{"id": 1, "file_name": "a.png", "width": 4, "height": 3}],
        "categories": [{"id": 1, "name": "x"}],
        "annotations": [
            {
                "id": 1,
                "image_id": 1,
                "category_id": 1,
                "segmentation": {"size": [3, 4], "counts": [1, 2, 9]},
                "iscrowd": 0,
            }
        ],
    }


def _broken(change) -> dict:
    data = _valid()
    change(data)
    return data


def _set(path_in_data, value):
    def change(data):
        target = data
        for key in path_in_data[:-1]:
            target = target[key]
        target[path_in_data[-1]] = value

    return change


CASES = {
    "duplicate image id": (
        lambda d: d["images"].append(dict(d["images"][0])),
        "image id 1 appears more than once",
    ),
    "duplicate annotation id": (
        lambda d: d["annotations"].append(dict(d["annotations"][0])),
        "annotation id 1 appears more than once",
    ),
    "duplicate category id": (
        lambda d: d["categories"].append({"id": 1, "name": "y"}),
        "category id 1 appears more than once",
    ),
    "width is text": (_set(["images", 0, "width"], "4"), "'width'"),
    "images not a list": (_set(["images"], {"id": 1}), "'images' is not a list"),
    "id is a float": (_set(["annotations", 0, "id"], 1.5), "'id'"),
    "unknown image": (_set(["annotations", 0, "image_id"], 5), "image id 5"),
    "unknown category": (_set(["annotations", 0, "category_id"], 8), "category id 8"),
    "RLE wrong size": (
        _set(["annotations", 0, "segmentation"], {"size": [4, 4], "counts": [16]}),
        "RLE of size 4x4",
    ),
    "RLE counts do not add up": (
        _set(["annotations", 0, "segmentation"], {"size": [3, 4], "counts": [1, 2, 3]}),
        "broken RLE",
    ),
    "compressed RLE too short": (
        _set(["annotations", 0, "segmentation"], {"size": [3, 4], "counts": "12"}),
        "broken RLE",
    ),
    "compressed RLE with foreign characters": (
        _set(["annotations", 0, "segmentation"], {"size": [3, 4], "counts": "1 ~"}),
        "broken RLE",
    ),
    "polygon with 2 points": (
        _set(["annotations", 0, "segmentation"], [[0, 0, 3, 2]]),
        "at least 3",
    ),
    "polygon with NaN": (
        _set(["annotations", 0, "segmentation"], [[0, 0, 3, 0, 3, float("nan")]]),
        "holds NaN",
    ),
    "no segmentation": (_set(["annotations", 0, "segmentation"], []), "no usable segmentation"),
    "iscrowd 2": (_set(["annotations", 0, "iscrowd"], 2), "iscrowd"),
    "top level a list": (lambda d: None, None),
}

#: Defects of one annotation: the strict reader refuses the file, the store keeps it verbatim.
ANNOTATION_CASES = {
    "duplicate annotation id",
    "id is a float",
    "unknown image",
    "unknown category",
    "RLE wrong size",
    "RLE counts do not add up",
    "compressed RLE too short",
    "compressed RLE with foreign characters",
    "polygon with 2 points",
    "no segmentation",
    "iscrowd 2",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_files_get_a_clear_error_and_stay_untouched(tmp_path, name):
    change, message = CASES[name]
    data = [] if name == "top level a list" else _broken(change)
    path = tmp_path / "annotations.json"
    text = json.dumps(data)  # NaN goes in as the non-standard token Python writes
    path.write_text(text)
    with pytest.raises(AnnotationFileError) as info:
        load_coco(path)
    assert str(path) in str(info.value)
    assert message is None or message in str(info.value)
    if name in ANNOTATION_CASES:  # opened for editing: kept verbatim (tests/faults)
        return
    # Opening it for editing fails the same way and never rewrites it.
    with pytest.raises(AnnotationFileError):
        AnnotationStore.open(path)
    assert path.read_text() == text
    left = sorted(p.name for p in tmp_path.iterdir() if p.suffix != ".lock")
    assert left == ["annotations.json"]


@pytest.mark.parametrize("name", sorted(ANNOTATION_CASES))
def test_the_store_opens_a_file_with_an_unreadable_annotation_and_writes_it_back(tmp_path, name):
    change, message = CASES[name]
    data = _broken(change)
    path = tmp_path / "annotations.json"
    path.write_text(json.dumps(data))
    bad = data["annotations"][-1]
    with AnnotationStore.open(path) as store:
        assert len(store.unreadable) == 1 and message in store.unreadable[0]
        store.document.add_category("added here")
        store.save()
    saved = json.loads(path.read_text())
    assert saved["annotations"][-1] == bad
    assert len(saved["annotations"]) == len(data["annotations"])


def test_truncated_json_names_the_file_and_position(tmp_path):
    good = tmp_path / "good.json"
    save_coco(_small_document(), good)
    path = tmp_path / "annotations.json"
    path.write_bytes(good.read_bytes()[:-40])
    with pytest.raises(
        AnnotationFileError, match=r"annotations\.json: is not valid JSON .*truncated"
    ):
        load_coco(path)


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_in_a_file_are_refused_at_load(tmp_path, token):
    path = tmp_path / "annotations.json"
    text = json.dumps(_valid()).replace('"iscrowd": 0', f'"iscrowd": 0, "samlabel_score": {token}')
    path.write_text(text)
    with pytest.raises(AnnotationFileError, match=f"annotations.json: holds {token}"):
        load_coco(path)
    assert path.read_text() == text


def test_parsed_data_with_an_infinite_polygon_coordinate():
    data = _broken(_set(["annotations", 0, "segmentation"], [[0, 0, 3, 0, float("inf"), 2]]))
    with pytest.raises(AnnotationFileError, match="non-finite coordinate"):
        parse_coco(data, "given.json")


def test_not_utf8_and_missing_file(tmp_path):
    path = tmp_path / "a.json"
    path.write_bytes(b"\xff\xfe{")
    with pytest.raises(AnnotationFileError, match="UTF-8"):
        load_coco(path)
    with pytest.raises(AnnotationFileError, match="no such"):
        load_coco(tmp_path / "none.json")


def _small_document() -> Document:
    doc = Document()
    doc.add_image("a.png", 8, 6)
    doc.add_category("x")
    mask = empty_mask(6, 8)
    mask[1:4, 2:6] = True
    doc.add_annotation(1, 1, mask)
    return doc


@pytest.mark.parametrize(
    ("prompts", "message"),
    [
        ({"points": [[float("nan"), 1.0, 1]]}, r"samlabel_prompts\.points\[0\]\[0\] is nan"),
        ({"box": [0.0, float("inf"), 1.0, 2.0]}, "is inf"),
        ({"points": [[np.float32(1.5), 2.0, 1]]}, "numpy.float32"),
        ({"label": np.int64(3)}, "numpy.int64"),
    ],
)
def test_nan_inf_and_numpy_scalars_reaching_the_writer_write_nothing(tmp_path, prompts, message):
    doc = _small_document()
    path = tmp_path / "annotations.json"
    save_coco(doc, path)
    before = path.read_bytes()
    # The document refuses such prompts; smuggle them past it to test the writer's own check.
    with pytest.raises(ValueError):
        doc.add_annotation(1, 1, doc.mask(1), prompts=prompts)
    bad = replace(doc.annotations[0], prompts=prompts)
    state = replace(doc.state, annotations=(bad,))
    with pytest.raises(AnnotationFileError, match=message) as info:
        save_coco(state, path)
    assert "nothing was written" in str(info.value)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["annotations.json"]


def test_nan_in_a_foreign_field_or_a_bbox_writes_nothing(tmp_path):
    doc = _small_document()
    path = tmp_path / "annotations.json"
    with pytest.raises(AnnotationFileError, match=r"info\.scale is nan"):
        save_coco(doc, path, {"info": {"scale": float("nan")}})
    bad = replace(doc.annotations[0], bbox=(np.float64(1.0), 2.0, 3.0, 4.0))
    with pytest.raises(AnnotationFileError, match=r"annotations\[0\]\.bbox\[0\]"):
        save_coco(replace(doc.state, annotations=(bad,)), path)
    assert not path.exists()


@pytest.mark.skipif(os.name == "nt" or os.geteuid() == 0, reason="root ignores permissions")
def test_read_only_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    path = folder / "annotations.json"
    save_coco(_small_document(), path)
    before = path.read_bytes()
    folder.chmod(0o555)
    try:
        with pytest.raises(AnnotationFileError, match="not writable"):
            save_coco(_small_document(), path)
        assert path.read_bytes() == before
    finally:
        folder.chmod(0o755)


def test_read_only_folder_simulated(tmp_path, monkeypatch):
    """Permission errors at the temp file (works when tests run as root too)."""
    path = tmp_path / "annotations.json"
    save_coco(_small_document(), path)
    before = path.read_bytes()

    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(atomic.tempfile, "mkstemp", refuse)
    with pytest.raises(AnnotationFileError, match=r"annotations\.json.*not writable.*unchanged"):
        save_coco(_small_document(), path)
    assert path.read_bytes() == before


def test_full_disk_loses_nothing_and_leaves_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "annotations.json"
    store = AnnotationStore.open(path)
    doc = store.document
    doc.add_image("a.png", 8, 6)
    store.save()
    before = path.read_bytes()
    doc.add_category("x")

    real_fdopen = os.fdopen

    class FullDisk:
        def __init__(self, handle):
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def write(self, data):
            self.handle.write(data[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "fdopen", lambda fd, mode: FullDisk(real_fdopen(fd, mode)))
    with pytest.raises(AnnotationFileError, match="disk is full"):
        store.save()
    assert path.read_bytes() == before
    assert store.dirty  # still unsaved: the next save retries
    assert not list(tmp_path.glob("*.tmp"))
    with pytest.raises(AnnotationFileError):
        store.close()  # closing would lose the change: it refuses and stays open
    assert not store.closed
    monkeypatch.undo()
    store.close()
    assert [c.name for c in load_coco(path).document.categories] == ["x"]
