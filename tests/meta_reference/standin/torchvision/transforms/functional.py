"""``to_pil_image`` and ``resize`` on PIL images, as segment-anything's transforms call them."""

from __future__ import annotations

import numpy as np
from PIL import Image


def to_pil_image(picture) -> Image.Image:
    """HWC uint8 ndarray (1, 3 or 4 channels) or HW → PIL image of the matching mode."""
    if isinstance(picture, Image.Image):
        return picture
    array = np.asarray(picture)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    return Image.fromarray(array)


def resize(picture: Image.Image, size) -> Image.Image:
    """Resize a PIL image to ``size`` = (h, w) with PIL's bilinear filter (antialiased)."""
    height, width = (size, size) if isinstance(size, int) else size
    return picture.resize((int(width), int(height)), Image.BILINEAR)
