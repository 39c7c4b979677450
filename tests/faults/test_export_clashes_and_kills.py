"""Exports never drop an annotation silently, and a killed export is recognisable.

Through ``samlabel export``: label files of images that share a stem get distinct names and
the summary says so; PNG values 1..N follow the category list whatever the ids (0, negative,
more than 255 categories) with a legend beside; an export killed half-way leaves the
destination absent or as the previous export left it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from samlabel.cli import main
from samlabel.core.document import Document
from samlabel.core.masks import empty_mask
from samlabel.core.model import Category
from samlabel.core.state import DocumentState
from samlabel.io.coco import save_coco

REPO_ROOT = Path(__file__).resolve().parents[2]


def _box(height: int, width: int, y: int, x: int, size: int = 3):
    mask = empty_mask(height, width)
    mask[y : y + size, x : x + size] = True
    return mask


@pytest.fixture
def clashing(tmp_path) -> Path:
    doc = Document()
    doc.add_images([("a.jpg", 10, 10), ("a.png", 10, 10), ("A.PNG", 10, 10), ("b.png", 10, 10)])
    doc.add_category("one")
    doc.add_category("two")
    for image_id in (1, 2, 3, 4):
        doc.add_annotation(image_id, 1 + image_id % 2, _box(10, 10, image_id, image_id))
    path = tmp_path / "annotations.json"
    save_coco(doc, path)
    return path


def test_yolo_labels_of_images_sharing_a_stem_get_distinct_names(clashing, tmp_path, capsys):
    out = tmp_path / "yolo"
    assert main(["export", str(clashing), "--format", "yolo", "--out", str(out)]) == 0
    labels = sorted(p.name for p in (out / "labels").iterdir())
    # a.png.txt and A.PNG.txt would be one file on a case-insensitive disk: numbered.
    assert labels == ["A.PNG__2.txt", "a.jpg.txt", "a.png.txt", "b.txt"]
    for name, image_id in (("a.jpg.txt", 1), ("a.png.txt", 2), ("A.PNG__2.txt", 3)):
        line = (out / "labels" / name).read_text().split()
        assert line[0] == str((1 + image_id % 2) - 1)  # each image's own annotation
        assert float(line[1]) == pytest.approx((image_id + 0.25) / 10)
    printed = capsys.readouterr().out
    assert "3 images share a name" in printed
    assert "a.jpg -> a.jpg.txt" in printed and "A.PNG -> A.PNG__2.txt" in printed


def test_png_masks_of_images_sharing_a_stem_get_distinct_names(clashing, tmp_path, capsys):
    out = tmp_path / "png"
    assert main(["export", str(clashing), "--format", "png", "--out", str(out)]) == 0
    files = json.loads((out / "files.json").read_text())
    assert files == {
        "a.jpg": "a.jpg.png",
        "a.png": "a.png.png",
        "A.PNG": "A.PNG__2.png",
        "b.png": "b.png",
    }
    for image_id, name in enumerate(files.values(), start=1):
        semantic = cv2.imread(str(out / "semantic" / name), cv2.IMREAD_UNCHANGED)
        assert semantic[image_id, image_id] == 1 + image_id % 2
    assert "a.png -> a.png.png" in capsys.readouterr().out


def _categories_file(tmp_path: Path, ids: list[int]) -> Path:
    state = DocumentState(
        categories=tuple(Category(i, f"class {i}", "#112233") for i in ids),
        next_category_id=max(ids) + 1,
    )
    doc = Document(state)
    doc.add_image("field.png", len(ids) * 2, 4)
    for n, category_id in enumerate(ids):
        mask = empty_mask(4, len(ids) * 2)
        mask[1:3, 2 * n : 2 * n + 2] = True
        doc.add_annotation(1, category_id, mask)
    path = tmp_path / "annotations.json"
    save_coco(doc, path)
    return path


def test_category_id_zero_and_negative_ids_are_not_background_and_do_not_overflow(tmp_path):
    path = _categories_file(tmp_path, [0, -3, 5])
    out = tmp_path / "png"
    assert main(["export", str(path), "--format", "png", "--out", str(out)]) == 0
    semantic = cv2.imread(str(out / "semantic" / "field.png"), cv2.IMREAD_UNCHANGED)
    assert semantic.dtype == np.uint8
    assert semantic[1, 0] == 1 and semantic[1, 2] == 2 and semantic[1, 4] == 3
    assert semantic[0, 0] == 0
    legend = json.loads((out / "legend.json").read_text())
    assert [(e["value"], e["category_id"]) for e in legend] == [(0, None), (1, 0), (2, -3), (3, 5)]


def test_more_than_255_categories_give_16_bit_semantic_masks(tmp_path):
    path = _categories_file(tmp_path, list(range(1000, 1300)))
    out = tmp_path / "png"
    assert main(["export", str(path), "--format", "png", "--out", str(out)]) == 0
    semantic = cv2.imread(str(out / "semantic" / "field.png"), cv2.IMREAD_UNCHANGED)
    assert semantic.dtype == np.uint16
    assert semantic[1, 0] == 1 and semantic[1, 2 * 299] == 300


# ---------------------------------------------------------------- killed mid-way
def _many_images(tmp_path: Path, name: str, count: int = 400) -> Path:
    doc = Document()
    doc.add_images([(f"img_{n:04d}.png", 160, 120) for n in range(count)])
    doc.add_category("thing")
    for image in doc.images:
        doc.add_annotation(image.id, 1, _box(120, 160, 10, 10, size=60))
    path = tmp_path / name
    save_coco(doc, path)
    return path


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _export_killed_midway(annotations: Path, out: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    command = [sys.executable, "-m", "samlabel", "export", str(annotations)]
    child = subprocess.Popen(
        [*command, "--format", "png", "--out", str(out)], env=env, cwd=REPO_ROOT
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            stages = list(out.parent.glob(f".{out.name}.png-*.partial"))
            if stages and len(list((stages[0] / "semantic").glob("*.png"))) >= 20:
                break
            assert child.poll() is None, "the export finished before it could be killed"
            time.sleep(0.005)
        else:
            pytest.fail("the export never started writing")
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait()


@pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")
def test_export_killed_midway_leaves_nothing_or_the_previous_export(tmp_path):
    out = tmp_path / "masks"
    _export_killed_midway(_many_images(tmp_path, "v2.json"), out)
    assert not out.exists()  # absent, not half there
    assert list(tmp_path.glob(".masks.png-*.partial"))  # recognisable as an unfinished export

    first = _many_images(tmp_path, "v1.json", count=3)
    assert main(["export", str(first), "--format", "png", "--out", str(out)]) == 0
    assert not list(tmp_path.glob(".masks.*.partial"))  # the stale one was cleaned up
    previous = _tree(out)
    _export_killed_midway(_many_images(tmp_path, "v2.json"), out)
    assert _tree(out) == previous  # the previous export, whole

    assert main(["export", str(tmp_path / "v2.json"), "--format", "png", "--out", str(out)]) == 0
    assert len(json.loads((out / "files.json").read_text())) == 400
    assert len(list((out / "semantic").glob("*.png"))) == 400
    assert not list(tmp_path.glob(".masks.*.partial"))


def test_export_keeps_files_it_did_not_write(tmp_path, clashing):
    out = tmp_path / "dataset"
    (out / "labels").mkdir(parents=True)
    (out / "labels" / "mine.txt").write_text("hand-made")
    (out / "notes.md").write_text("keep me")
    assert main(["export", str(clashing), "--format", "yolo", "--out", str(out)]) == 0
    assert (out / "notes.md").read_text() == "keep me"
    kept = list(out.glob("labels.before-export-*"))
    assert len(kept) == 1 and (kept[0] / "mine.txt").read_text() == "hand-made"
    # A second export replaces its own earlier labels and keeps nothing more aside.
    assert main(["export", str(clashing), "--format", "yolo", "--out", str(out)]) == 0
    assert len(list(out.glob("labels.before-export-*"))) == 1
    assert len(list((out / "labels").iterdir())) == 4
