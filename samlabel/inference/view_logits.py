"""One candidate's low-res logits resampled for the pixels on screen.

A click on a 12 MP image should cost work proportional to the screen, not the image, so the
mask on screen is resampled straight from the decoder's ``(256, 256)`` logits to the visible
region at the view's resolution. The canvas always shows an axis-aligned scale and
translation of the image, so the resampling is separable: the source rows and columns the
view needs are cut out and resized with ``cv2.resize``. That is about 8x cheaper than the
general ``cv2.warpAffine`` (per-pixel coordinates and fixed-point remap tables) for the
same bilinear interpolation.

``cv2.resize`` maps a whole crop onto its output, so its scale is set exactly (``fx``, ``fy``)
and the view is cut from its output at a whole-pixel offset: each output pixel samples at
most half a view pixel from the exact point. Where the view shows few low-res pixels at a
strong zoom, the margin of the crop would make the resize output much larger than the view;
there the general warp is used (it is cheap for so few source pixels anyway).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from samlabel.inference.api import IMAGE_SIZE, LOW_RES_SIZE

#: Resize output may be at most this many times the view's area before the warp is used.
_MAX_OVERDRAW = 2.0


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
        ``(x0 + (j + 0.5) * (x1 - x0) / vw, y0 + (i + 0.5) * (y1 - y0) / vh)`` bilinearly
        (edges replicated), or a point at most half an output pixel from it along each axis.
        Exact where the region starts at the image's corner (the whole image shown).
    """
    orig_h, orig_w = original_size
    view_h, view_w = view_size
    x0, y0, x1, y1 = region if region is not None else (0.0, 0.0, float(orig_w), float(orig_h))
    # original pixels -> 1024 frame -> low-res frame (factor 1024/256)
    to_low = LOW_RES_SIZE / IMAGE_SIZE
    sx = input_size[1] / orig_w * to_low
    sy = input_size[0] / orig_h * to_low
    # Output pixel j samples low-res x = start_x + step_x * (j + 0.5) - 0.5 (pixel centres).
    start_x, step_x = x0 * sx, (x1 - x0) / view_w * sx
    start_y, step_y = y0 * sy, (y1 - y0) / view_h * sy
    logits = np.ascontiguousarray(low_res, dtype=np.float32)
    cols = _crop_axis(start_x, step_x, view_w, logits.shape[1])
    rows = _crop_axis(start_y, step_y, view_h, logits.shape[0])
    overdraw = (cols[2] / step_x) * (rows[2] / step_y) / (view_w * view_h)
    if overdraw > _MAX_OVERDRAW:
        return _warp(logits, (start_x, step_x), (start_y, step_y), view_size)
    return _crop_and_resize(logits, cols, rows, (step_x, step_y), view_size)


def _crop_axis(start: float, step: float, count: int, size: int) -> tuple[int, int, int]:
    """Source crop ``(first, offset, length)`` along one axis of ``size`` source pixels for
    ``count`` output pixels.

    ``first`` is the crop's first source index (< 0, or a crop passing the array's end, only
    where the view itself passes the image: filled by replicating the edge), ``offset`` the
    first output pixel of the crop's resize that belongs to the view, ``length`` the crop's
    length.
    """
    end = start + step * count
    # Samples reach half a source pixel before the first centre and after the last; one
    # more pixel on each side keeps both bilinear neighbours of every sample inside. At the
    # array's edges the crop stops there: resize replicates its edge as the warp did, and a
    # view starting at the image's corner then samples at exactly the right points.
    first = max(math.floor(start - 0.5) - 1, min(0, math.floor(start)))
    last = min(math.ceil(end + 0.5) + 1, max(size, math.ceil(end)))
    offset = max(0, round((start - first) / step))
    return first, offset, last - first


def _crop_and_resize(logits, cols, rows, steps, view_size) -> np.ndarray:
    """Crop (edges replicated where the crop passes them), resize at the exact scale, cut."""
    view_h, view_w = view_size
    (col0, col_off, col_len), (row0, row_off, row_len) = cols, rows
    height, width = logits.shape
    pad = (
        max(0, -row0),
        max(0, row0 + row_len - height),
        max(0, -col0),
        max(0, col0 + col_len - width),
    )
    crop = logits[max(0, row0) : row0 + row_len, max(0, col0) : col0 + col_len]
    if any(pad):
        crop = cv2.copyMakeBorder(crop, *pad, cv2.BORDER_REPLICATE)
    step_x, step_y = steps
    # dsize=None with fx/fy: OpenCV samples output j at (j + 0.5) / fx - 0.5 exactly.
    resized = cv2.resize(
        crop, None, fx=1.0 / step_x, fy=1.0 / step_y, interpolation=cv2.INTER_LINEAR
    )
    out = resized[row_off : row_off + view_h, col_off : col_off + view_w]
    if out.shape != (view_h, view_w):  # rounding of OpenCV's output size left it short
        out = cv2.copyMakeBorder(
            out, 0, view_h - out.shape[0], 0, view_w - out.shape[1], cv2.BORDER_REPLICATE
        )
    return np.ascontiguousarray(out)


def _warp(logits, x_axis, y_axis, view_size) -> np.ndarray:
    """The general path: one affine warp (any zoom; fixed-point sub-pixel positions)."""
    (start_x, step_x), (start_y, step_y) = x_axis, y_axis
    matrix = np.array(
        [
            [step_x, 0.0, start_x + 0.5 * step_x - 0.5],
            [0.0, step_y, start_y + 0.5 * step_y - 0.5],
        ],
        dtype=np.float64,
    )
    view_h, view_w = view_size
    return cv2.warpAffine(
        logits,
        matrix,
        (view_w, view_h),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )
