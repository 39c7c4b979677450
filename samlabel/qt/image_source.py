"""The window's one door to image files: list a folder, read a file, make it displayable.

Reading is delegated to :mod:`samlabel.io.images` when it is available (EXIF orientation,
16-bit, DICOM); until then PIL reads the common formats. Everything here runs in any thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from samlabel.core.errors import ImageReadError

#: File name suffixes shown in the image list (lower case).
IMAGE_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".dcm"}
)


@dataclass(frozen=True)
class SourceImage:
    """One image ready for the encoder and the screen.

    Attributes:
        pixels: ``(H, W)`` or ``(H, W, C)`` uint8/uint16 array as the encoder should see it.
        display: ``(H, W, 3)`` uint8 RGB for the canvas, C-contiguous.
    """

    pixels: np.ndarray
    display: np.ndarray

    @property
    def size(self) -> tuple[int, int]:
        """``(H, W)``."""
        return int(self.display.shape[0]), int(self.display.shape[1])


def list_images(folder: str | Path) -> list[Path]:
    """Image files directly in ``folder``, sorted by name (case-insensitive)."""
    try:
        from samlabel.io.images import list_images as io_list_images
    except ImportError:
        io_list_images = None
    if io_list_images is not None:
        return [Path(p) for p in io_list_images(folder)]
    root = Path(folder)
    files = [p for p in root.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    return sorted(files, key=lambda p: p.name.lower())


def _to_display_rgb(pixels: np.ndarray) -> np.ndarray:
    """uint8 RGB ``(H, W, 3)`` for an ``(H, W[, C])`` uint8/uint16 array (16 bit: min-max)."""
    array = pixels
    if array.dtype != np.uint8:
        low, high = float(array.min()), float(array.max())
        span = max(high - low, 1.0)
        array = ((array.astype(np.float32) - low) * (255.0 / span)).astype(np.uint8)
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    elif array.shape[2] == 4:
        array = array[:, :, :3]
    elif array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    return np.ascontiguousarray(array)


def read_source_image(path: str | Path) -> SourceImage:
    """Read ``path`` for labelling; raises :class:`ImageReadError` naming the file."""
    try:
        from samlabel.io import images as io_images
    except ImportError:
        io_images = None
    if io_images is not None and hasattr(io_images, "read_image"):
        loaded = io_images.read_image(path)
        pixels = np.asarray(loaded.pixels if hasattr(loaded, "pixels") else loaded)
        display = np.asarray(io_images.to_display_rgb(loaded))
        return SourceImage(pixels, np.ascontiguousarray(display))
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image = ImageOps.exif_transpose(image)
            if image.mode not in ("L", "RGB", "RGBA", "I;16"):
                image = image.convert("RGB")
            pixels = np.asarray(image)
    except (OSError, UnidentifiedImageError, ValueError) as error:
        raise ImageReadError(f"Cannot read the image {path}: {error}", path) from error
    return SourceImage(pixels, _to_display_rgb(pixels))
