"""From the decoder's 256x256 low-res logits to masks at the resolution that is needed.

The full-size path reproduces Meta's ``SamModel.postprocess_masks`` exactly: bilinear
(align_corners=False) to 1024x1024, crop to the resized image, bilinear to the original size.
OpenCV's ``INTER_LINEAR`` uses the same half-pixel convention and no antialiasing, so it
gives the same numbers as ``torch.nn.functional.interpolate`` without torch.

The view path (straight from the low-res logits to the pixels on screen) is
:mod:`samlabel.inference.view_logits`.
"""

from __future__ import annotations

import cv2
import numpy as np

from samlabel.inference.api import IMAGE_SIZE


def _resize_stack(logits: np.ndarray, size_hw: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of ``(K, h, w)`` float32 to ``(K, H, W)`` (OpenCV wants channels last)."""
    height, width = size_hw
    k = logits.shape[0]
    if logits.shape[1:] == (height, width):
        return logits.copy()
    out = np.empty((k, height, width), dtype=np.float32)
    # OpenCV handles up to 512 channels at once, but channel-last copies of 12 MP stacks cost
    # more than resizing each candidate on its own.
    for i in range(k):
        out[i] = cv2.resize(logits[i], (width, height), interpolation=cv2.INTER_LINEAR)
    return out


def upsample_logits(
    low_res_logits: np.ndarray,
    input_size: tuple[int, int],
    original_size: tuple[int, int],
) -> np.ndarray:
    """``(K, 256, 256)`` low-res logits to ``(K, H, W)`` float32 logits at the original size.

    Args:
        low_res_logits: decoder output in the padded 1024x1024 frame (at 1/4 resolution).
        input_size: ``(h, w)`` of the resized image inside the 1024 frame.
        original_size: ``(H, W)`` of the original image.
    """
    logits = np.ascontiguousarray(low_res_logits, dtype=np.float32)
    if logits.ndim == 2:
        logits = logits[None]
    full = _resize_stack(logits, (IMAGE_SIZE, IMAGE_SIZE))
    cropped = np.ascontiguousarray(full[:, : input_size[0], : input_size[1]])
    return _resize_stack(cropped, original_size)
