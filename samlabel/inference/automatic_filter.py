"""Scores and filters of segment everything, in numpy and OpenCV.

Conventions as in Meta's generator: masks are ``(K, H, W)``; boxes are ``(K, 4)`` XYXY with
*inclusive* pixel indices (a one-pixel mask at column 5 has ``x0 = x1 = 5``), all zeros for an
empty mask; NMS drops a box whose IoU with a better one is above the threshold.
"""

from __future__ import annotations

import cv2
import numpy as np


def stability_score(logits: np.ndarray, threshold: float, offset: float) -> np.ndarray:
    """``(K,)`` IoU between the masks cut at ``threshold + offset`` and ``threshold - offset``.

    The higher cut is always inside the lower one, so IoU = area ratio. ``logits`` is
    ``(K, H, W)``; a mask empty at the lower cut scores NaN as in the reference (0 / 0).
    """
    flat = logits.reshape(len(logits), -1)
    inner = np.count_nonzero(flat > (threshold + offset), axis=1)
    outer = np.count_nonzero(flat > (threshold - offset), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (inner / outer).astype(np.float32)


def mask_boxes(masks: np.ndarray) -> np.ndarray:
    """``(K, 4)`` int64 inclusive XYXY boxes of ``(K, H, W)`` bool masks (zeros if empty)."""
    k = len(masks)
    boxes = np.zeros((k, 4), np.int64)
    if k == 0:
        return boxes
    rows = masks.any(axis=2)
    cols = masks.any(axis=1)
    for i in range(k):
        ys = np.flatnonzero(rows[i])
        if ys.size == 0:
            continue
        xs = np.flatnonzero(cols[i])
        boxes[i] = (xs[0], ys[0], xs[-1], ys[-1])
    return boxes


def box_nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy NMS; indices kept, best score first (ties: the earlier box first).

    Boxes ``(K, 4)`` XYXY, areas without +1 (torchvision's convention).
    """
    order = np.argsort(-np.asarray(scores, np.float64), kind="stable")
    boxes = np.asarray(boxes, np.float64)
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    suppressed = np.zeros(len(order), bool)
    keep: list[int] = []
    for rank, index in enumerate(order):
        if suppressed[rank]:
            continue
        keep.append(int(index))
        rest = order[rank + 1 :]
        if rest.size == 0:
            continue
        x0 = np.maximum(boxes[index, 0], boxes[rest, 0])
        y0 = np.maximum(boxes[index, 1], boxes[rest, 1])
        x1 = np.minimum(boxes[index, 2], boxes[rest, 2])
        y1 = np.minimum(boxes[index, 3], boxes[rest, 3])
        inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
        with np.errstate(invalid="ignore", divide="ignore"):
            iou = inter / (areas[index] + areas[rest] - inter)
        suppressed[rank + 1 :] |= iou > iou_threshold  # NaN (empty boxes) suppresses nothing
    return np.asarray(keep, np.int64)


def near_crop_edge(
    boxes: np.ndarray,
    crop_box: tuple[int, int, int, int],
    image_box: tuple[int, int, int, int],
    atol: float = 20.0,
) -> np.ndarray:
    """``(K,)`` bool: the box (crop pixels) lies within ``atol`` of a crop edge that is not
    also an image edge (such masks are likely cut by the crop)."""
    x0, y0 = crop_box[0], crop_box[1]
    full = np.asarray(boxes, np.float64) + np.array([x0, y0, x0, y0], np.float64)
    at_crop = np.abs(full - np.asarray(crop_box, np.float64)) <= atol
    at_image = np.abs(full - np.asarray(image_box, np.float64)) <= atol
    return np.any(at_crop & ~at_image, axis=1)


def remove_small_regions(mask: np.ndarray, area: float, mode: str) -> tuple[np.ndarray, bool]:
    """Fill holes (``mode="holes"``) or drop islands (``"islands"``) smaller than ``area``.

    8-connected components (OpenCV). When every island is small, the largest is kept.
    Returns ``(mask, changed)``.
    """
    if mode not in ("holes", "islands"):
        raise ValueError(f"mode must be 'holes' or 'islands', not {mode!r}")
    holes = mode == "holes"
    working = (holes ^ mask).astype(np.uint8)
    n_labels, regions, stats, _ = cv2.connectedComponentsWithStats(working, connectivity=8)
    sizes = stats[1:, cv2.CC_STAT_AREA]
    small = [i + 1 for i, size in enumerate(sizes) if size < area]
    if not small:
        return mask, False
    fill = [0, *small]
    if not holes:
        fill = [i for i in range(n_labels) if i not in fill]
        if not fill:
            fill = [int(np.argmax(sizes)) + 1]
    return np.isin(regions, fill), True
