"""The window's autosave: an accept reaches the disk soon, a burst is one save, and saving
runs off the GUI thread. Time bounds are loose (a loaded 2-core machine); the exact policy
is tested on a fake clock in tests/io/test_autosave_policy.py."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from PySide6.QtCore import Qt, QTimer

from samlabel.io.store import AnnotationStore
from samlabel.qt.annotation_store import open_store
from tests.qt.fakes import FakePredictor
from tests.qt.window_helpers import click_image, key, open_window, wait_ready


def _count_saves(store: AnnotationStore) -> list[str]:
    """Wraps ``store.save``: each save appends the name of the thread it ran on."""
    threads: list[str] = []
    save = store.save

    def counted(*args, **kwargs):
        threads.append(threading.current_thread().name)
        return save(*args, **kwargs)

    store.save = counted
    return threads


def _annotations_on_disk(path: Path) -> int:
    try:
        return len(json.loads(path.read_text("utf-8"))["annotations"])
    except (OSError, ValueError, KeyError):
        return -1


def test_an_accept_reaches_the_disk_off_the_gui_thread(qtbot, tmp_path, image_folder) -> None:
    window = open_window(qtbot, tmp_path / "settings.ini", FakePredictor())
    assert window.folders.open_folder(image_folder)
    wait_ready(qtbot, window)
    autosave = window.controller.store
    qtbot.waitUntil(autosave.is_saved, timeout=5000)  # opening wrote the image records
    threads = _count_saves(autosave.store)
    click_image(qtbot, window, 80, 60)
    key(qtbot, window, Qt.Key.Key_Return)
    accepted = time.monotonic()
    path = autosave.path
    qtbot.waitUntil(lambda: _annotations_on_disk(path) == 1, timeout=2000)
    elapsed = time.monotonic() - accepted
    assert threads and threading.main_thread().name not in threads
    assert len(threads) == 1  # one accept, one save
    assert elapsed < 2.0


def test_a_burst_of_changes_is_one_save(qtbot, tmp_path) -> None:
    autosave = open_store(tmp_path / "annotations.json")
    threads = _count_saves(autosave.store)
    with qtbot.waitSignal(autosave.saved, timeout=3000):
        for n in range(30):  # far quicker than the quarter second of quiet
            autosave.document.add_category(f"c{n}")
    qtbot.wait(400)  # nothing else is pending
    assert len(threads) == 1
    saved = json.loads(autosave.path.read_text("utf-8"))
    assert len(saved["categories"]) == 30
    autosave.close()


def test_a_steady_stream_of_changes_is_saved_while_it_goes_on(qtbot, tmp_path) -> None:
    autosave = open_store(tmp_path / "annotations.json")
    threads = _count_saves(autosave.store)
    made: list[int] = []
    ticker = QTimer()
    ticker.setInterval(100)  # never a quarter second of quiet

    def change() -> None:
        autosave.document.add_category(f"c{len(made)}")
        made.append(len(made))

    ticker.timeout.connect(change)
    ticker.start()
    qtbot.waitUntil(lambda: len(threads) >= 1, timeout=4000)
    ticker.stop()
    assert 0 < len(made) < 40  # saved while the stream was still running
    autosave.close()
    assert len(json.loads(autosave.path.read_text("utf-8"))["categories"]) == len(made)


def test_a_failed_save_is_reported_and_retried_at_close(qtbot, tmp_path, monkeypatch) -> None:
    autosave = open_store(tmp_path / "annotations.json")
    real_save = AnnotationStore.save
    from samlabel.core.errors import AnnotationFileError

    def failing(self, polygons: bool = False) -> None:
        raise AnnotationFileError(f"{self.path}: disk full", self.path)

    monkeypatch.setattr(AnnotationStore, "save", failing)
    with qtbot.waitSignal(autosave.failed, timeout=3000) as failed:
        autosave.document.add_category("kept")
    assert "disk full" in failed.args[0] and not autosave.is_saved()
    monkeypatch.setattr(AnnotationStore, "save", real_save)
    autosave.close()  # the space is back: closing saves what was kept in memory
    assert [c["name"] for c in json.loads(autosave.path.read_text("utf-8"))["categories"]] == [
        "kept"
    ]
