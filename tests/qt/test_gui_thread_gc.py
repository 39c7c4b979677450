"""Garbage with Qt objects in it is collected on the GUI thread while a window is open.

A Qt object destroyed by the collector on a worker thread can deadlock the window (see
:mod:`samlabel.qt.gui_thread_gc`; it froze a folder-switching test). These tests drop a Qt
object into a reference cycle, make a worker thread allocate enough to trigger a collection,
and look at which thread the object died on.
"""

from __future__ import annotations

import gc
import threading
import weakref

from PySide6.QtCore import QObject

from tests.qt.window_helpers import open_window


def drop_qt_object_in_a_cycle(died_on: list[str]) -> weakref.ref:
    """A QObject kept only by a cycle. The returned weak reference (keep it: a weak reference
    that is garbage itself calls nothing) records the name of the thread that frees it."""
    holder = {"obj": QObject()}
    holder["self"] = holder  # a cycle: only the collector frees it
    return weakref.ref(holder["obj"], lambda _: died_on.append(threading.current_thread().name))


def allocate_a_lot(kept: list) -> None:
    """Thousands of live container objects: past the count at which Python collects."""
    kept.extend([i] for i in range(20_000))


def test_a_worker_thread_never_collects_qt_objects_while_the_window_is_open(qtbot, tmp_path):
    window = open_window(qtbot, tmp_path / "s.ini")
    assert not gc.isenabled()  # automatic collection is off while the window is open
    died_on: list[str] = []
    watch = drop_qt_object_in_a_cycle(died_on)
    kept: list = []
    worker = threading.Thread(target=allocate_a_lot, args=(kept,), name="worker")
    worker.start()
    worker.join()
    assert died_on == []  # the worker's allocations did not run the collector
    qtbot.waitUntil(lambda: bool(died_on), timeout=5000)  # the GUI thread's timer did
    assert died_on == [threading.main_thread().name] and watch() is None
    window.close()


def test_automatic_collection_is_back_when_the_window_closes(qtbot, tmp_path):
    was_enabled = gc.isenabled()
    window = open_window(qtbot, tmp_path / "s.ini")
    assert not gc.isenabled()
    window.close()
    assert gc.isenabled() == was_enabled
