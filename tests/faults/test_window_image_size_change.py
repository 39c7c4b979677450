"""An image replaced on disk by a rotated one while labelled, in the window (issue 12, item 5).

Once, the window drew the old masks misaligned on the rotated picture and every Enter on it
raised a ValueError from the document. Now the bar names the file and both sizes, the old
masks are not drawn, Enter is refused with a sentence and nothing is saved, and the bar's two
buttons rescale the annotations or set them aside (each undoable).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import Qt

from samlabel.io.image_record import STALE_FIELD
from samlabel.session.image_size_guard import NOTICE_KEY
from tests.faults.window_faults import OFFSCREEN_NOISE, accept_one, flushed, image_folder, on_disk
from tests.qt.fakes import FakePredictor
from tests.qt.window_helpers import click_image, key, open_window, wait_idle, wait_ready

pytestmark = pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)


def _rotated_after_labelling(qtbot, tmp_path):
    """r_0.png (160x120, W x H) gets one mask, saved; another tool rotates it; the user goes
    to the next image and back."""
    folder = image_folder(tmp_path, "r")
    window = open_window(qtbot, tmp_path / "s.ini", FakePredictor())
    assert window.folders.open_folder(folder)
    accept_one(qtbot, window)
    flushed(window)
    picture = folder / "r_0.png"
    Image.open(picture).transpose(Image.Transpose.ROTATE_90).save(picture)
    c = window.controller
    c.go_to(1)
    wait_ready(qtbot, window)
    c.go_to(0)
    wait_ready(qtbot, window)
    qtbot.waitUntil(lambda: c.source.size == (160, 120), timeout=5000)
    return window, folder / "annotations.json"


def _refused_enter(qtbot, window, path: Path) -> bytes:
    """The bar's notice, then an Enter on the rotated image: refused, nothing saved."""
    bar = window.message_bar
    text = bar.pinned_text(NOTICE_KEY)
    assert "r_0.png is now 120×160; its 1 annotation was made on 160×120" in text
    assert "not drawn" in text
    assert window.canvas.annotations == []  # the old mask is not drawn misaligned
    assert bar.action_button.text() == "Rescale annotations"
    assert bar.second_button.text() == "Set them aside as stale"
    before = path.read_bytes()
    click_image(qtbot, window, 60, 100)
    key(qtbot, window, Qt.Key.Key_Return)
    wait_idle(window)
    assert bar.text.startswith("Not added: r_0.png is now 120×160")
    flushed(window)
    assert path.read_bytes() == before
    assert len(on_disk(path)["annotations"]) == 1
    bar.dismiss()  # the refusal goes; the notice with its two buttons is back
    assert bar.text == text
    return before


def test_rescale_from_the_bar_then_accepts_land_and_undo_restores(qtbot, tmp_path):
    window, path = _rotated_after_labelling(qtbot, tmp_path)
    _refused_enter(qtbot, window, path)
    qtbot.mouseClick(window.message_bar.action_button, Qt.MouseButton.LeftButton)
    assert NOTICE_KEY not in window.message_bar.pinned_keys
    flushed(window)
    coco = on_disk(path)
    record = next(i for i in coco["images"] if i["file_name"] == "r_0.png")
    assert (record["width"], record["height"]) == (120, 160)
    (annotation,) = coco["annotations"]
    assert annotation["segmentation"]["size"] == [160, 120]
    qtbot.waitUntil(lambda: len(window.canvas.annotations) == 1, timeout=5000)
    accept_one(qtbot, window, 60, 100)
    flushed(window)
    assert len(on_disk(path)["annotations"]) == 2
    window.controller.undo()  # the accept
    window.controller.undo()  # the rescale: the notice comes back
    assert window.message_bar.pinned_text(NOTICE_KEY).startswith("r_0.png is now 120×160")
    flushed(window)
    (annotation,) = on_disk(path)["annotations"]
    assert annotation["segmentation"]["size"] == [120, 160]


def test_set_aside_from_the_bar_keeps_them_in_the_file(qtbot, tmp_path):
    window, path = _rotated_after_labelling(qtbot, tmp_path)
    old = on_disk(path)["annotations"][0]
    _refused_enter(qtbot, window, path)
    qtbot.mouseClick(window.message_bar.second_button, Qt.MouseButton.LeftButton)
    assert NOTICE_KEY not in window.message_bar.pinned_keys
    assert "set aside as stale" in window.status.currentMessage()
    flushed(window)
    coco = on_disk(path)
    assert coco["annotations"] == []
    record = next(i for i in coco["images"] if i["file_name"] == "r_0.png")
    (stale,) = record[STALE_FIELD]
    assert stale["id"] == old["id"] and stale["segmentation"] == old["segmentation"]
    accept_one(qtbot, window, 60, 100)
    flushed(window)
    assert len(on_disk(path)["annotations"]) == 1
    window.controller.undo()
    window.controller.undo()
    flushed(window)
    assert on_disk(path)["annotations"] == [old]
