"""Another program edits the annotations file while the window has it open (issue 12, item 2).

Once, a category and ``info.description`` added by a script were silently overwritten by the
next autosave, and rotated out of the ``.bak`` one save later. Now the window reloads an
outside change when nothing is unsaved here, merges it with unsaved work, and keeps both
versions when they conflict, saying so each time.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from samlabel.core.errors import AnnotationFileError
from samlabel.io.autosave_policy import AutosavePolicy
from samlabel.io.save_outcome import SaveKind
from tests.faults.window_faults import OFFSCREEN_NOISE, accept_one, flushed, image_folder, on_disk
from tests.qt.fakes import FakePredictor
from tests.qt.window_helpers import open_window

pytestmark = pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)


def edit_outside(path: Path, change) -> None:
    """Rewrite the file as a script would (other bytes, a new mtime, replaced by rename)."""
    data = json.loads(path.read_text("utf-8"))
    change(data)
    time.sleep(0.01)
    temporary = path.with_name("script-output.tmp")
    temporary.write_text(json.dumps(data, indent=1), "utf-8")
    os.replace(temporary, path)


def add_category_and_description(data: dict) -> None:
    data["categories"].append({"id": 77, "name": "from-script", "supercategory": ""})
    data.setdefault("info", {})["description"] = "survey 7"


def opened(qtbot, tmp_path):
    folder = image_folder(tmp_path, "b")
    window = open_window(qtbot, tmp_path / "s.ini", FakePredictor())
    assert window.folders.open_folder(folder)
    return window, folder / "annotations.json"


def slow_autosave(window) -> None:
    """Keep changes unsaved for a while (the user's work waiting for its save)."""
    window.controller.store.policy = AutosavePolicy(quiet=60, longest=120)


def status_text(window) -> str:
    return window.status.currentMessage()


def test_an_outside_edit_with_nothing_unsaved_here_is_reloaded_and_kept(qtbot, tmp_path):
    window, path = opened(qtbot, tmp_path)
    c = window.controller
    accept_one(qtbot, window)
    flushed(window)
    edit_outside(path, add_category_and_description)
    qtbot.waitUntil(lambda: "from-script" in [k.name for k in c.document.categories], timeout=5000)
    assert "changed by another program; reloaded" in status_text(window)
    accept_one(qtbot, window, 40, 30)
    flushed(window)
    accept_one(qtbot, window, 120, 90)
    flushed(window)
    coco = on_disk(path)
    assert "from-script" in [k["name"] for k in coco["categories"]]
    assert coco["info"]["description"] == "survey 7"
    assert len(coco["annotations"]) == 3
    backup = on_disk(path.with_name("annotations.json.bak"))
    assert "from-script" in [k["name"] for k in backup["categories"]]


def test_an_outside_edit_with_unsaved_work_here_is_merged_and_told(qtbot, tmp_path):
    window, path = opened(qtbot, tmp_path)
    accept_one(qtbot, window)
    flushed(window)
    slow_autosave(window)
    accept_one(qtbot, window, 40, 30)  # unsaved here
    assert not window.controller.is_saved()
    edit_outside(path, add_category_and_description)
    qtbot.waitUntil(window.controller.is_saved, timeout=5000)  # merged at once
    assert "merged" in status_text(window) and str(path) in status_text(window)
    coco = on_disk(path)
    assert "from-script" in [k["name"] for k in coco["categories"]]
    assert coco["info"]["description"] == "survey 7"
    assert len(coco["annotations"]) == 2


def test_a_save_thread_that_finds_an_outside_edit_leaves_the_merge_to_the_window(qtbot, tmp_path):
    window, path = opened(qtbot, tmp_path)
    c = window.controller
    kinds: list[SaveKind] = []
    guard = c.session.file
    original = guard.on_outcome
    guard_outcome = lambda outcome: (kinds.append(outcome.kind), original(outcome))  # noqa: E731
    c.store._on_outcome = guard_outcome
    accept_one(qtbot, window)
    flushed(window)
    slow_autosave(window)
    accept_one(qtbot, window, 40, 30)
    edit_outside(path, add_category_and_description)
    c.store.save_soon()  # the saving thread starts before the watcher is heard
    qtbot.waitUntil(c.is_saved, timeout=5000)
    assert SaveKind.DEFERRED in kinds  # the saving thread did not merge...
    assert c.store.store.last_outcome.kind is SaveKind.MERGED  # ...the window's thread did
    assert "merged" in status_text(window)
    coco = on_disk(path)
    assert "from-script" in [k["name"] for k in coco["categories"]]
    assert len(coco["annotations"]) == 2


def test_a_conflicting_outside_edit_keeps_both_and_a_bar_names_the_copy(qtbot, tmp_path):
    window, path = opened(qtbot, tmp_path)
    c = window.controller
    accept_one(qtbot, window)
    flushed(window)
    slow_autosave(window)
    (annotation,) = c.document.annotations
    c.delete_annotation(annotation.id)  # ours: deleted

    def recategorise(data: dict) -> None:  # theirs: the same annotation changed
        data["categories"].append({"id": 77, "name": "from-script", "supercategory": ""})
        data["annotations"][0]["category_id"] = 77

    edit_outside(path, recategorise)
    qtbot.waitUntil(lambda: "conflict" in window.message_bar.text, timeout=5000)
    copies = sorted(path.parent.glob("annotations.conflict-*.json"))
    assert len(copies) == 1 and copies[0].name in window.message_bar.text
    theirs = on_disk(path)
    assert theirs["annotations"][0]["category_id"] == 77  # their file, as they left it
    assert on_disk(copies[0])["annotations"] == []  # ours, beside it
    window.show_message("warning", "Something else for a moment.")
    window.message_bar.dismiss()
    assert copies[0].name in window.message_bar.text  # stays until dismissed
    window.message_bar.dismiss()
    assert window.message_bar.text == ""


def test_a_failed_save_keeps_a_bar_and_is_retried(qtbot, tmp_path, monkeypatch):
    window, path = opened(qtbot, tmp_path)
    c = window.controller
    accept_one(qtbot, window)
    flushed(window)

    def full_disk(target, *args, **kwargs):
        raise AnnotationFileError(
            f"{target}: could not be saved (no space left on device); the file on disk is "
            "unchanged.",
            target,
        )

    monkeypatch.setattr("samlabel.io.file_sync.atomic_write_bytes", full_disk)
    accept_one(qtbot, window, 40, 30)
    qtbot.waitUntil(lambda: "retried" in window.message_bar.text, timeout=5000)
    assert path.name in window.message_bar.text
    assert len(on_disk(path)["annotations"]) == 1 and not c.is_saved()
    monkeypatch.undo()
    qtbot.waitUntil(c.is_saved, timeout=5000)  # retried without a new change
    assert len(on_disk(path)["annotations"]) == 2
    assert "retried" not in window.message_bar.text
