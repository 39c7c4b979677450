"""GUI test setup: fail on exceptions in any thread, make generated image folders."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.qt.images import write_images

#: Qt's headless "offscreen" platform warns whenever a top-level window's size constraints
#: change; that is a limit of the test platform, not of the app. Every other warning fails.
OFFSCREEN_NOISE = "This plugin does not support propagateSizeHints"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).resolve().parent
    gui_dirs = (here, here.parent / "e2e")
    for item in items:
        if any(Path(item.path).is_relative_to(d) for d in gui_dirs):
            item.add_marker(pytest.mark.qt_log_ignore(OFFSCREEN_NOISE))


@pytest.fixture(autouse=True)
def _fail_on_thread_exceptions(monkeypatch: pytest.MonkeyPatch):
    """An exception escaping a worker thread fails the test (pytest-qt covers Qt slots)."""
    caught: list[threading.ExceptHookArgs] = []
    monkeypatch.setattr(threading, "excepthook", caught.append)
    yield
    if caught:
        args = caught[0]
        raise AssertionError(
            f"unhandled exception in thread {args.thread.name if args.thread else '?'}: "
            f"{args.exc_type.__name__}: {args.exc_value}"
        )


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    """A folder of 5 generated 160x120 images."""
    folder = tmp_path / "images"
    write_images(folder, 5)
    return folder
