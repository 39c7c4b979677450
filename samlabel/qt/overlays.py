"""Turning numpy images and masks into things QPainter draws quickly.

Conventions: images ``(H, W, 3)`` uint8 RGB, masks ``(H, W)`` bool, row 0 at the top; polygons
are in the pixel coordinates of the mask they came from (x right, y down, pixel corners at
integers, so a one-pixel mask at (0, 0) spans 0..1).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PySide6.QtGui import QColor, QImage

from samlabel.core.mask_outline import outlined_mask_pixels

#: Longest side of the reduced overlay drawn for an accepted mask: beyond this the screen
#: could not show more detail at "fit", and zoomed-in detail comes from the outline.
OVERLAY_MAX_SIDE = 2048


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    """``(H, W, 3)`` uint8 RGB to a QImage that owns its pixels."""
    array = np.ascontiguousarray(rgb, dtype=np.uint8)
    height, width = array.shape[:2]
    image = QImage(array.data, width, height, 3 * width, QImage.Format.Format_RGB888)
    return image.copy()  # detach from the numpy buffer


#: One level of an image pyramid: (scale relative to the original, the picture at that scale).
PyramidLevel = tuple[float, QImage]


def image_pyramid(rgb: np.ndarray, min_side: int = 256) -> list[PyramidLevel]:
    """``rgb`` at scales 1, 1/2, 1/4, ... down to ``min_side`` on the long side.

    Drawing a 12 MP image at "fit" from a level close to the screen resolution keeps panning
    and zooming smooth; each level is made with area averaging, so it does not alias. Builds
    QImages only, so it can run in a worker thread (QPixmaps could not).
    """
    levels = [(1.0, rgb_to_qimage(rgb))]
    current = rgb
    scale = 1.0
    while max(current.shape[:2]) // 2 >= min_side:
        height, width = current.shape[:2]
        current = cv2.resize(current, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
        scale /= 2.0
        levels.append((scale, rgb_to_qimage(current)))
    return levels


def _premultiplied(color: QColor, alpha: int) -> np.uint32:
    """One ARGB32-premultiplied pixel value (0xAARRGGBB) of ``color`` at ``alpha``."""
    a = alpha / 255.0
    red, green, blue = (round(v * a) for v in (color.red(), color.green(), color.blue()))
    return np.uint32((alpha << 24) | (red << 16) | (green << 8) | blue)


def _argb_to_qimage(pixels: np.ndarray) -> QImage:
    """``(h, w)`` uint32 premultiplied ARGB values to a QImage that owns its pixels."""
    height, width = pixels.shape
    data = np.ascontiguousarray(pixels)
    image = QImage(data.data, width, height, 4 * width, QImage.Format.Format_ARGB32_Premultiplied)
    return image.copy()


def mask_to_qimage(mask: np.ndarray, color: QColor, alpha: int) -> QImage:
    """``(h, w)`` bool mask to a premultiplied ARGB32 image: ``color`` at ``alpha`` inside."""
    # One multiply over a uint32 view: ~10x faster than boolean-index assignment per channel.
    return _argb_to_qimage(mask.astype(np.uint32) * _premultiplied(color, alpha))


def outlined_mask_image(mask: np.ndarray, color: QColor, alpha: int) -> QImage:
    """The live mask as drawn at screen resolution: translucent ``color`` inside, an opaque
    ``color`` line on the mask's border pixels and a white line just outside them, so the
    outline stays visible on any image. ``mask`` is ``(h, w)`` bool in screen pixels."""
    fill, line = _premultiplied(color, alpha), _premultiplied(color, 255)
    pixels = outlined_mask_pixels(mask, int(fill), int(line))
    return _argb_to_qimage(pixels)


@dataclass
class MaskOverlay:
    """One accepted mask, ready to draw: translucent fill with its outline baked in.

    Outlines are pixels, not polygons, so drawing costs one image however ragged the mask is
    (a mask with thousands of islands as polygons took seconds per repaint).

    Attributes:
        image: ARGB picture of the mask (fill, coloured border, dark halo outside) covering
            ``rect``, at ``scale`` of the original size.
        selected_image: the same, emphasised (denser fill, thick light border).
        inside: ``(h, w)`` bool mask at the picture's resolution, for hit tests.
        rect: ``(x0, y0, x1, y1)`` original pixels the pictures cover (the bounding box plus
            a margin for the halo).
        scale: picture pixels per original pixel (<= 1).
        area: mask pixels at the original size.
        bbox: ``(x0, y0, x1, y1)`` of the mask in original pixels (exclusive ends).
        reviewed: False for a mask a model added that nobody has confirmed yet: its pictures
            have a dashed border and a hatched, lighter fill (:func:`build_mask_overlay`).
    """

    image: QImage
    selected_image: QImage
    inside: np.ndarray
    rect: tuple[float, float, float, float]
    scale: float
    area: int
    bbox: tuple[int, int, int, int]
    reviewed: bool = True

    def covers(self, x: float, y: float) -> bool:
        """Whether original pixel ``(x, y)`` is inside the mask (at the picture's resolution)."""
        x0, y0, x1, y1 = self.rect
        if not (x0 <= x < x1 and y0 <= y < y1) or self.area == 0:
            return False
        height, width = self.inside.shape
        px = min(int((x - x0) * width / (x1 - x0)), width - 1)
        py = min(int((y - y0) * height / (y1 - y0)), height - 1)
        return bool(self.inside[py, px])


#: An unreviewed mask's border: dashes and gaps of this many picture pixels along the edge.
DASH = 7
#: An unreviewed mask's fill: diagonal stripes this many picture pixels wide, every other
#: one at a third of the fill's opacity, so the mask reads lighter and hatched.
HATCH = 3


def _dashes(inside: np.ndarray, border: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``border`` split into the pixels on a dash and those in a gap: the mask's edges (holes
    included) are walked pixel by pixel and cut into dashes and gaps of :data:`DASH` pixels;
    a border pixel off that walk (a staircase's inner corner, the second ring of a selected
    mask's border) follows the dash it touches."""
    contours, _ = cv2.findContours(inside.view(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    on = np.zeros(inside.shape, np.uint8)
    off = np.zeros(inside.shape, bool)
    for contour in contours:
        points = contour[:, 0, :]
        dash = (np.arange(len(points)) // DASH) % 2 == 0
        off[points[~dash, 1], points[~dash, 0]] = True
        on[points[dash, 1], points[dash, 0]] = 1
    near = cv2.dilate(on, np.ones((3, 3), np.uint8)).view(bool)
    dashes = border & (on.view(bool) | (near & ~off))
    return dashes, border & ~dashes


def _hatch(shape: tuple[int, int]) -> np.ndarray:
    """``(h, w)`` bool: True on the dense stripes of an unreviewed mask's fill."""
    rows, cols = np.indices(shape)
    return ((rows + cols) // HATCH) % 2 == 0


def _bordered_picture(
    inside: np.ndarray, color: QColor, alpha: int, selected: bool, reviewed: bool = True
) -> QImage:
    """Fill, a border on the mask's edge pixels and a dark halo just outside them; for an
    unreviewed mask the border is dashed (light gaps between the dashes, so they read on a
    dark image and a bright one) and the fill hatched (a third as opaque between the
    stripes)."""
    kernel = np.ones((5, 5) if selected else (3, 3), np.uint8)
    as_u8 = inside.view(np.uint8)
    border = inside & ~cv2.erode(as_u8, kernel, borderType=cv2.BORDER_CONSTANT).view(bool)
    halo = cv2.dilate(as_u8, np.ones((3, 3), np.uint8)).view(bool) & ~inside
    line = color.lighter(140) if selected else color
    pixels = inside.astype(np.uint32) * _premultiplied(color, alpha)
    if not reviewed:
        pixels[inside & ~_hatch(inside.shape)] = _premultiplied(color, alpha // 3)
        border, gaps = _dashes(inside, border)
        pixels[gaps] = _premultiplied(QColor(255, 255, 255), 190)
    pixels[border] = _premultiplied(line, 255)
    pixels[halo] = _premultiplied(QColor(0, 0, 0), 140)
    return _argb_to_qimage(pixels)


def build_mask_overlay(
    mask: np.ndarray, color: QColor, alpha: int = 85, reviewed: bool = True
) -> MaskOverlay:
    """Prepare ``(H, W)`` bool ``mask`` for drawing in ``color``; ``reviewed=False`` draws it
    as a mask nobody has confirmed yet (dashed border, hatched lighter fill).

    Only the bounding box (plus a margin) is kept, reduced so the whole image would be at most
    :data:`OVERLAY_MAX_SIDE` on its long side: a small object on a 12 MP image costs little.
    """
    height, width = mask.shape
    scale = min(1.0, OVERLAY_MAX_SIDE / max(height, width))
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if len(rows) == 0:
        empty = QImage(1, 1, QImage.Format.Format_ARGB32_Premultiplied)
        empty.fill(0)
        return MaskOverlay(
            empty, empty, np.zeros((1, 1), bool), (0, 0, 1, 1), scale, 0, (0, 0, 0, 0), reviewed
        )
    bbox = (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)
    # Room for the halo: two picture pixels around the box, inside the image.
    margin = int(np.ceil(2 / scale))
    x0, y0 = max(0, bbox[0] - margin), max(0, bbox[1] - margin)
    x1, y1 = min(width, bbox[2] + margin), min(height, bbox[3] + margin)
    inside = np.ascontiguousarray(mask[y0:y1, x0:x1])
    if scale < 1.0:
        size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
        inside = cv2.resize(inside.view(np.uint8) * 255, size, interpolation=cv2.INTER_AREA) > 127
    return MaskOverlay(
        image=_bordered_picture(inside, color, alpha, False, reviewed),
        selected_image=_bordered_picture(inside, color, min(255, alpha + 50), True, reviewed),
        inside=inside,
        rect=(float(x0), float(y0), float(x1), float(y1)),
        scale=scale,
        area=int(np.count_nonzero(mask)),
        bbox=bbox,
        reviewed=reviewed,
    )
