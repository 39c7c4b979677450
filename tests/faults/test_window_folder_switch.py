"""Opening a folder is all or nothing (issue 12, item 1).

Once, a 0-byte image in folder B made opening B fail half-way: the window still listed A's
images with B's annotations file open, and the next mask accepted on ``A/a_0.png`` was saved
in ``B/annotations.json`` as an annotation of ``b_0.png``.
"""

from __future__ import annotations

import pytest

from samlabel.qt.image_list import BrokenRole
from tests.faults.window_faults import (
    OFFSCREEN_NOISE,
    accept_one,
    flushed,
    image_folder,
    names_of_annotations,
    on_disk,
)
from tests.qt.fakes import FakePredictor
from tests.qt.window_helpers import open_and_wait, open_window

pytestmark = pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)


def test_an_unreadable_image_is_a_broken_entry_and_the_folder_still_opens(qtbot, tmp_path):
    folder_a, folder_b = image_folder(tmp_path, "a"), image_folder(tmp_path, "b")
    window = open_window(qtbot, tmp_path / "s.ini", FakePredictor())
    c = window.controller
    assert window.folders.open_folder(folder_b)
    accept_one(qtbot, window)
    flushed(window)
    (folder_b / "b_9.jpg").write_bytes(b"")
    assert window.folders.open_folder(folder_a)
    assert window.folders.open_folder(folder_b)

    assert c.folder == folder_b.resolve() and c.annotations_path.parent == folder_b.resolve()
    assert [p.name for p in c.paths] == ["b_0.png", "b_1.png", "b_2.png", "b_9.jpg"]
    row = c.paths.index(folder_b.resolve() / "b_9.jpg")
    index = c.images.index(row)
    assert c.images.data(index, BrokenRole)  # marked in the list
    assert "b_9.jpg" in c.images.data(index, BrokenRole)
    window.image_list.clicked.emit(index)  # a click says why
    assert c.row == row
    assert "b_9.jpg" in window.message_bar.text
    assert c.image_id is None and c.accept() is None  # nothing can land under it

    c.go_to(0)
    accept_one(qtbot, window)
    flushed(window)
    assert names_of_annotations(on_disk(folder_b / "annotations.json")) == ["b_0.png"] * 2
    assert (
        not (folder_a / "annotations.json").exists()
        or not on_disk(folder_a / "annotations.json")["annotations"]
    )


def test_a_folder_that_fails_to_open_leaves_the_previous_one_in_place(qtbot, tmp_path, monkeypatch):
    folder_a, folder_b = image_folder(tmp_path, "a"), image_folder(tmp_path, "b")
    window = open_window(qtbot, tmp_path / "s.ini", FakePredictor())
    c = window.controller
    assert window.folders.open_folder(folder_a)
    accept_one(qtbot, window)

    def broken_listing(*args, **kwargs):
        raise OSError(f"{folder_b}: Input/output error")

    monkeypatch.setattr("samlabel.session.images.sync_images", broken_listing)
    assert not window.folders.open_folder(folder_b)
    monkeypatch.undo()
    assert str(folder_b) in window.message_bar.text  # told, naming the folder
    assert "a — " not in window.windowTitle() and str(folder_a.resolve()) in window.windowTitle()
    assert c.folder == folder_a.resolve()
    assert [p.name for p in c.paths] == ["a_0.png", "a_1.png", "a_2.png"]
    assert c.annotations_path == (folder_a / "annotations.json").resolve()
    c.go_to(1)
    accept_one(qtbot, window)
    flushed(window)
    assert names_of_annotations(on_disk(folder_a / "annotations.json")) == ["a_0.png", "a_1.png"]
    assert not (folder_b / "annotations.json").exists()
    assert window.folders.open_folder(folder_b)  # B was let go of: it opens writable now
    assert c.store.read_only_reason is None


def test_a_folder_opened_in_the_background_that_fails_leaves_the_previous_one(
    qtbot, tmp_path, monkeypatch
):
    """The same through File ▸ Open Folder: listed in the background, then opened on the GUI
    thread, where matching the images with the file fails."""
    folder_a, folder_b = image_folder(tmp_path, "a"), image_folder(tmp_path, "b")
    window = open_window(qtbot, tmp_path / "s.ini", FakePredictor())
    c = window.controller
    assert open_and_wait(qtbot, window, folder_a)
    accept_one(qtbot, window)

    def broken_listing(*args, **kwargs):
        raise OSError(f"{folder_b}: Input/output error")

    monkeypatch.setattr("samlabel.session.images.sync_images", broken_listing)
    assert not open_and_wait(qtbot, window, folder_b)
    monkeypatch.undo()
    assert str(folder_b) in window.message_bar.text
    assert str(folder_a.resolve()) in window.windowTitle()
    assert c.folder == folder_a.resolve()
    assert c.annotations_path == (folder_a / "annotations.json").resolve()
    assert window.settings.last_folder == folder_a
    c.go_to(1)
    accept_one(qtbot, window)
    flushed(window)
    assert names_of_annotations(on_disk(folder_a / "annotations.json")) == ["a_0.png", "a_1.png"]
    assert not (folder_b / "annotations.json").exists()
    assert open_and_wait(qtbot, window, folder_b)  # B was let go of: it opens writable now
    assert c.store.read_only_reason is None
