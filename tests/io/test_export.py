"""``samlabel export``: COCO (RLE / polygons), PNG label masks, YOLO labels."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from samlabel.cli import main
from samlabel.core.document import Document
from samlabel.core.masks import empty_mask
from samlabel.io.coco import load_coco, save_coco


@pytest.fixture
def annotations(tmp_path):
    doc = Document()
    doc.add_image("sub/one.jpg", 20, 10)
    doc.add_image("two.png", 8, 8)
    doc.add_category("road")
    doc.add_category("car")
    road = empty_mask(10, 20)
    road[6:10, :] = True
    car = empty_mask(10, 20)
    car[4:8, 5:9] = True  # drawn over the road
    ring = empty_mask(8, 8)
    ring[1:7, 1:7] = True
    ring[3:5, 3:5] = False
    doc.add_annotation(1, 1, road)
    doc.add_annotation(1, 2, car)
    doc.add_annotation(2, 2, ring)
    path = tmp_path / "annotations.json"
    save_coco(doc, path, {"info": {"year": 2025}, "licenses": [{"id": 1}], "custom": True})
    return path, doc


def test_coco_export_rewrites_rle_and_keeps_foreign_fields(annotations, tmp_path, capsys):
    path, doc = annotations
    out = tmp_path / "out.json"
    assert main(["export", str(path), "--format", "coco", "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["custom"] is True and data["licenses"] == [{"id": 1}]
    assert data["info"]["year"] == 2025
    assert all(isinstance(a["segmentation"]["counts"], str) for a in data["annotations"])
    assert load_coco(out).document.state == doc.state
    assert "exported 3 annotations of 2 images" in capsys.readouterr().out


def test_coco_polygons_export(annotations, tmp_path):
    path, doc = annotations
    out = tmp_path / "poly.json"
    assert main(["export", str(path), "--format", "coco-polygons", "--out", str(out)]) == 0
    segs = [a["segmentation"] for a in json.loads(out.read_text())["annotations"]]
    assert isinstance(segs[0], list) and isinstance(segs[1], list)
    assert isinstance(segs[2], dict)  # the ring has a hole: RLE
    loaded = load_coco(out).document
    for annotation in doc.annotations:
        np.testing.assert_array_equal(loaded.mask(annotation.id), doc.mask(annotation.id))


def test_png_export(annotations, tmp_path):
    path, _ = annotations
    out = tmp_path / "png"
    assert main(["export", str(path), "--format", "png", "--out", str(out)]) == 0
    instances = cv2.imread(str(out / "instances" / "sub" / "one.png"), cv2.IMREAD_UNCHANGED)
    semantic = cv2.imread(str(out / "semantic" / "sub" / "one.png"), cv2.IMREAD_UNCHANGED)
    assert instances.dtype == np.uint16 and instances.shape == (10, 20)
    assert instances[9, 0] == 1 and instances[6, 6] == 2 and instances[0, 0] == 0
    assert semantic[9, 0] == 1 and semantic[6, 6] == 2 and semantic[0, 0] == 0
    ring = cv2.imread(str(out / "semantic" / "two.png"), cv2.IMREAD_UNCHANGED)
    assert ring[1, 1] == 2 and ring[3, 3] == 0  # the hole stays background
    mapping = json.loads((out / "instances.json").read_text())
    assert mapping["sub/one.jpg"] == {"1": 1, "2": 2}
    assert json.loads((out / "legend.json").read_text()) == [
        {"value": 0, "category_id": None, "name": "background"},
        {"value": 1, "category_id": 1, "name": "road"},
        {"value": 2, "category_id": 2, "name": "car"},
    ]
    assert json.loads((out / "files.json").read_text()) == {
        "sub/one.jpg": "sub/one.png",
        "two.png": "two.png",
    }


def test_yolo_export(annotations, tmp_path):
    path, _ = annotations
    out = tmp_path / "yolo"
    assert main(["export", str(path), "--format", "yolo", "--out", str(out)]) == 0
    lines = (out / "labels" / "sub" / "one.txt").read_text().splitlines()
    assert [line.split()[0] for line in lines] == ["0", "1"]
    car = np.array(lines[1].split()[1:], dtype=float).reshape(-1, 2)
    # The car covers pixels x 5..8, y 4..7 of a 20 x 10 image (pixel x spans [x, x + 1));
    # outlines run a quarter pixel inside the pixel edges, outside the pixel centres.
    assert car[:, 0].min() == pytest.approx(5.25 / 20) and car[:, 0].max() == pytest.approx(
        8.75 / 20
    )
    assert car[:, 1].min() == pytest.approx(4.25 / 10) and car[:, 1].max() == pytest.approx(
        7.75 / 10
    )
    assert (out / "labels" / "two.txt").read_text().count("\n") == 1
    assert 'names:\n  0: "road"\n  1: "car"' in (out / "data.yaml").read_text()


def test_export_of_a_broken_file_is_a_clear_error(tmp_path, capsys):
    path = tmp_path / "broken.json"
    path.write_text('{"images": [')
    assert main(["export", str(path), "--format", "coco", "--out", str(tmp_path / "o.json")]) == 2
    err = capsys.readouterr().err
    assert "broken.json" in err and "not valid JSON" in err
    assert not (tmp_path / "o.json").exists()
