"""Session tests: no Qt, no event loop; image folders made on the fly."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.qt.images import write_images


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    """A folder of 3 generated 120x160 images."""
    folder = tmp_path / "images"
    write_images(folder, 3)
    return folder
