"""COCO files: bit-exact round trips, polygons, pycocotools/COCOeval, files of other tools."""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from samlabel.core.document import Document
from samlabel.core.errors import AnnotationFileError
from samlabel.core.masks import empty_mask, encode_mask
from samlabel.io.coco import (
    CocoSerializer,
    coco_dict,
    dumps_coco,
    load_coco,
    parse_coco,
    save_coco,
)
from samlabel.io.polygons import mask_to_polygons, polygons_to_rle
from tests.core.test_document import H, W, _apply, _ops


def _document_with(masks_: list[np.ndarray]) -> Document:
    doc = Document(clock=lambda: "2026-01-01T00:00:00+00:00")
    h, w = masks_[0].shape
    doc.add_image("img/a.png", w, h)
    doc.add_category("thing", supercategory="stuff")
    for n, mask in enumerate(masks_):
        if mask.any():
            doc.add_annotation(1, 1, mask, score=0.5 + n / 100, prompts={"box": [0, 0, 3, 4]})
    return doc


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    shape=st.tuples(st.integers(1, 25), st.integers(1, 25)),
    data=st.data(),
)
def test_random_masks_survive_save_and_load_bit_for_bit(tmp_path, shape, data):
    masks_ = data.draw(st.lists(arrays(bool, shape), min_size=1, max_size=4))
    doc = _document_with(masks_)
    path = tmp_path / "annotations.json"
    save_coco(doc, path)
    loaded = load_coco(path)
    assert loaded.document.state == doc.state
    kept = [m for m in masks_ if m.any()]
    for annotation, mask in zip(loaded.document.annotations, kept, strict=True):
        np.testing.assert_array_equal(loaded.document.mask(annotation.id), mask)


def _boundary(mask: np.ndarray) -> np.ndarray:
    """Pixels within one pixel (8-neighbourhood) of the mask's boundary."""
    padded = np.pad(mask, 1)
    h, w = mask.shape
    shifts = [
        padded[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w] for dy in (-1, 0, 1) for dx in (-1, 0, 1)
    ]
    grown = np.logical_or.reduce(shifts)
    shrunk = np.logical_and.reduce(shifts)
    return grown & ~shrunk


@settings(max_examples=150, deadline=None)
@given(mask=st.tuples(st.integers(1, 30), st.integers(1, 30)).flatmap(lambda s: arrays(bool, s)))
def test_polygons_round_trip_within_one_pixel_of_the_boundary(mask):
    polygons = mask_to_polygons(mask)
    if polygons is None:
        # Only masks with holes (or empty ones) fall back to RLE.
        assert not mask.any() or _has_hole(mask)
        return
    for polygon in polygons:
        assert len(polygon) >= 6 and len(polygon) % 2 == 0
    raster = polygons_to_rle(polygons, *mask.shape).decode()
    assert not ((raster ^ mask) & ~_boundary(mask)).any()
    # In fact the tracing is exact.
    np.testing.assert_array_equal(raster, mask)


def _has_hole(mask: np.ndarray) -> bool:
    import cv2

    count, _labels = cv2.connectedComponents((~np.pad(mask, 1)).astype(np.uint8), connectivity=4)
    return count > 2  # background outside plus at least one enclosed region


def test_polygon_save_falls_back_to_rle_for_a_mask_with_a_hole(tmp_path):
    ring = empty_mask(20, 20)
    ring[2:12, 2:12] = True
    ring[5:8, 5:8] = False
    solid = empty_mask(20, 20)
    solid[14:18, 3:19] = True
    doc = _document_with([ring, solid])
    data = coco_dict(doc, polygons=True)
    segs = [a["segmentation"] for a in data["annotations"]]
    assert isinstance(segs[0], dict) and isinstance(segs[0]["counts"], str)  # RLE kept
    assert isinstance(segs[1], list)  # polygons
    path = tmp_path / "poly.json"
    save_coco(doc, path, polygons=True)
    loaded = load_coco(path)
    np.testing.assert_array_equal(loaded.document.mask(1), ring)
    np.testing.assert_array_equal(loaded.document.mask(2), solid)


def _quiet(fn, *args):
    with contextlib.redirect_stdout(io.StringIO()):
        return fn(*args)


@pytest.mark.parametrize("polygons", [False, True])
def test_output_loads_in_pycocotools_and_scores_ap_1_against_itself(tmp_path, polygons):
    rng = np.random.default_rng(3)
    doc = Document()
    for i in range(3):
        doc.add_image(f"im{i}.jpg", 64, 48)
    doc.add_category("a")
    doc.add_category("b")
    yy, xx = np.mgrid[:48, :64]
    for image in doc.images:
        for k in range(4):
            cx, cy, r = rng.integers(8, 56), rng.integers(8, 40), rng.integers(3, 10)
            mask = np.asfortranarray((xx - cx) ** 2 + (yy - cy) ** 2 <= r * r)
            doc.add_annotation(image.id, 1 + k % 2, mask)
    path = tmp_path / "annotations.json"
    save_coco(doc, path, polygons=polygons)
    gt = _quiet(COCO, str(path))
    assert len(gt.getAnnIds()) == 12
    results = []
    for annotation in json.loads(path.read_text())["annotations"]:
        results.append({**annotation, "score": 1.0})
        results[-1].pop("id")
    dt = _quiet(gt.loadRes, results)
    for iou_type in ("segm", "bbox"):
        evaluator = COCOeval(gt, dt, iou_type)
        _quiet(evaluator.evaluate)
        _quiet(evaluator.accumulate)
        _quiet(evaluator.summarize)
        assert evaluator.stats[0] == pytest.approx(1.0)  # AP @ IoU 0.50:0.95


_THIRD = np.zeros((8, 10), dtype=np.uint8)
_THIRD[4:7, 2:9] = 1
# Compressed counts as pycocotools writes them (str), from another tool's point of view.
_THIRD_COUNTS = mask_utils.encode(np.asfortranarray(_THIRD))["counts"].decode()

FOREIGN = {
    "info": {"description": "made by hand", "year": 2024, "contributor": "someone"},
    "licenses": [{"id": 1, "name": "CC-BY", "url": "http://example.org"}],
    "extra_top_level": {"keep": [1, 2, 3]},
    "images": [
        {
            "id": 7,
            "file_name": "x/one.jpg",
            "width": 10,
            "height": 8,
            "license": 1,
            "flickr_url": "u",
        },
        {"id": 9, "file_name": "two.jpg", "width": 6, "height": 5},
    ],
    "categories": [
        {"id": 3, "name": "dog", "supercategory": "animal", "keypoints": []},
        {"id": 5, "name": "cat"},
    ],
    "annotations": [
        {
            "id": 100,
            "image_id": 7,
            "category_id": 3,
            "segmentation": [[1, 1, 6, 1, 6, 5, 1, 5]],
            "area": 20.0,
            "bbox": [1, 1, 5, 4],
            "iscrowd": 0,
            "attributes": {"occluded": True},
        },
        {
            "id": 101,
            "image_id": 9,
            "category_id": 5,
            "segmentation": {"size": [5, 6], "counts": [2, 3, 2, 3, 20]},
            "area": 6,
            "bbox": [0, 2, 2, 3],
            "iscrowd": 1,
        },
        {
            "id": 102,
            "image_id": 7,
            "category_id": 5,
            "segmentation": {"size": [8, 10], "counts": _THIRD_COUNTS},
            "area": 0,
            "bbox": [0, 0, 0, 0],
            "iscrowd": 0,
        },
    ],
}


def test_a_file_from_another_tool_loads_and_saves_back_with_its_extra_fields(tmp_path):
    source = tmp_path / "other_tool.json"
    source.write_text(json.dumps(FOREIGN))
    loaded = load_coco(source)
    doc = loaded.document
    assert [i.id for i in doc.images] == [7, 9]
    assert doc.annotation(100).area == 20  # polygon 1..6 x 1..5 rasterised: 5 x 4 pixels
    assert doc.annotation(100).bbox == (1.0, 1.0, 5.0, 4.0)
    assert doc.annotation(101).iscrowd
    np.testing.assert_array_equal(doc.mask(102), _THIRD.astype(bool))
    crowd = doc.mask(101)
    assert crowd.sum() == 6 and crowd[2:5, 0].all() and crowd[2:5, 1].all()
    # New work gets fresh ids after the highest existing ones.
    mask = empty_mask(5, 6)
    mask[0, 0] = True
    assert doc.add_annotation(9, 3, mask).id == 103
    assert doc.add_category("bird").id == 6

    out = tmp_path / "saved.json"
    save_coco(doc, out, loaded.foreign)
    saved = json.loads(out.read_text())
    for key in ("licenses", "extra_top_level"):
        assert saved[key] == FOREIGN[key]
    assert {k: saved["info"][k] for k in FOREIGN["info"]} == FOREIGN["info"]
    assert saved["images"][0]["license"] == 1 and saved["images"][0]["flickr_url"] == "u"
    assert saved["categories"][0]["keypoints"] == []
    assert saved["annotations"][0]["attributes"] == {"occluded": True}
    assert saved["annotations"][1]["iscrowd"] == 1
    # Uncompressed RLE and polygons are now compressed RLE of the same pixels.
    assert all(isinstance(a["segmentation"]["counts"], str) for a in saved["annotations"])
    again = load_coco(out)
    for annotation in doc.annotations:
        np.testing.assert_array_equal(again.document.mask(annotation.id), doc.mask(annotation.id))


def test_state_of_the_document_survives_exactly(tmp_path):
    doc = _document_with([np.eye(6, dtype=bool)])
    doc.set_image_status(1, "done")
    doc.recolour_category(1, "#123456")
    path = tmp_path / "a.json"
    save_coco(doc, path)
    loaded = parse_coco(json.loads(path.read_text()))
    assert loaded.document.state == doc.state
    assert loaded.schema_version == (1, 0)
    assert loaded.document.annotation(1).rle == encode_mask(np.eye(6, dtype=bool))


@settings(max_examples=40, deadline=None)
@given(ops=st.lists(_ops, min_size=1, max_size=12))
def test_any_edited_document_survives_save_and_load_exactly(ops):
    doc = Document(clock=lambda: "2026-01-01T00:00:00+00:00")
    doc.add_images([("a.png", W, H), ("b.png", W, H)], undoable=False)
    doc.add_category("cell")
    doc.add_category("nucleus", color="#00aa00", supercategory="bio")
    for op in ops:
        _apply(doc, op)
    text = dumps_coco(coco_dict(doc, {"info": {"year": 2026}}))
    loaded = parse_coco(json.loads(text))
    assert loaded.document.state.images == doc.state.images
    assert loaded.document.state.categories == doc.state.categories
    assert loaded.document.state.annotations == doc.state.annotations


def test_the_caching_serializer_writes_the_same_bytes_and_reencodes_only_changes():
    doc = _document_with([np.eye(8, dtype=bool), np.tri(8, dtype=bool)])
    foreign = {"info": {"year": 2026}, "licenses": []}
    serializer = CocoSerializer()
    assert serializer.dumps(doc.state, foreign) == dumps_coco(coco_dict(doc, foreign))
    doc.set_category(1, 1)
    doc.brush_stroke(2, [(1.0, 6.0)], 1.5, erase=True)
    doc.add_category("late")
    assert serializer.dumps(doc.state, foreign) == dumps_coco(coco_dict(doc, foreign))
    # A bad value in one new annotation is found with its position, nothing is cached for it.
    bad = replace(doc.annotations[1], prompts={"x": float("nan")})
    with pytest.raises(AnnotationFileError, match=r"annotations\[1\]\.samlabel_prompts\.x is nan"):
        serializer.dumps(replace(doc.state, annotations=(doc.annotations[0], bad)))
