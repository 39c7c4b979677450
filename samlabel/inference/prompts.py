"""Turn user prompts into the decoder's point tensors, as Meta's predictor does.

The decoder sees a list of points in the padded 1024 frame with labels:
1 include, 0 exclude, 2 box top-left, 3 box bottom-right, -1 padding ("not a point").
Points come first, then the two box corners. Without a box, Meta's prompt encoder appends one
padding point at (0, 0) with label -1; we do the same, so the results match exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from samlabel.inference.api import Box, Point
from samlabel.inference.transforms import transform_coords


def decoder_point_inputs(
    points: Sequence[Point] | None,
    box: Box | None,
    original_size: tuple[int, int],
    input_size: tuple[int, int],
) -> tuple[np.ndarray, np.ndarray]:
    """Prompts in original pixels -> ``(1, N, 2)`` float32 coords (1024 frame), ``(1, N)`` labels.

    Raises:
        ValueError: a point or box coordinate is not finite, or a label is not 0 or 1.
    """
    coords: list[tuple[float, float]] = []
    labels: list[float] = []
    for x, y, label in points or ():
        if int(label) not in (0, 1):
            raise ValueError(f"point label must be 1 (include) or 0 (exclude), not {label!r}")
        coords.append((float(x), float(y)))
        labels.append(float(int(label)))
    if box is not None:
        x0, y0, x1, y1 = (float(v) for v in box)
        coords.extend([(min(x0, x1), min(y0, y1)), (max(x0, x1), max(y0, y1))])
        labels.extend([2.0, 3.0])
    array = np.asarray(coords, dtype=np.float64).reshape(-1, 2)
    if not np.isfinite(array).all():
        raise ValueError("prompt coordinates must be finite numbers")
    array = transform_coords(array, original_size, input_size)
    if box is None:
        array = np.concatenate([array, np.zeros((1, 2))], axis=0)
        labels.append(-1.0)
    return (
        array.astype(np.float32)[None],
        np.asarray(labels, dtype=np.float32)[None],
    )


def decoder_mask_input(mask_input: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """``mask_input`` (256x256 logits or None) -> ``(1, 1, 256, 256)`` float32 and has_mask."""
    if mask_input is None:
        return np.zeros((1, 1, 256, 256), dtype=np.float32), np.zeros(1, dtype=np.float32)
    array = np.asarray(mask_input, dtype=np.float32)
    if array.size != 256 * 256:
        raise ValueError(f"mask_input must be 256x256 low-res logits, got shape {array.shape}")
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
