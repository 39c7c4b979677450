"""Turn user prompts into the decoder's point tensors, as Meta's predictor does.

The decoder sees a list of points in the padded 1024 frame with labels:
1 include, 0 exclude, 2 box top-left, 3 box bottom-right, -1 padding ("not a point").
Points come first, then the two box corners. With points but no box, Meta's prompt encoder
appends one padding point at (0, 0) with label -1; we do the same, so the results match
exactly. Both backends assemble prompts here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from samlabel.inference.api import Box, Point
from samlabel.inference.transforms import transform_box, transform_coords


def build_prompt_arrays(
    points: Sequence[Point] | None,
    box: Box | None,
    original_size: tuple[int, int],
    input_size: tuple[int, int],
) -> tuple[np.ndarray, np.ndarray]:
    """Prompt set as the decoder takes it: ``(coords (1, N, 2) float32, labels (1, N) float32)``.

    Coordinates are in the 1024 frame. Order as in the reference prompt encoder: the points,
    then the box corners (labels 2, 3); a lone padding point (label -1) when there are no box
    corners. With neither points nor box, ``N`` is 0. A box given with its corners swapped
    (dragged up or left) is normalised to top-left / bottom-right.

    Raises:
        ValueError: a label other than 0 / 1, or a coordinate that is not finite.
    """
    coords: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    if points:
        pts = np.asarray([(p[0], p[1]) for p in points], dtype=np.float64)
        point_labels = np.asarray([p[2] for p in points], dtype=np.float32)
        if not np.isin(point_labels, (0.0, 1.0)).all():
            raise ValueError("point labels must be 1 (include) or 0 (exclude)")
        coords.append(transform_coords(pts, original_size, input_size))
        labels.append(point_labels)
        if box is None:
            coords.append(np.zeros((1, 2), dtype=np.float32))
            labels.append(np.array([-1.0], dtype=np.float32))
    if box is not None:
        x0, y0, x1, y1 = (float(v) for v in box)
        ordered = np.array([min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)])
        corners = transform_box(ordered, original_size, input_size)
        coords.append(corners.reshape(2, 2))
        labels.append(np.array([2.0, 3.0], dtype=np.float32))
    if not coords:
        return np.zeros((1, 0, 2), np.float32), np.zeros((1, 0), np.float32)
    all_coords = np.concatenate(coords)
    if not np.isfinite(all_coords).all():
        raise ValueError("prompt coordinates must be finite numbers")
    return all_coords[None], np.concatenate(labels)[None]


def decoder_mask_input(mask_input: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """``mask_input`` (256x256 logits or None) -> ``(1, 1, 256, 256)`` float32 and has_mask."""
    if mask_input is None:
        return np.zeros((1, 1, 256, 256), dtype=np.float32), np.zeros(1, dtype=np.float32)
    array = np.asarray(mask_input, dtype=np.float32)
    if array.shape not in ((256, 256), (1, 256, 256), (1, 1, 256, 256)):
        raise ValueError(f"mask_input must be 256x256 low-res logits, not {array.shape}")
    return array.reshape(1, 1, 256, 256), np.ones(1, dtype=np.float32)


def select_outputs(
    scores: np.ndarray, low_res: np.ndarray, multimask: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Pick masks 1..3 (multimask) or mask 0 from the decoder's four, as Meta's decoder does.

    Args:
        scores: ``(1, 4)`` or ``(4,)`` IoU predictions.
        low_res: ``(1, 4, 256, 256)`` or ``(4, 256, 256)`` logits.
    """
    scores = np.asarray(scores, dtype=np.float32).reshape(-1)
    low_res = np.asarray(low_res, dtype=np.float32).reshape(-1, 256, 256)
    chosen = slice(1, None) if multimask else slice(0, 1)
    return np.ascontiguousarray(scores[chosen]), np.ascontiguousarray(low_res[chosen])
