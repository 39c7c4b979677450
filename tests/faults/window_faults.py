"""Shared setup of the window fault tests: a labelled folder, the file on disk, one accept."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt

from tests.qt.images import write_images
from tests.qt.window_helpers import click_image, key, wait_idle, wait_ready

#: Qt's headless platform warns when a window's size constraints change (see tests/qt).
OFFSCREEN_NOISE = "This plugin does not support propagateSizeHints"


def image_folder(root: Path, prefix: str, count: int = 3) -> Path:
    """A folder ``root/prefix`` of ``count`` 160x120 PNGs named ``<prefix>_<n>.png``."""
    folder = root / prefix
    for index, path in enumerate(write_images(folder, count)):
        path.rename(folder / f"{prefix}_{index}.png")
    return folder


def on_disk(path: Path) -> dict:
    """The COCO file as it is on disk."""
    return json.loads(Path(path).read_text("utf-8"))


def names_of_annotations(coco: dict) -> list[str]:
    """The image file name of each annotation in ``coco``, in order."""
    names = {image["id"]: image["file_name"] for image in coco["images"]}
    return [names[a["image_id"]] for a in coco["annotations"]]


def accept_one(qtbot, window, x: float = 80, y: float = 60) -> None:
    """Click at image ``(x, y)`` of the current image, accept, and wait for the mask."""
    wait_ready(qtbot, window)
    click_image(qtbot, window, x, y)
    key(qtbot, window, Qt.Key.Key_Return)
    wait_idle(window)


def flushed(window) -> None:
    """Wait for the accepts on their way and write the pending save."""
    wait_idle(window)
    window.controller.store.flush()
