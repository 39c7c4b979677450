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

from samlabel.core.masks import Rle, mask_bbox_slices, rle_from_counts


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


def clip_polygon(points: np.ndarray, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    """The part of a polygon inside the rectangle ``[x0, x1] x [y0, y1]`` (Sutherland-Hodgman).

    ``points`` is ``(N, 2)`` float ``(x, y)``; returns ``(M, 2)``, possibly fewer than 3 rows
    when nothing of the polygon is inside.
    """
    for axis, bound, keep_below in ((0, x0, False), (0, x1, True), (1, y0, False), (1, y1, True)):
        if len(points) == 0:
            break
        inside = points[:, axis] <= bound if keep_below else points[:, axis] >= bound
        if inside.all():
            continue
        out = []
        previous, previous_inside = points[-1], inside[-1]
        for point, point_inside in zip(points, inside, strict=True):
            if point_inside != previous_inside:  # the edge crosses the bound: add the crossing
                # From the inside end: a far outside end (1e300) would swamp the precision.
                near, far = (point, previous) if point_inside else (previous, point)
                t = (bound - near[axis]) / (far[axis] - near[axis])
                crossing = near + t * (far - near)
                crossing[axis] = bound
                out.append(crossing)
            if point_inside:
                out.append(point)
            previous, previous_inside = point, point_inside
        points = np.array(out, dtype=np.float64).reshape(-1, 2)
    return points


def polygons_to_rle(polygons: list[list[float]], height: int, width: int) -> Rle:
    """Rasterise COCO polygons (their union) into an RLE of an ``(height, width)`` image.

    pycocotools walks every edge at 5x resolution in C: a vertex far outside the image costs
    memory in proportion to its distance, and one beyond the int range crashes the process.
    A polygon reaching further than ``max(H, W) + 1024`` pixels outside the image is clipped
    to that margin first (the same lines, so the same pixels inside the image up to
    pycocotools' endpoint rounding); any other polygon is rasterised exactly as pycocotools
    does.
    """
    margin = float(max(height, width) + 1024)
    kept = []
    for polygon in polygons:
        points = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
        low, high = points.min(axis=0), points.max(axis=0)
        if (low < -margin).any() or high[0] > width + margin or high[1] > height + margin:
            points = clip_polygon(points, -margin, -margin, width + margin, height + margin)
        if len(points) >= 3:
            kept.append(points.reshape(-1).tolist())
    if not kept:
        return rle_from_counts([height * width], height, width)
    rles = mask_utils.frPyObjects(kept, height, width)
    merged = mask_utils.merge(rles, intersect=False)
    return Rle((height, width), bytes(merged["counts"]))
