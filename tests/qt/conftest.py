"""GUI test setup: fail on exceptions in any thread, make generated image folders."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.qt.images import write_images


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
