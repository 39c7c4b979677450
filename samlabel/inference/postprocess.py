"""From the decoder's 256x256 low-res logits to masks at the resolution that is needed.

The full-size path reproduces Meta's ``SamModel.postprocess_masks`` exactly: bilinear
(align_corners=False) to 1024x1024, crop to the resized image, bilinear to the original size.
OpenCV's ``INTER_LINEAR`` uses the same half-pixel convention and no antialiasing, so it
gives the same numbers as ``torch.nn.functional.interpolate`` without torch.

The view path resamples straight from the low-res logits to the pixels on screen with one
affine warp, so a click on a 12 MP image costs work proportional to the screen, not the image.
"""

from __future__ import annotations

import cv2
import numpy as np

from samlabel.inference.api import IMAGE_SIZE, LOW_RES_SIZE


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


def logits_for_view(
    low_res: np.ndarray,
    input_size: tuple[int, int],
    original_size: tuple[int, int],
    view_size: tuple[int, int],
    region: tuple[float, float, float, float] | None = None,
) -> np.ndarray:
    """Resample one ``(256, 256)`` logit map for display.

    Args:
        low_res: ``(256, 256)`` float32 logits in the padded 1024 frame.
        input_size: ``(h, w)`` of the resized image inside the 1024 frame.
        original_size: ``(H, W)`` of the original image.
        view_size: ``(vh, vw)`` of the output.
        region: ``(x0, y0, x1, y1)`` in original pixels to show; the whole image if None.

    Returns:
        ``(vh, vw)`` float32 logits; output pixel ``(i, j)`` samples the original-image point
        ``(x0 + (j + 0.5) * (x1 - x0) / vw, y0 + (i + 0.5) * (y1 - y0) / vh)``.
    """
    orig_h, orig_w = original_size
    view_h, view_w = view_size
    x0, y0, x1, y1 = region if region is not None else (0.0, 0.0, float(orig_w), float(orig_h))
    # original pixels -> 1024 frame -> low-res frame (factor 1024/256)
    to_low = LOW_RES_SIZE / IMAGE_SIZE
    sx = input_size[1] / orig_w * to_low
    sy = input_size[0] / orig_h * to_low
    step_x = (x1 - x0) / view_w
    step_y = (y1 - y0) / view_h
    # Affine map from destination pixel index to source pixel index (pixel centres at +0.5).
    matrix = np.array(
        [
            [step_x * sx, 0.0, (x0 + 0.5 * step_x) * sx - 0.5],
            [0.0, step_y * sy, (y0 + 0.5 * step_y) * sy - 0.5],
        ],
        dtype=np.float64,
    )
    return cv2.warpAffine(
        np.ascontiguousarray(low_res, dtype=np.float32),
        matrix,
        (view_w, view_h),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )
