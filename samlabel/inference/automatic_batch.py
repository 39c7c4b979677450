"""Prompt batches for :meth:`Predictor.decode_batch` (segment everything), in numpy.

A batch is ``B`` prompt sets of ``N`` points each, ``(B, N, 3)`` rows of ``(x, y, label)`` in
original image pixels (label 1 include, 0 exclude). As Meta's ``SamPredictor.predict_torch``
does for point prompts without a box, each set gets one padding point (label -1 at (0, 0)).
"""

from __future__ import annotations

import numpy as np

from samlabel.inference.transforms import transform_coords


def check_point_batch(points: np.ndarray) -> np.ndarray:
    """``points`` as a ``(B, N, 3)`` float64 array; ValueError for another shape or bad labels."""
    array = np.asarray(points, dtype=np.float64)
    if array.ndim != 3 or array.shape[2] != 3 or array.shape[1] == 0:
        raise ValueError(f"a point batch must be (B, N, 3) with N >= 1, not {array.shape}")
    if not np.isin(array[:, :, 2], (0.0, 1.0)).all():
        raise ValueError("point labels must be 1 (include) or 0 (exclude)")
    if not np.isfinite(array).all():
        raise ValueError("prompt coordinates must be finite numbers")
    return array


def batch_prompt_arrays(
    points: np.ndarray, original_size: tuple[int, int], input_size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """``(coords (B, N + 1, 2), labels (B, N + 1))`` float32 in the 1024 frame, padded.

    Args:
        points: ``(B, N, 3)`` ``(x, y, label)`` in original image pixels.
        original_size, input_size: ``(H, W)`` of the image and ``(h, w)`` inside the 1024 frame.
    """
    array = check_point_batch(points)
    b, n, _ = array.shape
    coords = np.zeros((b, n + 1, 2), np.float32)
    scaled = transform_coords(array[:, :, :2].reshape(-1, 2), original_size, input_size)
    coords[:, :n] = scaled.reshape(b, n, 2)
    labels = np.full((b, n + 1), -1.0, np.float32)
    labels[:, :n] = array[:, :, 2]
    return coords, labels
