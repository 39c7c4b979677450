"""The window's one door to image files: list a folder, read a file, make it displayable.

Reading goes through :mod:`samlabel.io.images` (EXIF orientation, 16-bit windowing, TIFF,
DICOM), and the encoder is given exactly the RGB picture the screen shows, so what the user
sees is what SAM segments. Everything here runs in any thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from samlabel.core.windowing import Window
from samlabel.io.images import (
    LoadedImage,
    needs_tiled_view,
    read_image,
    read_image_size,
    read_overview,
    to_display_rgb,
)
from samlabel.io.images import list_images as _list_images


@dataclass(frozen=True)
class SourceImage:
    """One image ready for the encoder and the screen.

    Attributes:
        path: the file.
        display: ``(H, W, 3)`` uint8 RGB, C-contiguous, upright; also what the encoder sees.
        mode: the file's pixel format in words (for the status bar), e.g. ``"RGB 8-bit"``.
        loaded: the decoded file (stored values, e.g. uint16), kept so a new window/level can
            be applied without reading the file again; None when not kept.
        window: the window/level ``display`` was made with; None for the file's default.
        full_size: ``(H, W)`` of the whole image when ``display`` is only an overview or a
            crop of it (huge images); None when ``display`` is the whole image.
        region: ``(x0, y0, x1, y1)`` in whole-image pixels when ``display`` is a crop at
            native resolution; None otherwise.
    """

    path: Path
    display: np.ndarray
    mode: str = ""
    loaded: LoadedImage | None = None
    window: Window | None = None
    full_size: tuple[int, int] | None = None
    region: tuple[int, int, int, int] | None = None

    @property
    def is_overview(self) -> bool:
        """Whether ``display`` is a reduced picture of a huge image (not for labelling)."""
        return self.full_size is not None and self.region is None

    @property
    def pixels(self) -> np.ndarray:
        """What the encoder is given: the displayed RGB picture."""
        return self.display

    @property
    def size(self) -> tuple[int, int]:
        """``(H, W)``."""
        return int(self.display.shape[0]), int(self.display.shape[1])


def list_images(folder: str | Path) -> list[Path]:
    """Image files directly in ``folder``, naturally sorted."""
    return [Path(p) for p in _list_images(folder)]


def image_size(path: str | Path) -> tuple[int, int]:
    """Upright ``(H, W)`` read from the header; raises ImageReadError naming the file."""
    height, width = read_image_size(path)
    return int(height), int(width)


#: Longest side of the overview shown for a huge image.
OVERVIEW_SIDE = 4096


def read_source_image(path: str | Path) -> SourceImage:
    """Read ``path`` for labelling; raises :class:`ImageReadError` naming the file.

    A huge image (:func:`samlabel.io.images.needs_tiled_view`) comes as an overview of at most
    :data:`OVERVIEW_SIDE` px a side, with ``full_size`` set; labelling happens in crops of it
    (:mod:`samlabel.session.current_image`).
    """
    full = read_image_size(path)
    if needs_tiled_view(full):
        overview = read_overview(path, OVERVIEW_SIDE)
        display = np.ascontiguousarray(to_display_rgb(overview), dtype=np.uint8)
        mode = f"{overview.mode}, overview of {full[1]} x {full[0]}"
        kept = overview if overview.default_window is not None else None
        return SourceImage(Path(path), display, mode, kept, full_size=tuple(full))
    loaded = read_image(path)
    display = np.ascontiguousarray(to_display_rgb(loaded), dtype=np.uint8)
    # Keep the stored values only where a window/level applies (>8-bit, float).
    kept = loaded if loaded.default_window is not None else None
    return SourceImage(Path(path), display, loaded.mode, kept)
