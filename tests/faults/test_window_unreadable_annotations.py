"""A folder whose annotations file holds some annotations samlabel cannot read (issue 12).

Once, the window refused the whole folder ("cannot open ...") for one malformed annotation.
Now it opens with the readable ones, the bar says how many were kept aside and their ids,
and the unreadable ones are written back unchanged with every save.
"""

from __future__ import annotations

import json

import pytest

from samlabel.core.masks import empty_mask, encode_mask
from tests.faults.window_faults import OFFSCREEN_NOISE, accept_one, flushed, image_folder, on_disk
from tests.qt.fakes import FakePredictor
from tests.qt.window_helpers import open_window

pytestmark = pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)

BAD = [
    {"id": 21, "image_id": 1, "category_id": 1, "segmentation": 5, "iscrowd": 0},
    {"id": 22, "image_id": 1, "category_id": 1, "segmentation": [[1, 1, 9, 1, 9, 9]], "bbox": "x"},
    {"id": 23, "category_id": 1, "segmentation": [[1, 1, 9, 1, 9, 9]], "iscrowd": 0},
]


def test_the_folder_opens_the_bar_names_them_and_saves_keep_them(qtbot, tmp_path):
    folder = image_folder(tmp_path, "u")
    mask = empty_mask(120, 160)
    mask[10:30, 20:60] = True
    good = {
        "id": 4,
        "image_id": 1,
        "category_id": 1,
        "segmentation": encode_mask(mask).to_coco(),
        "iscrowd": 0,
    }
    path = folder / "annotations.json"
    path.write_text(
        json.dumps(
            {
                "images": [{"id": 1, "file_name": "u_0.png", "width": 160, "height": 120}],
                "categories": [{"id": 1, "name": "tree"}],
                "annotations": [good, *BAD],
            }
        ),
        "utf-8",
    )
    window = open_window(qtbot, tmp_path / "s.ini", FakePredictor())
    assert window.folders.open_folder(folder)
    c = window.controller
    assert [a.id for a in c.document.annotations] == [4]
    text = window.message_bar.pinned_text("unreadable")
    assert text.startswith("3 annotations of annotations.json cannot be read (ids 21, 22, 23)")
    assert "kept in the file exactly as they are" in text
    accept_one(qtbot, window)
    flushed(window)
    coco = on_disk(path)
    assert coco["annotations"][-3:] == BAD
    assert [a["id"] for a in coco["annotations"][:-3]] == [4, 24]
    for kind, said in (
        ("png", "3 annotations of the file that cannot be read were not exported"),
        ("coco-polygons", "3 that cannot be read were copied as they are"),
    ):
        out = tmp_path / kind
        out.mkdir()
        job = window.exports.export_to(kind, out)
        # done() is set in the export's thread; the bar follows on the GUI thread.
        qtbot.waitUntil(lambda said=said: said in window.message_bar.text, timeout=60_000)
        assert job.ok
    exported = on_disk(tmp_path / "coco-polygons" / "annotations_polygons.json")
    assert exported["annotations"][-3:] == BAD
    window.controller.close_folder()
    assert "unreadable" not in window.message_bar.pinned_keys
    assert on_disk(path)["annotations"][-3:] == BAD
