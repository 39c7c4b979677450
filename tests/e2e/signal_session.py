"""The real app (``samlabel.app.run_app``) run as its own process by test_signals, with the
fake model: it accepts a mask every ``interval`` seconds and prints ``accepted <count>`` after
each; with ``export`` it starts a slow export after the third and prints ``export started``;
with ``slow_merge`` each merge of another program's edit prints ``merging`` and takes a second
more. It runs until a signal closes it, then prints ``exit <code>``."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main(folder: str, interval: float, export_to: str | None, slow_merge: bool = False) -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    import samlabel.app as app_module
    import samlabel.qt.exporting as exporting
    from tests.qt.fakes import FakePredictor

    _app = QApplication([])  # run_app uses this instance
    windows = []
    real_create_window = app_module.create_window

    def create_window(**options):
        window = real_create_window(predictor=FakePredictor(), embedding_cache=False)
        windows.append(window)
        return window

    app_module.create_window = create_window
    real_export = exporting.export_document

    def slow_export(*args, **kwargs):
        time.sleep(1.0)  # still writing when the signal comes
        return real_export(*args, **kwargs)

    exporting.export_document = slow_export
    if slow_merge:
        import samlabel.io.file_sync as file_sync

        real_merge = file_sync.merge_snapshots

        def merge_slowly(*args, **kwargs):
            print("merging", flush=True)
            time.sleep(1.0)  # the signal arrives in the middle of the merge
            return real_merge(*args, **kwargs)

        file_sync.merge_snapshots = merge_slowly
    count = 0
    x = 10.0
    export_started = False

    def step() -> None:
        nonlocal count, x, export_started
        c = windows[0].controller if windows else None
        if c is None or c.embedding is None or not c.is_idle():
            return
        if c.prompts.is_empty():
            c.add_point(x, 30.0, 1)
            x = 10.0 + (x + 13.0) % 140.0
            return
        if export_to and count == 3 and not export_started:
            # After the third accepted mask has landed (masks are made in the background).
            windows[0].exports.export_to("coco-polygons", Path(export_to))
            export_started = True
            print("export started", flush=True)
            return
        if c.accept() is not None:
            count += 1
            print(f"accepted {count}", flush=True)

    driver = QTimer()
    driver.setInterval(round(interval * 1000))
    driver.timeout.connect(step)
    driver.start()
    args = argparse.Namespace(paths=[folder], annotations=None, model=None, backend=None)
    code = app_module.run_app(args)
    print(f"exit {code}", flush=True)
    return code


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("folder")
    parser.add_argument("interval", type=float)
    parser.add_argument("--export")
    parser.add_argument("--slow-merge", action="store_true")
    options = parser.parse_args()
    sys.exit(main(options.folder, options.interval, options.export, options.slow_merge))
