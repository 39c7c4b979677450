"""Where segment everything prompts: point grids and crop boxes (numpy only).

Same layout as Meta's ``SamAutomaticMaskGenerator`` so its recipes carry over:

- a grid of ``n x n`` points evenly spaced in ``[0, 1] x [0, 1]`` with a half-step margin,
  ``(x, y)`` rows, x varying fastest;
- crop layer 0 is the whole image; layer ``i`` (1-based) cuts it into ``2**i x 2**i``
  overlapping crops; crop ``i`` uses ``points_per_side / downscale**i`` points per side.

Boxes are XYXY in image pixels, end-exclusive, integers.
"""

from __future__ import annotations

import itertools
import math

import numpy as np


def build_point_grid(n_per_side: int) -> np.ndarray:
    """``(n * n, 2)`` points ``(x, y)`` in ``[0, 1]``, cell centres of an ``n x n`` grid."""
    if n_per_side < 1:
        raise ValueError(f"points per side must be at least 1, not {n_per_side}")
    offset = 1 / (2 * n_per_side)
    side = np.linspace(offset, 1 - offset, n_per_side)
    xs = np.tile(side[None, :], (n_per_side, 1))
    ys = np.tile(side[:, None], (1, n_per_side))
    return np.stack([xs, ys], axis=-1).reshape(-1, 2)


def build_all_layer_point_grids(
    n_per_side: int, n_layers: int, scale_per_layer: int
) -> list[np.ndarray]:
    """One grid per crop layer ``0..n_layers``: ``int(n_per_side / scale_per_layer**i)`` a side."""
    return [build_point_grid(int(n_per_side / (scale_per_layer**i))) for i in range(n_layers + 1)]


def generate_crop_boxes(
    image_size: tuple[int, int], n_layers: int, overlap_ratio: float
) -> tuple[list[tuple[int, int, int, int]], list[int]]:
    """Crop boxes (XYXY, end-exclusive) of every layer and the layer of each.

    Args:
        image_size: ``(H, W)``.
        n_layers: crop layers beyond the whole image.
        overlap_ratio: in layer 1, crops overlap by this fraction of the image's short side;
            deeper layers scale the overlap down with the crop size.
    """
    height, width = image_size
    boxes: list[tuple[int, int, int, int]] = [(0, 0, width, height)]
    layers = [0]
    short_side = min(height, width)

    def crop_length(length: int, n_crops: int, overlap: int) -> int:
        return math.ceil((overlap * (n_crops - 1) + length) / n_crops)

    for layer in range(n_layers):
        n_crops = 2 ** (layer + 1)
        overlap = int(overlap_ratio * short_side * (2 / n_crops))
        crop_w = crop_length(width, n_crops, overlap)
        crop_h = crop_length(height, n_crops, overlap)
        x0s = [int((crop_w - overlap) * i) for i in range(n_crops)]
        y0s = [int((crop_h - overlap) * i) for i in range(n_crops)]
        # x outer, y inner: the order the reference uses, which decides NMS ties.
        for x0, y0 in itertools.product(x0s, y0s):
            boxes.append((x0, y0, min(x0 + crop_w, width), min(y0 + crop_h, height)))
            layers.append(layer + 1)
    return boxes, layers
