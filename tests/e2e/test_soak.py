"""2,000 image switches with the fake predictor: memory levels off, no thread is left."""

from __future__ import annotations

import gc
import threading
import time

import numpy as np
import psutil
import pytest
from PySide6.QtCore import QCoreApplication, QEventLoop

from tests.qt.fakes import FakePredictor
from tests.qt.images import write_images
from tests.qt.window_helpers import open_window, wait_ready

SWITCHES = 2000


@pytest.mark.slow
def test_two_thousand_image_switches(qtbot, tmp_path) -> None:
    folder = tmp_path / "images"
    write_images(folder, 12, size=(48, 64))
    before_threads = set(threading.enumerate())
    window = open_window(qtbot, tmp_path / "settings.ini", FakePredictor())
    assert window.folders.open_folder(folder)
    wait_ready(qtbot, window)
    c = window.controller
    process = psutil.Process()
    rss: list[tuple[int, float]] = []
    started = time.monotonic()
    for switch in range(SWITCHES):
        # Forward through the folder, then back: every image is left and revisited.
        going_forward = (switch // (len(c.paths) - 1)) % 2 == 0
        c.next_image() if going_forward else c.previous_image()
        deadline = time.monotonic() + 5
        while c.source is None or c.embedding is None or c.source.path != c.paths[c.row]:
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)
            assert time.monotonic() < deadline, f"switch {switch} did not finish"
        if switch % 200 == 0 or switch == SWITCHES - 1:
            gc.collect()
            rss.append((switch, process.memory_info().rss / 2**20))
    elapsed = time.monotonic() - started
    curve = ", ".join(f"{n}:{mb:.0f}" for n, mb in rss)
    print(f"\n{SWITCHES} switches in {elapsed:.1f} s; RSS MiB by switch: {curve}")
    second_half = [mb for n, mb in rss if n >= SWITCHES // 2]
    assert max(second_half) - min(second_half) < 20, curve  # levelled off
    slope = np.polyfit([n for n, _ in rss[3:]], [mb for _, mb in rss[3:]], 1)[0]
    assert slope * 1000 < 10, f"{slope * 1000:.1f} MiB per 1000 switches: {curve}"
    window.close()
    deadline = time.monotonic() + 5
    while set(threading.enumerate()) - before_threads and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [t.name for t in set(threading.enumerate()) - before_threads]
    assert left == [], f"threads still running: {left}"
