"""The candidate strip's tiles, made from a prediction: what the strip only shows.

Each tile is the same square crop of the image (around all candidates, with a margin) with
one candidate resampled over it at the tile's size, outlined.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PySide6.QtGui import QColor, QImage, QPainter

from samlabel.inference.api import Prediction
from samlabel.qt.overlays import outlined_mask_image, rgb_to_qimage

#: Side of a tile in pixels.
THUMB_SIZE = 96


@dataclass(frozen=True)
class CandidateTiles:
    """Tiles ready to show: one picture and score per candidate, and the best one's index."""

    images: tuple[QImage, ...]
    scores: tuple[float, ...]
    best: int


def candidates_region(
    prediction: Prediction, margin: float = 0.25
) -> tuple[float, float, float, float]:
    """Square image region ``(x0, y0, x1, y1)`` around all candidates (the whole image if
    they are empty), with ``margin`` of its size added on each side."""
    height, width = prediction.original_size
    logits = prediction.low_res_logits
    in_h, in_w = prediction.input_size
    union = (logits > 0).any(axis=0)
    ys, xs = np.nonzero(union)
    if len(xs) == 0:
        return 0.0, 0.0, float(width), float(height)
    # low-res pixel -> original pixel (the low-res grid is 1/4 of the 1024 frame)
    fx, fy = 4.0 * width / in_w, 4.0 * height / in_h
    x0, x1 = xs.min() * fx, (xs.max() + 1) * fx
    y0, y1 = ys.min() * fy, (ys.max() + 1) * fy
    side = max(x1 - x0, y1 - y0) * (1 + 2 * margin)
    side = min(max(side, 16.0), float(max(width, height)))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2


def image_patch(
    rgb: np.ndarray, region: tuple[float, float, float, float], size: int
) -> np.ndarray:
    """``(size, size, 3)`` uint8 of ``rgb`` over ``region`` (outside the image: black)."""
    x0, y0, x1, _y1 = region
    scale = size / max(x1 - x0, 1e-6)
    matrix = np.array([[scale, 0, -x0 * scale], [0, scale, -y0 * scale]], dtype=np.float64)
    return cv2.warpAffine(rgb, matrix, (size, size), flags=cv2.INTER_AREA)


def render_candidate(
    rgb: np.ndarray, prediction: Prediction, index: int, color: QColor, size: int = THUMB_SIZE
) -> QImage:
    """A ``size`` px tile of candidate ``index`` over the image crop."""
    region = candidates_region(prediction)
    base = rgb_to_qimage(image_patch(rgb, region, size))
    mask = prediction.mask_logits_for_view(index, (size, size), region) > 0
    tile = base.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)
    painter = QPainter(tile)
    # Outline baked into the image with numpy: constant cost, however ragged the mask.
    painter.drawImage(0, 0, outlined_mask_image(mask, color, 150))
    painter.end()
    return tile


def candidate_tiles(
    rgb: np.ndarray | None, prediction: Prediction | None, color: QColor | None = None
) -> CandidateTiles | None:
    """The tiles of ``prediction``'s candidates over ``(H, W, 3)`` uint8 ``rgb`` (None when
    either is missing)."""
    if rgb is None or prediction is None:
        return None
    color = color or QColor(64, 156, 255)
    images = tuple(
        render_candidate(rgb, prediction, index, color) for index in range(len(prediction.scores))
    )
    scores = tuple(float(score) for score in prediction.scores)
    return CandidateTiles(images, scores, prediction.best_index())
