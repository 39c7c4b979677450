"""Python's cyclic garbage collector runs on the GUI thread only, while a window is open.

A Qt object whose Python wrapper ends up in a reference cycle is destroyed by whichever
thread happens to run the collector. When that is a worker thread, PySide destroys the
object there: Qt takes a lock of its signal machinery, and PySide, asked about a Python
override, waits for the GIL. If the GUI thread holds the GIL while it waits for that lock
(Qt shares a small pool of these locks between all objects, so any signal emitted at that
moment can need it), neither moves again: the window freezes for good. It happened in a
test of folder switching: a reading thread collected garbage while the image list scrolled.

So while a window is open, automatic collection is off, and a timer on the GUI thread
collects, generation by generation, when the allocation counts pass the thresholds Python
itself would use (the remedy pyqtgraph and Orange use). When the last window has gone,
automatic collection is as it was.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication

#: How often the GUI thread looks whether a collection is due.
INTERVAL_MS = 500


class GuiThreadCollector(QObject):
    """Collects cyclic garbage on the GUI thread while any holder (a window) is registered."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._holders: set[int] = set()
        self._was_enabled = gc.isenabled()
        self._timer = QTimer(self)
        self._timer.setInterval(INTERVAL_MS)
        self._timer.timeout.connect(self.collect_due)

    def hold(self, holder: QObject) -> None:
        """Keep collection on the GUI thread until ``holder`` is released or destroyed."""
        key = id(holder)
        if key in self._holders:
            return
        if not self._holders:
            self._was_enabled = gc.isenabled()
            gc.disable()
            self._timer.start()
        self._holders.add(key)
        holder.destroyed.connect(lambda *_: self.release_key(key))

    def release(self, holder: QObject) -> None:
        """``holder`` no longer needs it (its window closed)."""
        self.release_key(id(holder))

    def release_key(self, key: int) -> None:
        if key not in self._holders:
            return
        self._holders.discard(key)
        if not self._holders:
            if self._was_enabled:
                gc.enable()
            try:
                self._timer.stop()
            except RuntimeError:  # the application (and this timer) went first, at exit
                return
            gc.collect()  # what accumulated, here on the GUI thread

    def collect_due(self) -> None:
        """One collection of the oldest generation whose count passed its threshold."""
        thresholds, counts = gc.get_threshold(), gc.get_count()
        if counts[0] <= thresholds[0]:
            return
        generation = 0
        if counts[1] > thresholds[1]:
            generation = 1
            if counts[2] > thresholds[2]:
                generation = 2
        gc.collect(generation)


def gui_thread_collector() -> GuiThreadCollector:
    """The application's collector (made on first use, owned by the QApplication)."""
    app = QApplication.instance()
    found = app.findChild(GuiThreadCollector)
    if found is None:
        found = GuiThreadCollector(app)
    return found
