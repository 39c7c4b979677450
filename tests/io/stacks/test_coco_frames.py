"""A stack's frames in the COCO file: one record per frame, one annotation per object per
frame with its track id, propagated masks marked unreviewed; COCO tools read the file."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from samlabel.core.document import Document
from samlabel.core.stack_frames import (
    add_frame_annotation,
    add_stack_frames,
    frame_file_name,
    mark_reviewed,
    next_track_id,
    stack_frame,
    track_annotations,
    unreviewed_frames,
)
from samlabel.io.coco import load_coco, save_coco
from samlabel.io.exporters import export_png_masks, export_yolo

H, W = 12, 16


def _disc(frame: int, shift: int = 0) -> np.ndarray:
    """A square that moves one pixel right per frame."""
    mask = np.zeros((H, W), dtype=bool, order="F")
    mask[3:8, 2 + frame + shift : 7 + frame + shift] = True
    return mask


def _labelled() -> tuple[Document, int, int]:
    """A 240-frame stack; track 1 on frames 10..13 (11..13 propagated), track 2 on frame 12."""
    document = Document()
    category = document.add_category("liver").id
    frames = add_stack_frames(document, "ct/series1", 240, H, W)
    one, two = next_track_id(document), None
    for k in range(10, 14):
        add_frame_annotation(document, frames[k].id, category, _disc(k), one, reviewed=k == 10)
    two = next_track_id(document)
    other = np.zeros((H, W), dtype=bool, order="F")
    other[9:12, 0:4] = True
    add_frame_annotation(document, frames[12].id, category, other, two)
    return document, one, two


def test_every_frame_has_one_record_named_after_the_stack_and_its_index():
    document = Document()
    frames = add_stack_frames(document, "ct/series1", 240, H, W)
    assert len(frames) == 240
    assert frames[12].file_name == "ct/series1#012" == frame_file_name("ct/series1", 12, 240)
    assert frames[12].extra["samlabel_stack"] == {"uri": "ct/series1", "frame": 12, "frames": 240}
    assert (frames[0].width, frames[0].height) == (W, H)
    # Opening the stack again adds nothing and keeps the ids.
    again = add_stack_frames(document, "ct/series1", 240, H, W)
    assert [i.id for i in again] == [i.id for i in frames] and len(document.images) == 240
    assert frame_file_name("clip.mp4", 7, 2000) == "clip.mp4#0007"


def test_tracks_and_review_marks_survive_a_save_and_reload(tmp_path):
    document, one, two = _labelled()
    assert (one, two) == (1, 2)
    assert unreviewed_frames(document, "ct/series1") == [11, 12, 13]
    path = tmp_path / "annotations.json"
    save_coco(document, path)
    raw = json.loads(path.read_text("utf-8"))
    entry = next(
        a
        for a in raw["annotations"]
        if a["track_id"] == one and not a.get("samlabel_reviewed", True)
    )
    assert entry["samlabel_reviewed"] is False
    loaded = load_coco(path).document
    track = track_annotations(loaded, one)
    assert list(track) == [10, 11, 12, 13]
    for frame, annotation in track.items():
        np.testing.assert_array_equal(annotation.rle.decode(), _disc(frame))
    assert list(track_annotations(loaded, two)) == [12]
    assert stack_frame(loaded.image(track[13].image_id)).frame == 13
    assert unreviewed_frames(loaded, "ct/series1") == [11, 12, 13]
    mark_reviewed(loaded, [track[11].id, track[12].id])
    assert unreviewed_frames(loaded, "ct/series1") == [13]
    revision = loaded.revision
    mark_reviewed(loaded, [track[11].id])  # already reviewed: no change, no undo step
    assert loaded.revision == revision
    loaded.undo()
    assert unreviewed_frames(loaded, "ct/series1") == [11, 12, 13]


def test_pycocotools_loads_the_file_and_evaluates_it(tmp_path):
    document, _one, _two = _labelled()
    path = tmp_path / "annotations.json"
    save_coco(document, path)
    with contextlib.redirect_stdout(io.StringIO()):
        truth = COCO(str(path))
        assert len(truth.getImgIds()) == 240 and len(truth.getAnnIds()) == 5
        detections = [{**a, "score": 0.9} for a in truth.loadAnns(truth.getAnnIds())]
        result = truth.loadRes(detections)
        evaluation = COCOeval(truth, result, "segm")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    assert evaluation.stats[0] > 0.99  # the labels scored against themselves: AP 1


def test_exports_name_label_files_per_frame_inside_a_folder_per_stack(tmp_path):
    document, _one, _two = _labelled()
    yolo = export_yolo(document, tmp_path / "yolo")
    assert yolo.renamed == {}
    lines = (tmp_path / "yolo" / "labels" / "ct" / "series1" / "012.txt").read_text().splitlines()
    assert len(lines) == 2  # two objects on frame 12
    assert (tmp_path / "yolo" / "labels" / "ct" / "series1" / "239.txt").read_text() == ""
    png = export_png_masks(document, tmp_path / "png")
    assert png.renamed == {}
    files = json.loads((tmp_path / "png" / "files.json").read_text())
    assert files["ct/series1#011"] == "ct/series1/011.png"
    assert (tmp_path / "png" / "semantic" / "ct" / "series1" / "011.png").is_file()
