"""Read-only annotations files and files held by another window (issue 12, item 3).

Once, three masks labelled on a file another window held were lost at close without a
question, after one passing warning. Now the title and a lasting bar say so, "Save
annotations as…" moves the work to a writable place (and the folder continues there next
time), closing with unsaved work asks, and a file the other window let go of is offered.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from samlabel.io.store import AnnotationStore
from tests.faults.window_faults import (
    OFFSCREEN_NOISE,
    accept_one,
    image_folder,
    names_of_annotations,
    on_disk,
)
from tests.qt.fakes import FakePredictor
from tests.qt.window_helpers import open_window, wait_idle

pytestmark = pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)


@pytest.fixture
def held(tmp_path):
    """Folder ``b`` whose annotations file another window holds (its lock), one annotation
    saved there before."""
    folder = image_folder(tmp_path, "b")
    other = AnnotationStore.open(folder / "annotations.json")
    other.document.add_images([("b_0.png", 160, 120)], undoable=False)
    other.document.add_category("kept")
    other.save()
    yield folder, other
    other.close()


def test_a_held_file_says_so_in_the_title_and_a_bar_and_is_offered_when_let_go(
    qtbot, tmp_path, held
):
    folder, other = held
    path = folder / "annotations.json"
    window = open_window(qtbot, tmp_path / "s.ini", FakePredictor())
    c = window.controller
    assert window.folders.open_folder(folder)
    assert "read-only" in window.windowTitle()
    assert "will not be saved" in window.message_bar.text and "Save annotations as" in (
        window.message_bar.text
    )
    assert window.message_bar.action_button.text() == "Save annotations as…"
    for x in (40, 80, 120):
        accept_one(qtbot, window, x, 60)
    window.show_message("warning", "A passing message.")
    window.message_bar.dismiss()
    assert "will not be saved" in window.message_bar.text  # the bar stays
    assert on_disk(path)["annotations"] == []  # nothing written over the other window's file

    other.close()  # the other window lets go
    qtbot.waitUntil(lambda: "let go of" in window.message_bar.text, timeout=5000)
    assert window.message_bar.action_button.text() == "Take it over"
    window.message_bar.action_button.click()
    qtbot.waitUntil(c.is_saved, timeout=5000)
    assert "read-only" not in window.windowTitle()
    coco = on_disk(path)
    assert names_of_annotations(coco) == ["b_0.png"] * 3
    assert "kept" in [k["name"] for k in coco["categories"]]


def test_save_as_moves_the_work_and_the_folder_continues_there(qtbot, tmp_path, held, monkeypatch):
    folder, _ = held
    settings = tmp_path / "s.ini"
    window = open_window(qtbot, settings, FakePredictor())
    assert window.folders.open_folder(folder)
    accept_one(qtbot, window)
    elsewhere = tmp_path / "mine" / "labels.json"
    elsewhere.parent.mkdir()
    monkeypatch.setattr(
        "samlabel.qt.folder_commands.QFileDialog.getSaveFileName",
        lambda *args, **kwargs: (str(elsewhere), "COCO (*.json)"),
    )
    window.actions["save_annotations_as"].trigger()  # File ▸ Save Annotations As…
    c = window.controller
    assert c.annotations_path == elsewhere.resolve()
    assert "read-only" not in window.windowTitle()
    assert "will not be saved" not in window.message_bar.text
    assert "Saved as" in window.status.currentMessage()
    accept_one(qtbot, window, 120, 90)
    wait_idle(window)
    c.store.flush()
    assert len(on_disk(elsewhere)["annotations"]) == 2
    window.close()

    again = open_window(qtbot, settings, FakePredictor())
    assert again.folders.open_folder(folder)
    assert again.controller.annotations_path == elsewhere.resolve()
    assert len(again.controller.document.annotations) == 2


@pytest.mark.parametrize("answer", ["cancel", "discard", "save_as"])
def test_closing_with_work_that_cannot_be_saved_asks(qtbot, tmp_path, held, monkeypatch, answer):
    folder, _ = held
    window = open_window(qtbot, tmp_path / "s.ini", FakePredictor())
    assert window.folders.open_folder(folder)
    accept_one(qtbot, window)
    asked: list[str] = []

    def reply(parent, text):
        asked.append(text)
        return answer

    target = tmp_path / "rescued.json"
    monkeypatch.setattr("samlabel.qt.folder_commands.ask_unsaved", reply)
    monkeypatch.setattr(
        "samlabel.qt.folder_commands.QFileDialog.getSaveFileName",
        lambda *args, **kwargs: (str(target), "COCO (*.json)"),
    )
    window.close()
    assert len(asked) == 1 and "annotations.json" in asked[0] and "not saved" in asked[0]
    if answer == "cancel":
        assert window.isVisible()  # still open, the work still here
        assert len(window.controller.document.annotations) == 1
        monkeypatch.setattr(
            "samlabel.qt.folder_commands.ask_unsaved", lambda parent, text: "discard"
        )
        window.close()
    elif answer == "save_as":
        assert not window.isVisible()
        assert len(on_disk(target)["annotations"]) == 1
    else:
        assert not window.isVisible()
    assert not window.isVisible()
    assert on_disk(folder / "annotations.json")["annotations"] == []  # theirs, untouched
    assert Path(folder / "annotations.json").exists()
