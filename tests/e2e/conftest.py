"""End-to-end setup: the same guards as the GUI tests (thread exceptions, Qt warnings)."""

from tests.qt.conftest import (
    _fail_on_thread_exceptions,
    image_folder,
    pytest_collection_modifyitems,
)

__all__ = ["_fail_on_thread_exceptions", "image_folder", "pytest_collection_modifyitems"]
