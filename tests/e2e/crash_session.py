"""A labelling session run as its own process by test_crash_recovery: it accepts a mask every
``interval`` seconds and prints ``accepted <count> <time>`` after each, until it is killed."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main(folder: str, settings: str, interval: float) -> None:
    from PySide6.QtWidgets import QApplication

    from samlabel.app import create_window
    from tests.qt.fakes import FakePredictor

    app = QApplication([])
    window = create_window(settings, FakePredictor(), embedding_cache=False)
    window.show()
    if not window.folders.open_folder(Path(folder)):
        raise SystemExit(f"cannot open {folder}: {window.message_bar.text}")
    controller = window.controller
    count = 0
    x = 10.0
    while True:
        deadline = time.monotonic() + interval
        while time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.005)
        if controller.embedding is None:
            continue
        controller.add_point(x, 30.0, 1)
        while not controller.is_idle():  # the mask is decoded in the background
            app.processEvents()
            time.sleep(0.001)
        if controller.accept() is not None:
            while not controller.is_idle():  # the accepted mask is made in the background
                app.processEvents()
                time.sleep(0.001)
            count += 1
            print(f"accepted {count} {time.time():.6f}", flush=True)
        x = 10.0 + (x + 13.0) % 140.0


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]))
