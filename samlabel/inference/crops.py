"""Crops of huge images for SAM: where to cut, prompts into the crop, masks back out.

SAM sees a ``1024 x 1024`` picture. A 30,000 px orthomosaic shrunk to that loses 30x in
resolution, so for huge images samlabel encodes a crop around where the user works, at
native resolution, and maps everything in and out of it:

- :func:`crop_around` picks a square region (default :data:`CROP_SIDE` = SAM's own input
  size, so no resampling at all) centred on a click, shifted to lie inside the image;
- :class:`Crop` maps points and boxes between full-image and crop pixels (x right, y down,
  the top-left corner of the top-left pixel at ``(0, 0)``; a crop pixel ``(cx, cy)`` is image
  pixel ``(cx + x0, cy + y0)``) and places a crop mask into the full image;
- :func:`read_crop` reads only that region (TIFF reads only the tiles it needs) and renders it
  through the same window as the overview, so crop and overview look alike.

Embeddings of crops are cached like whole-image ones: their cache key holds the region
(:class:`samlabel.inference.embedding_cache.EmbeddingKey`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from samlabel.core.windowing import Window
from samlabel.io.images import LoadedImage, Region, read_image, to_display_rgb

#: Side of the square crop SAM encodes: its input size, so crop pixels are model pixels.
CROP_SIDE = 1024

Point = tuple[float, float, int]
Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Crop:
    """A region of a full image that SAM encodes on its own.

    Attributes:
        region: ``(x0, y0, x1, y1)`` in full-image pixels, end-exclusive.
        full_size: ``(H, W)`` of the whole (upright) image.
    """

    region: Region
    full_size: tuple[int, int]

    def __post_init__(self) -> None:
        x0, y0, x1, y1 = self.region
        height, width = self.full_size
        if not (0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height):
            raise ValueError(f"crop {self.region} must lie inside the {width} x {height} image")

    @property
    def offset(self) -> tuple[int, int]:
        """``(x0, y0)``: the full-image position of crop pixel ``(0, 0)``."""
        return self.region[0], self.region[1]

    @property
    def size(self) -> tuple[int, int]:
        """``(h, w)`` of the crop."""
        x0, y0, x1, y1 = self.region
        return y1 - y0, x1 - x0

    def contains(self, x: float, y: float) -> bool:
        """Whether full-image point ``(x, y)`` lies inside the crop."""
        x0, y0, x1, y1 = self.region
        return x0 <= x < x1 and y0 <= y < y1

    def points_to_crop(self, points: Sequence[Point]) -> list[Point]:
        """Full-image ``(x, y, label)`` points in crop pixels."""
        x0, y0 = self.offset
        return [(float(x) - x0, float(y) - y0, int(label)) for x, y, label in points]

    def points_to_full(self, points: Sequence[Point]) -> list[Point]:
        """Crop ``(x, y, label)`` points in full-image pixels."""
        x0, y0 = self.offset
        return [(float(x) + x0, float(y) + y0, int(label)) for x, y, label in points]

    def box_to_crop(self, box: Box) -> Box:
        """A full-image XYXY box in crop pixels (not clipped: SAM accepts boxes past the edge)."""
        x0, y0 = self.offset
        return (box[0] - x0, box[1] - y0, box[2] - x0, box[3] - y0)

    def box_to_full(self, box: Box) -> Box:
        """A crop XYXY box in full-image pixels."""
        x0, y0 = self.offset
        return (box[0] + x0, box[1] + y0, box[2] + x0, box[3] + y0)

    def mask_to_full(self, mask: np.ndarray) -> np.ndarray:
        """Place the crop's ``(h, w)`` bool mask into an ``(H, W)`` bool full-image mask.

        The result is Fortran-ordered and made with ``np.zeros``, whose pages the operating
        system provides only when written: only the crop's columns (``H x w`` bytes at most)
        take memory, not ``H x W`` (600 MB for a 30,000 x 20,000 image). The document's RLE
        encoder reads Fortran-ordered masks in place, so no copy is made either.
        """
        if mask.shape != self.size:
            raise ValueError(f"mask of shape {mask.shape} does not fit crop {self.region}")
        height, width = self.full_size
        x0, y0, x1, y1 = self.region
        full = np.zeros((height, width), dtype=bool, order="F")
        full[y0:y1, x0:x1] = mask
        return full


def _span(centre: float, side: int, limit: int) -> tuple[int, int]:
    """``[start, start + side)`` centred on ``centre`` and shifted inside ``[0, limit)``."""
    side = min(side, limit)
    start = round(centre - side / 2)
    start = min(max(start, 0), limit - side)
    return start, start + side


def crop_around(x: float, y: float, full_size: tuple[int, int], side: int = CROP_SIDE) -> Crop:
    """The ``side x side`` crop centred on full-image point ``(x, y)``, inside the image
    (smaller only along a side shorter than ``side``)."""
    if side < 1:
        raise ValueError(f"crop side must be at least 1, got {side}")
    height, width = full_size
    cx0, cx1 = _span(x, side, width)
    cy0, cy1 = _span(y, side, height)
    return Crop((cx0, cy0, cx1, cy1), (int(height), int(width)))


def read_crop(
    path: str | os.PathLike[str], crop: Crop, window: Window | None = None, page: int = 0
) -> tuple[np.ndarray, LoadedImage]:
    """Read ``crop`` of the image at ``path``: ``((h, w, 3) uint8 RGB, the LoadedImage)``.

    ``window`` is the display window (use the overview's ``default_window`` so the crop looks
    like the overview; None uses the crop's own default). Raises ImageReadError naming the
    file.
    """
    loaded = read_image(path, page, region=crop.region)
    if loaded.full_size != crop.full_size:
        raise ValueError(
            f"{path} is {loaded.full_size[1]} x {loaded.full_size[0]}, not the "
            f"{crop.full_size[1]} x {crop.full_size[0]} the crop was made for"
        )
    rgb = np.ascontiguousarray(to_display_rgb(loaded, window), dtype=np.uint8)
    return rgb, loaded
