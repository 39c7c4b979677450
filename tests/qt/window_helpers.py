"""Driving the real window in tests: open it, wait for it, click at image coordinates."""

from __future__ import annotations

import json
import time
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QPoint, Qt

from samlabel.app import create_window
from samlabel.qt.main_window import MainWindow


def open_window(qtbot, settings_path: Path, predictor=None, cache: bool = False) -> MainWindow:
    """A shown window with ``predictor`` (None: no model), registered for cleanup."""
    window = create_window(settings_path, predictor, embedding_cache=cache)
    qtbot.addWidget(window)
    window.resize(1280, 820)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    return window


def open_and_wait(qtbot, window: MainWindow, folder: Path, timeout: int = 10000) -> bool:
    """Open ``folder`` as File ▸ Open Folder does (listed in the background) and wait until it
    has opened or failed; whether it is the open folder now."""
    window.folders.start_opening(folder)
    wait_opened(qtbot, window, timeout)
    return window.controller.folder == Path(folder).resolve()


def wait_opened(qtbot, window: MainWindow, timeout: int = 10000) -> None:
    """Until no folder is being listed to open (it opened, failed, or was superseded)."""
    qtbot.waitUntil(lambda: not window.folders.is_opening(), timeout=timeout)


def wait_ready(qtbot, window: MainWindow, timeout: int = 10000) -> None:
    """Until the current image is shown and (with a model) its embedding is ready."""
    c = window.controller
    qtbot.waitUntil(lambda: c.source is not None, timeout=timeout)
    if c.predictor is not None:
        qtbot.waitUntil(lambda: c.embedding is not None, timeout=timeout)


def image_pos(window: MainWindow, x: float, y: float) -> QPoint:
    """Canvas widget position of image pixel centre ``(x, y)``."""
    return window.canvas.image_to_widget(x, y).toPoint()


def click_image(
    qtbot,
    window: MainWindow,
    x: float,
    y: float,
    button=Qt.MouseButton.LeftButton,
    modifier=Qt.KeyboardModifier.NoModifier,
    settle: bool = True,
) -> tuple[float, float]:
    """Click at image ``(x, y)``; returns the image coordinates the canvas reported.

    With ``settle`` it returns once the mask of the new prompts is shown (decoding runs in the
    background), or at once when it cannot be decoded yet (no model or no embedding)."""
    seen: list[tuple[float, float]] = []

    def note(px: float, py: float, label: int) -> None:
        seen.append((px, py))

    window.canvas.pointClicked.connect(note)
    qtbot.mouseClick(window.canvas, button, modifier, image_pos(window, x, y))
    window.canvas.pointClicked.disconnect(note)  # only ours: the window's stay connected
    if settle:
        wait_decoded(qtbot, window)
    return seen[-1]


def drag_box(qtbot, window: MainWindow, corner: tuple[float, float], other: tuple[float, float]):
    """Drag a box with the left button from image ``corner`` to image ``other`` (a press, two
    moves, a release, as a hand does)."""
    start = window.canvas.image_to_widget(*corner).toPoint()
    end = window.canvas.image_to_widget(*other).toPoint()
    qtbot.mousePress(window.canvas, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(window.canvas, start + (end - start) / 2)
    qtbot.mouseMove(window.canvas, end)
    qtbot.mouseRelease(window.canvas, Qt.MouseButton.LeftButton, pos=end)


def wait_decoded(qtbot, window: MainWindow, timeout: int = 10000) -> None:
    """Until no mask is being decoded or waits to be (the shown mask is final)."""
    qtbot.waitUntil(window.controller.is_idle, timeout=timeout)


def key(qtbot, window: MainWindow, key_code, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    """Press a key on the canvas (shortcuts are window-wide)."""
    qtbot.keyClick(window.canvas, key_code, modifier)


def wait_idle(window: MainWindow, timeout: float = 10.0) -> None:
    """Process events until no mask is being decoded or made (accepts have landed)."""
    deadline = time.monotonic() + timeout
    while not window.controller.is_idle():
        if time.monotonic() > deadline:
            raise TimeoutError(f"masks still on their way after {timeout} s")
        QCoreApplication.processEvents()
        time.sleep(0.002)


def saved_coco(window: MainWindow) -> dict:
    """The annotations file on disk once the accepts on their way have landed and the
    pending save is flushed."""
    wait_idle(window)
    window.controller.store.flush()
    return json.loads(Path(window.controller.annotations_path).read_text("utf-8"))
