"""``samlabel [FOLDER] [--model CKPT]`` opens the window, with or without a usable model."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from samlabel.cli import main
from samlabel.qt.main_window import MainWindow


def _run_and_inspect(qtbot, argv: list[str], wait_for) -> dict:
    """Run ``samlabel argv``; once ``wait_for(window)`` holds, note what the window shows
    (``title``, ``message``, ``folder``, ``annotations``, ``predictor``) and close it."""
    seen: dict = {}
    restore = sys.excepthook

    def inspect() -> None:
        windows = [
            w
            for w in QApplication.topLevelWidgets()
            if isinstance(w, MainWindow) and w.isVisible()  # not an earlier test's window
        ]
        if windows and wait_for(windows[-1]):
            window = windows[-1]
            seen.update(
                title=window.windowTitle(),
                message=window.message_bar.text,
                folder=window.controller.folder,
                annotations=window.controller.annotations_path,
                predictor=window.controller.predictor,
            )
            windows[-1].close()
            windows[-1].deleteLater()
            QApplication.instance().quit()
        else:
            QTimer.singleShot(50, inspect)

    QTimer.singleShot(50, inspect)
    guard = QTimer()  # never hang the suite
    guard.setSingleShot(True)
    guard.timeout.connect(QApplication.instance().quit)
    guard.start(60_000)
    app = QApplication.instance()
    # Closing the last window would post a Quit event that outlives this app.exec() and
    # makes every later event loop of the test session return at once.
    quit_on_close = app.quitOnLastWindowClosed()
    app.setQuitOnLastWindowClosed(False)
    try:
        assert main(argv) == 0
    finally:
        guard.stop()
        app.setQuitOnLastWindowClosed(quit_on_close)
        sys.excepthook = restore
    assert seen, "the window never got there"
    return seen


def test_opens_a_folder_and_explains_a_missing_model(qtbot, image_folder: Path) -> None:
    window = _run_and_inspect(qtbot, [str(image_folder)], lambda w: w.controller.source is not None)
    assert window["title"].startswith(f"samlabel — {image_folder.resolve()}")
    assert "model" in window["message"].lower()
    assert window["annotations"] == image_folder.resolve() / "annotations.json"
    assert (image_folder / "annotations.json").exists()


def test_bad_model_and_separate_annotations_file(qtbot, image_folder, tmp_path) -> None:
    bad = tmp_path / "broken.pth"
    bad.write_bytes(b"not a checkpoint")
    annotations = tmp_path / "elsewhere.json"
    window = _run_and_inspect(
        qtbot,
        [str(image_folder), "--model", str(bad), "--annotations", str(annotations)],
        lambda w: w.controller.source is not None and "broken.pth" in w.message_bar.text,
    )
    assert window["predictor"] is None
    assert annotations.exists() and not (image_folder / "annotations.json").exists()
    names = {
        image["file_name"] for image in __import__("json").loads(annotations.read_text())["images"]
    }
    assert "images/img_000.png" in names


def test_without_arguments_reopens_the_last_folder(qtbot, image_folder: Path) -> None:
    _run_and_inspect(qtbot, [str(image_folder)], lambda w: w.controller.source is not None)
    window = _run_and_inspect(qtbot, [], lambda w: w.controller.source is not None)
    assert window["folder"] == image_folder.resolve()
