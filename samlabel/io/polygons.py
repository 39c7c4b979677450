"""Masks to COCO polygons and back.

COCO polygons cannot hold holes (pycocotools fills the union of a segmentation's polygons),
so :func:`mask_to_polygons` answers None for a mask with a hole, and for a part too thin to
outline (a contour of fewer than 3 points or zero area); the writer then keeps that mask as
RLE.

Coordinates follow COCO: pixel ``(col, row)`` is the square ``[col, col+1) x [row, row+1)``
and pycocotools fills a pixel when its centre is inside the polygon. Tracing OpenCV's
contours (through pixel centres) would lose half a pixel along the right and bottom edges
and whole one-pixel-wide parts; tracing the mask upsampled 2x and mapping 2x index ``c`` to
``(c + 0.5) / 2`` puts every edge a quarter pixel outside the outermost centres, so the
polygons rasterise back to exactly the mask.
"""

from __future__ import annotations

import cv2
import numpy as np
from pycocotools import mask as mask_utils

from samlabel.core.masks import Rle, mask_bbox_slices


def _trace(mask: np.ndarray, mode: int) -> tuple[list[np.ndarray], np.ndarray | None]:
    """Contours of ``mask`` as ``(N, 2)`` float arrays of image ``(x, y)``, with the hierarchy."""
    box = mask_bbox_slices(mask)
    if box is None:
        return [], None
    rows, cols = box
    # One pixel of padding so contours touching the crop's edge are closed correctly.
    crop = np.zeros((rows.stop - rows.start + 2, cols.stop - cols.start + 2), dtype=np.uint8)
    crop[1:-1, 1:-1] = mask[rows, cols]
    doubled = np.repeat(np.repeat(crop, 2, axis=0), 2, axis=1)
    contours, hierarchy = cv2.findContours(doubled, mode, cv2.CHAIN_APPROX_SIMPLE)
    offset = np.array([cols.start - 1, rows.start - 1], dtype=np.float64)
    traced = [(c.reshape(-1, 2) + 0.5) / 2.0 + offset for c in contours]
    return traced, hierarchy


def outer_polygons(mask: np.ndarray) -> list[np.ndarray]:
    """The outline of each connected part of an ``(H, W)`` bool mask, holes ignored.

    Returns ``(N, 2)`` float64 arrays of ``(x, y)`` image coordinates (see module notes).
    """
    traced, _ = _trace(mask, cv2.RETR_EXTERNAL)
    return [points for points in traced if len(points) >= 3]


def mask_to_polygons(mask: np.ndarray) -> list[list[float]] | None:
    """Outer contours of an ``(H, W)`` bool mask as COCO polygons ``[[x0, y0, x1, y1, ...]]``.

    Coordinates are in the full image (x right, y down), multiples of 0.25. Returns None
    when polygons cannot represent the mask (it has a hole) or it is empty.
    """
    traced, hierarchy = _trace(mask, cv2.RETR_CCOMP)
    if hierarchy is None:
        return None
    if (hierarchy[0][:, 3] != -1).any():  # a contour with a parent is a hole
        return None
    if any(len(points) < 3 for points in traced):  # cannot happen for 2x2 blocks; be safe
        return None
    return [[float(v) for v in points.reshape(-1)] for points in traced]


def polygons_to_rle(polygons: list[list[float]], height: int, width: int) -> Rle:
    """Rasterise COCO polygons (their union) into an RLE of an ``(height, width)`` image."""
    rles = mask_utils.frPyObjects(polygons, height, width)
    merged = mask_utils.merge(rles, intersect=False)
    return Rle((height, width), bytes(merged["counts"]))
