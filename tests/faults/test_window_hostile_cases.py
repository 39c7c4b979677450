"""More ways to lose work while a folder is open in the window, tried as a hostile tester would
(issue 12, item 6; docs/annotations-file-safety.md lists them).

Each test checks that nothing is lost (the annotations on disk, or the work kept and
savable elsewhere) and that the user was told, without a traceback (pytest-qt fails a test
on any exception in a slot, and tests/qt/conftest.py on any in a thread).
"""

from __future__ import annotations

import json
import os
import shutil

import pytest

from tests.faults.window_faults import OFFSCREEN_NOISE, accept_one, flushed, image_folder, on_disk
from tests.qt.fakes import FakePredictor
from tests.qt.window_helpers import open_window, wait_idle, wait_ready

pytestmark = pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)


def opened(qtbot, tmp_path, prefix: str = "h"):
    folder = image_folder(tmp_path, prefix)
    window = open_window(qtbot, tmp_path / "s.ini", FakePredictor())
    assert window.folders.open_folder(folder)
    accept_one(qtbot, window)
    flushed(window)
    return window, folder, folder / "annotations.json"


def test_annotations_file_replaced_by_a_folder_while_open(qtbot, tmp_path):
    window, _folder, path = opened(qtbot, tmp_path)
    c = window.controller
    kept = path.with_name("moved-away.json")
    os.replace(path, kept)
    path.mkdir()
    accept_one(qtbot, window, 40, 30)  # unsaved work meets the folder in the way
    bar = window.message_bar
    qtbot.waitUntil(lambda: "save_failed" in bar.pinned_keys, timeout=5000)
    assert "Is a directory" in bar.pinned_text("save_failed")
    assert bar.action_button.text() == "Save annotations as…"
    assert len(c.document.annotations) == 2 and not c.is_saved()
    assert window.folders.save_as(tmp_path / "rescued.json")
    assert len(on_disk(tmp_path / "rescued.json")["annotations"]) == 2
    assert len(on_disk(kept)["annotations"]) == 1  # their move is left alone
    assert "save_failed" not in bar.pinned_keys


def test_an_image_deleted_while_open_keeps_its_annotations(qtbot, tmp_path):
    window, folder, path = opened(qtbot, tmp_path)
    c = window.controller
    (folder / "h_0.png").unlink()
    c.go_to(1)
    wait_ready(qtbot, window)
    accept_one(qtbot, window)
    c.go_to(0)
    qtbot.waitUntil(lambda: "h_0.png" in window.message_bar.text, timeout=5000)
    assert window.canvas.message == "This image cannot be shown."
    flushed(window)
    coco = on_disk(path)
    names = {i["id"]: i["file_name"] for i in coco["images"]}
    assert sorted(names[a["image_id"]] for a in coco["annotations"]) == ["h_0.png", "h_1.png"]


@pytest.mark.parametrize("how", ["renamed", "deleted"])
def test_the_folder_renamed_or_deleted_while_open(qtbot, tmp_path, how):
    window, folder, _path = opened(qtbot, tmp_path)
    c = window.controller
    if how == "renamed":
        folder.rename(tmp_path / "elsewhere")
    else:
        shutil.rmtree(folder)
    c.go_to(1)  # its image is gone too
    qtbot.waitUntil(lambda: "h_1.png" in window.message_bar.text, timeout=5000)
    c.go_to(0)
    wait_idle(window)
    c.add_category("added after the move")  # the work goes on in memory
    bar = window.message_bar
    qtbot.waitUntil(lambda: "save_failed" in bar.pinned_keys, timeout=5000)
    assert "No such file or directory" in bar.pinned_text("save_failed")
    assert not c.is_saved()
    rescued = tmp_path / "rescued.json"
    assert window.folders.save_as(rescued)
    names = [k["name"] for k in on_disk(rescued)["categories"]]
    assert "added after the move" in names
    assert len(on_disk(rescued)["annotations"]) == 1
    if how == "renamed":
        assert len(on_disk(tmp_path / "elsewhere" / "annotations.json")["annotations"]) == 1


def test_the_lock_file_is_a_folder_opens_read_only_and_says_why(qtbot, tmp_path):
    folder = image_folder(tmp_path, "k")
    (folder / "annotations.json.lock").mkdir()
    window = open_window(qtbot, tmp_path / "s.ini", FakePredictor())
    assert window.folders.open_folder(folder)
    text = window.message_bar.pinned_text("read_only")
    assert "cannot create its lock file" in text and "Save annotations as" in text
    accept_one(qtbot, window)
    assert window.folders.save_as(tmp_path / "kept.json")
    assert len(on_disk(tmp_path / "kept.json")["annotations"]) == 1


def test_categories_named_nothing_or_ten_thousand_characters(qtbot, tmp_path):
    folder = image_folder(tmp_path, "n")
    path = folder / "annotations.json"
    long_name = "ø" * 10_000
    path.write_text(
        json.dumps(
            {
                "images": [],
                "categories": [{"id": 1, "name": ""}, {"id": 2, "name": long_name}],
                "annotations": [],
            }
        ),
        "utf-8",
    )
    window = open_window(qtbot, tmp_path / "s.ini", FakePredictor())
    assert window.folders.open_folder(folder)
    c = window.controller
    c.set_current_category(2)
    accept_one(qtbot, window)
    c.set_current_category(1)
    accept_one(qtbot, window, 40, 30)
    flushed(window)
    coco = on_disk(path)
    assert [k["name"] for k in coco["categories"]] == ["", long_name]
    assert sorted(a["category_id"] for a in coco["annotations"]) == [1, 2]
    assert window.category_box.count() == 2


@pytest.mark.parametrize("width", [0, -160])
def test_an_image_record_of_no_or_negative_width_refuses_the_file_untouched(qtbot, tmp_path, width):
    window, first, _ = opened(qtbot, tmp_path, "w")
    folder = image_folder(tmp_path, "v")
    path = folder / "annotations.json"
    record = {"id": 1, "file_name": "v_0.png", "width": width, "height": 120}
    text = json.dumps({"images": [record], "categories": [], "annotations": []})
    path.write_text(text, "utf-8")
    assert not window.folders.open_folder(folder)
    message = window.message_bar.text
    assert "image 1 (images[0])" in message and f"'width' = {width}" in message
    assert path.read_text("utf-8") == text
    assert window.controller.folder == first  # the open folder stays, its work too
    accept_one(qtbot, window, 40, 30)
    flushed(window)
    assert len(on_disk(first / "annotations.json")["annotations"]) == 2
