"""End-to-end setup: the same thread-exception guard as the GUI tests."""

from tests.qt.conftest import _fail_on_thread_exceptions, image_folder

__all__ = ["_fail_on_thread_exceptions", "image_folder"]
