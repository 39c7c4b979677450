"""EXIF / TIFF orientation (tag 274), applied once, in numpy, for every decoder.

The eight orientations follow :func:`PIL.ImageOps.exif_transpose`: the stored image is
turned into the upright ("oriented") image the camera meant. Every coordinate samlabel
shows, feeds to SAM or saves is in the oriented frame (x right, y down).

Each orientation is written as ``(transpose, flip_y, flip_x)``: first swap the axes if
``transpose``, then mirror rows (``flip_y``) and/or columns (``flip_x``) of the result.
"""

from __future__ import annotations

import numpy as np

#: Orientation tag value -> (transpose, flip_y, flip_x); 1 is upright.
_OPS: dict[int, tuple[bool, bool, bool]] = {
    1: (False, False, False),
    2: (False, False, True),  # mirrored left-right
    3: (False, True, True),  # rotated 180
    4: (False, True, False),  # mirrored top-bottom
    5: (True, False, False),  # transposed
    6: (True, False, True),  # stored rotated 90 CCW: turn 90 clockwise
    7: (True, True, True),  # transversed
    8: (True, True, False),  # stored rotated 90 CW: turn 90 counter-clockwise
}


def normalize_orientation(value: object) -> int:
    """The orientation as 1..8; anything missing or invalid counts as 1 (upright)."""
    try:
        number = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return 1
    return number if number in _OPS else 1


def swaps_axes(orientation: int) -> bool:
    """True if the orientation exchanges width and height (5..8)."""
    return _OPS[normalize_orientation(orientation)][0]


def oriented_size(stored_size: tuple[int, int], orientation: int) -> tuple[int, int]:
    """``(H, W)`` of the upright image, given ``(H, W)`` as stored."""
    h, w = stored_size
    return (w, h) if swaps_axes(orientation) else (h, w)


def apply_orientation(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Turn a stored ``HxW`` or ``HxWxC`` array into the upright image.

    Returns a contiguous array (a copy unless the orientation is 1, when ``pixels`` itself
    is returned).
    """
    transpose, flip_y, flip_x = _OPS[normalize_orientation(orientation)]
    if not (transpose or flip_y or flip_x):
        return pixels
    out = pixels.swapaxes(0, 1) if transpose else pixels
    if flip_y:
        out = out[::-1]
    if flip_x:
        out = out[:, ::-1]
    return np.ascontiguousarray(out)


def region_to_stored(
    region: tuple[int, int, int, int], stored_size: tuple[int, int], orientation: int
) -> tuple[int, int, int, int]:
    """Map an XYXY region of the upright image to the stored image.

    Args:
        region: ``(x0, y0, x1, y1)`` in upright pixels, end-exclusive, inside the image.
        stored_size: ``(H, W)`` as stored.
        orientation: 1..8.

    Returns:
        ``(x0, y0, x1, y1)`` in stored pixels such that
        ``apply_orientation(stored[y0:y1, x0:x1], o) == upright[region]``.
    """
    transpose, flip_y, flip_x = _OPS[normalize_orientation(orientation)]
    up_h, up_w = oriented_size(stored_size, orientation)
    x0, y0, x1, y1 = region
    # Undo the flips (they act on the upright frame), then undo the transpose.
    if flip_x:
        x0, x1 = up_w - x1, up_w - x0
    if flip_y:
        y0, y1 = up_h - y1, up_h - y0
    if transpose:
        x0, y0, x1, y1 = y0, x0, y1, x1
    return x0, y0, x1, y1
