"""File ▸ Open Folder lists the folder in the background: the window keeps working while a
long stack's headers are read, and the newest folder asked for is the one that opens."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QFileDialog

import samlabel.session.work as work
from tests.qt.fakes import FakePredictor
from tests.qt.images import write_images
from tests.qt.window_helpers import open_and_wait, open_window, wait_opened, wait_ready


@pytest.fixture
def slow_listing(monkeypatch) -> dict[str, float]:
    """Listing a folder whose name is a key takes that many seconds longer."""
    delays: dict[str, float] = {}
    real = work.read_folder

    def slow(folder, files=None):
        time.sleep(delays.get(Path(folder).name, 0.0))
        return real(folder, files)

    monkeypatch.setattr(work, "read_folder", slow)
    return delays


def _slow_and_quick(root: Path, slow_listing: dict[str, float]) -> tuple[Path, Path]:
    """Two folders: ``first`` (2 images) takes a second longer to list, ``second`` has 3."""
    first, second = root / "first", root / "second"
    write_images(first, 2)
    write_images(second, 3)
    slow_listing["first"] = 1.0
    return first, second


def _late_listing_dropped(qtbot, window, second: Path) -> None:
    """Once the first folder's listing has answered late, ``second`` (3 images) is still
    the open folder and the remembered one."""
    c = window.controller
    qtbot.waitUntil(lambda: not c.runner.folder_lane.is_busy(), timeout=5000)
    qtbot.wait(50)  # the first listing's late answer has been delivered, and dropped
    assert c.folder == second.resolve() and len(c.paths) == 3
    assert window.settings.last_folder == second


def test_a_slow_folder_listing_does_not_block_the_window(
    qtbot, tmp_path, image_folder, slow_listing, monkeypatch
):
    slow_listing[image_folder.name] = 1.0
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a: str(image_folder))
    window = open_window(qtbot, tmp_path / "s.ini", FakePredictor())
    c = window.controller
    ticks: list[float] = []
    timer = QTimer(window)
    timer.setInterval(50)
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start()

    start = time.monotonic()
    window.actions["open_folder"].trigger()  # File ▸ Open Folder…
    assert time.monotonic() - start < 0.5  # returns at once
    assert window.folders.is_opening() and c.folder is None
    label = window.status.state_label.text()
    assert label.startswith(f"Opening {image_folder}…")
    qtbot.waitUntil(lambda: len(ticks) >= 5, timeout=900)  # the event loop runs meanwhile
    assert window.folders.is_opening() and c.folder is None  # still listing

    wait_opened(qtbot, window, timeout=10000)
    assert c.folder == image_folder.resolve()
    assert [p.name for p in c.paths] == [f"img_{i:03d}.png" for i in range(5)]
    assert str(image_folder.resolve()) in window.windowTitle()
    assert window.settings.last_folder == image_folder
    wait_ready(qtbot, window)
    assert c.row == 0
    assert not window.status.state_label.text().startswith("Opening")


def test_a_second_open_while_the_first_is_listed_wins(qtbot, tmp_path, slow_listing):
    first, second = _slow_and_quick(tmp_path, slow_listing)
    window = open_window(qtbot, tmp_path / "s.ini", FakePredictor())
    c = window.controller

    window.folders.start_opening(first)
    qtbot.waitUntil(c.runner.folder_lane.is_running, timeout=3000)  # first is being listed
    window.folders.start_opening(second)
    assert window.status.state_label.text().startswith(f"Opening {second}…")
    wait_opened(qtbot, window)
    assert c.folder == second.resolve() and len(c.paths) == 3
    assert window.settings.last_folder == second

    _late_listing_dropped(qtbot, window, second)
    assert c.annotations_path == (second / "annotations.json").resolve()


def test_the_remembered_image_is_restored_after_a_background_open(qtbot, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    write_images(first, 4)
    write_images(second, 2)
    window = open_window(qtbot, tmp_path / "s.ini", FakePredictor())
    c = window.controller
    assert open_and_wait(qtbot, window, first)
    c.go_to(2)
    assert open_and_wait(qtbot, window, second)
    assert c.row == 0
    assert open_and_wait(qtbot, window, first)
    assert c.row == 2  # not the first image the session shows on opening


def test_a_folder_that_cannot_be_listed_is_told_and_the_open_one_stays(
    qtbot, tmp_path, image_folder
):
    window = open_window(qtbot, tmp_path / "s.ini", FakePredictor())
    c = window.controller
    assert open_and_wait(qtbot, window, image_folder)
    gone = tmp_path / "gone"
    assert not open_and_wait(qtbot, window, gone)
    assert "gone" in window.message_bar.text
    assert c.folder == image_folder.resolve() and len(c.paths) == 5
    assert window.settings.last_folder == image_folder
    assert not window.status.state_label.text().startswith("Opening")


def test_opening_a_folder_at_once_supersedes_one_being_listed(qtbot, tmp_path, slow_listing):
    first, second = _slow_and_quick(tmp_path, slow_listing)
    window = open_window(qtbot, tmp_path / "s.ini", FakePredictor())
    window.folders.start_opening(first)
    assert window.folders.open_folder(second)  # opened on this thread, the newest request
    assert not window.folders.is_opening()
    assert not window.status.state_label.text().startswith("Opening")
    _late_listing_dropped(qtbot, window, second)
