"""What a reader returns (:class:`LoadedImage`) and the shared size limit."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from samlabel.core.errors import ImageReadError
from samlabel.core.windowing import Window

#: An XYXY region ``(x0, y0, x1, y1)`` in upright image pixels, end-exclusive.
Region = tuple[int, int, int, int]


@dataclass(frozen=True, eq=False)
class LoadedImage:
    """One decoded image (or one page / frame / region of it), upright.

    Attributes:
        path: the file it came from.
        pixels: ``(H, W)`` grey or ``(H, W, C)`` array in the upright (EXIF-oriented) frame,
            dtype uint8, uint16 or float32. ``C`` is 3 (RGB), 4 (RGBA when ``has_alpha``,
            else four bands) or any band count of a multi-band TIFF; what the screen and SAM
            see is :func:`samlabel.io.images.to_display_rgb`.
        mode: short human description, e.g. ``"RGB 8-bit"``, ``"grey 16-bit"``,
            ``"P with transparency -> RGBA"``, ``"5-band float32"``.
        bit_depth: bits per sample as stored in the file (1, 8, 12, 16, 32, ...).
        default_window: the window to show first: the file's own (DICOM centre/width) or an
            automatic percentile window for >8-bit and float data; None for 8-bit data,
            which is shown as stored.
        source_format: ``"JPEG"``, ``"PNG"``, ``"BMP"``, ``"WEBP"``, ``"GIF"``, ``"TIFF"``
            or ``"DICOM"``: what the file's content is, whatever its extension says.
        page: index of the page / frame read (0-based).
        page_count: pages (multi-page TIFF), frames (multi-frame DICOM, animated GIF/WebP).
        orientation: EXIF/TIFF orientation (1..8) that was applied to reach the upright frame.
        full_size: ``(H, W)`` of the whole upright page, even when only a region was read.
        region: ``(x0, y0, x1, y1)`` of ``pixels`` inside the whole upright page.
        has_alpha: the last channel is opacity (composited over black for display).
        inverted: low values are shown white (DICOM MONOCHROME1, TIFF min-is-white).
    """

    path: Path
    pixels: np.ndarray
    mode: str
    bit_depth: int
    default_window: Window | None
    source_format: str
    page: int = 0
    page_count: int = 1
    orientation: int = 1
    full_size: tuple[int, int] = (0, 0)
    region: Region = (0, 0, 0, 0)
    has_alpha: bool = False
    inverted: bool = False

    @property
    def size(self) -> tuple[int, int]:
        """``(H, W)`` of ``pixels``."""
        return int(self.pixels.shape[0]), int(self.pixels.shape[1])

    @property
    def is_region(self) -> bool:
        """True if ``pixels`` covers only part of the page."""
        return self.region != (0, 0, self.full_size[1], self.full_size[0])

    @property
    def scale(self) -> tuple[float, float]:
        """``(sy, sx)``: pixels per image pixel (1.0 unless this is a reduced overview).

        Pixel ``(row, col)`` of ``pixels`` covers image point
        ``(region[1] + (row + 0.5) / sy, region[0] + (col + 0.5) / sx)`` (its centre).
        """
        x0, y0, x1, y1 = self.region
        h, w = self.size
        return h / (y1 - y0), w / (x1 - x0)


#: Longest side Qt can draw in one QImage/QPixmap; larger images need a tiled view.
QT_MAX_SIDE = 32_767


def needs_tiled_view(size: tuple[int, int]) -> bool:
    """True if an image of ``(H, W)`` should be shown tiled (from an overview plus regions).

    That is when a side exceeds :data:`QT_MAX_SIDE` or the pixel count exceeds
    :func:`pixel_limit`, so that :func:`samlabel.io.images.read_image` would refuse it whole.
    """
    limit = pixel_limit()
    h, w = size
    return max(h, w) > QT_MAX_SIDE or (limit is not None and h * w > limit)


def pixel_limit() -> int | None:
    """Most pixels one image may have without ``allow_huge``: Pillow's ``MAX_IMAGE_PIXELS``.

    Read at every call, so whoever raises or lowers Pillow's limit changes ours too (one
    limit for every format). None means no limit.
    """
    limit = Image.MAX_IMAGE_PIXELS
    return None if limit is None else int(limit)


def check_pixel_count(path: Path, size: tuple[int, int], allow_huge: bool, what: str) -> None:
    """Refuse to decode ``size = (H, W)`` pixels above :func:`pixel_limit` unless allowed.

    Called with sizes from headers, before any pixel buffer is allocated.
    """
    limit = pixel_limit()
    count = int(size[0]) * int(size[1])
    if allow_huge or limit is None or count <= limit:
        return
    raise ImageReadError(
        f"Cannot open {path}: its {what} claims {size[1]} x {size[0]} pixels "
        f"({count / 1e6:.0f} MP), more than the {limit / 1e6:.0f} MP limit; open it as a huge "
        "image (tiled view) if it is genuine.",
        path,
    )


#: Longest side over shortest side SAM can take: it scales the long side to 1024 px, and
#: beyond 2048:1 the short side rounds to 0 px (nothing left to encode or draw).
MAX_ASPECT_RATIO = 2048


def check_proportions(path: Path, size: tuple[int, int]) -> None:
    """Refuse an upright ``size = (H, W)`` too elongated for SAM (see :data:`MAX_ASPECT_RATIO`).

    Called with sizes from headers where there is one, so nothing is decoded or encoded.
    """
    h, w = int(size[0]), int(size[1])
    if min(h, w) <= 0 or max(h, w) > MAX_ASPECT_RATIO * min(h, w):
        raise ImageReadError(
            f"Cannot use {path}: it is {w} x {h} pixels, more elongated than the "
            f"{MAX_ASPECT_RATIO}:1 that Segment Anything can take (scaled to 1024 px on its "
            "long side, the short side would vanish); crop it into shorter pieces.",
            path,
        )


def validate_region(path: Path, region: Region | None, full_size: tuple[int, int]) -> Region:
    """Clip-free check of a requested region against the upright ``(H, W)``; None = all."""
    h, w = full_size
    if region is None:
        return (0, 0, w, h)
    x0, y0, x1, y1 = (int(v) for v in region)
    if not (0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h):
        raise ImageReadError(
            f"Cannot read region {region} of {path}: it must lie inside the {w} x {h} image "
            "and not be empty.",
            path,
        )
    return (x0, y0, x1, y1)


def crop(pixels: np.ndarray, region: Region) -> np.ndarray:
    """``pixels[y0:y1, x0:x1]`` as a contiguous copy when it is a strict part."""
    x0, y0, x1, y1 = region
    if (y0, x0) == (0, 0) and pixels.shape[:2] == (y1, x1):
        return pixels
    return np.ascontiguousarray(pixels[y0:y1, x0:x1])


def normalize_dtype(pixels: np.ndarray) -> np.ndarray:
    """Bring decoded samples to one of uint8, uint16, float32 (native byte order).

    bool -> uint8 0/255; int8/int16/int32/uint32/int64/float16/float64 -> float32 (values
    kept; float32 is exact for 16-bit integers and ample for display); uint16 that is
    big-endian -> native.
    """
    dt = pixels.dtype
    if dt == np.bool_:
        return pixels.astype(np.uint8) * np.uint8(255)
    if dt.kind == "u" and dt.itemsize == 1:
        return pixels
    if dt.kind == "u" and dt.itemsize == 2:
        return pixels.astype(np.uint16, copy=False)
    if dt.kind == "f" and dt.itemsize == 4:
        return pixels.astype(np.float32, copy=False)
    return pixels.astype(np.float32)


def default_window_for(pixels: np.ndarray, has_alpha: bool = False) -> Window | None:
    """Automatic percentile window for >8-bit or float data; None for uint8."""
    from samlabel.core.windowing import auto_window

    if pixels.dtype == np.uint8:
        return None
    colour = pixels[..., :-1] if has_alpha and pixels.ndim == 3 else pixels
    return auto_window(colour)
