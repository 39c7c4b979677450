"""An accepted mask in the frame of the picture shown: the whole image, a crop, an overview.

Masks are stored at full image size. For a huge image the canvas shows either an overview
(reduced) or a crop at native resolution; this module gives the mask in that picture's
pixels, decoding only the mask's bounding box (:func:`samlabel.core.masks.decode_rle_cropped`)
so a mask on a 600 MP image never costs 600 MB.
"""

from __future__ import annotations

import cv2
import numpy as np

from samlabel.core.masks import Rle, decode_rle_cropped
from samlabel.session.source import SourceImage


def mask_in_picture(rle: Rle, source: SourceImage) -> np.ndarray | None:
    """``(h, w)`` bool mask of ``rle`` in the pixels of ``source.display``, or None when it
    does not belong to that picture (another size) or does not reach into it (a crop)."""
    picture = source.size
    full = source.full_size or picture
    if tuple(rle.size) != tuple(full):
        return None
    if source.full_size is None:
        return rle.decode()
    part, (x, y) = decode_rle_cropped(rle)
    if part.size == 0:
        return None
    if source.region is not None:  # a crop at native resolution: cut the overlap
        cx0, cy0, cx1, cy1 = source.region
        ox0, oy0 = max(x, cx0), max(y, cy0)
        ox1, oy1 = min(x + part.shape[1], cx1), min(y + part.shape[0], cy1)
        if ox1 <= ox0 or oy1 <= oy0:
            return None
        mask = np.zeros(picture, dtype=bool)
        mask[oy0 - cy0 : oy1 - cy0, ox0 - cx0 : ox1 - cx0] = part[
            oy0 - y : oy1 - y, ox0 - x : ox1 - x
        ]
        return mask
    # An overview: shrink the bounding box's part into its place (at least one pixel).
    sy, sx = picture[0] / full[0], picture[1] / full[1]
    px0, py0 = int(x * sx), int(y * sy)
    px1 = min(picture[1], max(px0 + 1, round((x + part.shape[1]) * sx)))
    py1 = min(picture[0], max(py0 + 1, round((y + part.shape[0]) * sy)))
    small = cv2.resize(
        np.ascontiguousarray(part, dtype=np.uint8),
        (px1 - px0, py1 - py0),
        interpolation=cv2.INTER_AREA,
    )
    mask = np.zeros(picture, dtype=bool)
    mask[py0:py1, px0:px1] = small > 0
    return mask
