"""Icons and the stylesheet, read from the package data with importlib.resources."""

from __future__ import annotations

from functools import cache
from importlib import resources

from PySide6.QtGui import QIcon, QPixmap


def _asset_bytes(name: str) -> bytes:
    return resources.files("samlabel.assets").joinpath(name).read_bytes()


@cache
def stylesheet() -> str:
    """The application's Qt stylesheet (dark theme)."""
    return _asset_bytes("dark.qss").decode("utf-8")


def icon(name: str) -> QIcon:
    """The icon ``samlabel/assets/icons/<name>.svg`` (empty when missing)."""
    try:
        data = _asset_bytes(f"icons/{name}.svg")
    except (FileNotFoundError, OSError):
        return QIcon()
    pixmap = QPixmap()
    pixmap.loadFromData(data, "SVG")
    result = QIcon()
    for size in (16, 24, 32, 48):
        scaled = QPixmap()
        scaled.loadFromData(
            data.replace(b'width="24" height="24"', f'width="{size}" height="{size}"'.encode()),
            "SVG",
        )
        if not scaled.isNull():
            result.addPixmap(scaled)
    return result if not result.isNull() else QIcon(pixmap)
