"""A reduced picture of a whole page, within memory, for huge images (tiled view, thumbnails).

Strategies, cheapest first:

- TIFF with a pyramid (SubIFDs or GDAL-style reduced pages): the smallest level that is still
  at least the requested size, resized;
- tiled or striped TIFF without one: tiles are decoded one at a time and each is shrunk into
  its place, so memory stays at one tile plus the result;
- JPEG: Pillow's DCT scaling (``draft``) decodes at 1/2, 1/4 or 1/8 size directly;
- anything else: decoded whole (so subject to the pixel limit unless ``allow_huge``), then
  shrunk.

Shrinking is OpenCV's area averaging, in the stored dtype, so windowing still applies after.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import tifffile

from samlabel.io.images import pil_reader, tiff_reader
from samlabel.io.images.model import (
    LoadedImage,
    check_pixel_count,
    default_window_for,
    normalize_dtype,
)
from samlabel.io.images.orientation import apply_orientation, oriented_size
from samlabel.io.images.reader import _checked_format, _guarded, read_image, read_image_size


def resize_area(values: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Area-average ``(H, W)`` or ``(H, W, C)`` (uint8/uint16/float32) to ``size = (h, w)``."""
    h, w = size
    if values.shape[:2] == (h, w):
        return values
    if values.ndim == 3 and values.shape[2] > 4:  # OpenCV resizes at most 4 channels at once
        planes = [resize_area(values[..., c], size) for c in range(values.shape[2])]
        return np.stack(planes, axis=2)
    channel_axis = values.ndim == 3  # OpenCV drops a single channel axis
    # OpenCV's area averaging is ~5x faster for whole-number factors: take the largest one
    # first (dropping at most k - 1 edge rows/columns), then the fractional rest.
    k = min(values.shape[0] // h, values.shape[1] // w)
    if k >= 2:
        kh, kw = values.shape[0] // k, values.shape[1] // k
        trimmed = values[: kh * k, : kw * k]
        values = cv2.resize(trimmed, (kw, kh), interpolation=cv2.INTER_AREA)
    out = cv2.resize(values, (w, h), interpolation=cv2.INTER_AREA)
    return out[:, :, None] if channel_axis and out.ndim == 2 else out


def _target(full: tuple[int, int], max_side: int) -> tuple[int, int]:
    factor = max_side / max(full)
    return max(1, round(full[0] * factor)), max(1, round(full[1] * factor))


def _shrink_tiles(
    path: Path, page: tifffile.TiffPage, target: tuple[int, int], allow_huge: bool
) -> np.ndarray:
    """Decode ``page`` one segment at a time, each area-averaged into ``target`` (stored frame)."""
    height, width = page.imagelength, page.imagewidth
    th, tw = target
    sy, sx = th / height, tw / width
    samples = page.samplesperpixel
    seg_h = page.tilelength if page.is_tiled else min(page.rowsperstrip, height)
    seg_w = page.tilewidth if page.is_tiled else width
    check_pixel_count(path, (seg_h, seg_w), allow_huge, "tiles/strips")
    out = np.zeros((th, tw, samples), dtype=normalize_dtype(np.zeros(1, page.dtype)).dtype)
    # maxworkers=1: one decoded segment in memory at a time.
    for segment, (sample, _d, y, x, _s), _shape in page.segments(maxworkers=1):
        if segment is None:
            continue  # missing segment of a sparse file stays zero
        block = normalize_dtype(segment[0, : height - y, : width - x])
        # Output rows/columns are split between segments by rounding their edges, so every
        # output pixel gets exactly one contribution and no seam appears.
        oy0, oy1 = round(y * sy), round((y + block.shape[0]) * sy)
        ox0, ox1 = round(x * sx), round((x + block.shape[1]) * sx)
        if oy1 <= oy0 or ox1 <= ox0:
            continue
        n = block.shape[2]
        out[oy0:oy1, ox0:ox1, sample : sample + n] = resize_area(block, (oy1 - oy0, ox1 - ox0))
    return out[:, :, 0] if samples == 1 else out


def _tiff_overview(
    path: Path, page_index: int, max_side: int, allow_huge: bool
) -> LoadedImage | None:
    """Overview of a TIFF page tifffile can decode, or None to use the generic path."""
    with tifffile.TiffFile(path) as tf:
        page, page_count = tiff_reader.page_of(tf, path, page_index)
        if not tiff_reader.tifffile_can_decode(page) or int(page.photometric) == 3:
            return None  # palette indices must not be averaged: generic path
        tiff_reader.check_not_truncated(path, page)
        stored = (int(page.imagelength), int(page.imagewidth))
        orientation = tiff_reader.orientation_of(page)
        target = _target(stored, max_side)  # the long side is the same in both frames
        usable = [
            level
            for level in tiff_reader.reduced_levels(tf, page)
            if level.imagelength >= target[0]
            and level.imagewidth >= target[1]
            and tiff_reader.tifffile_can_decode(level)
        ]
        source = min(usable, key=lambda lvl: lvl.imagelength * lvl.imagewidth, default=page)
        # A pyramid level small enough (<= 4x the target per side) is read whole.
        small = source.imagelength * source.imagewidth <= 16 * target[0] * target[1]
        tiff_reader.check_not_truncated(path, source)
        if source is not page and small:
            values = normalize_dtype(tiff_reader.samples_last(source.asarray(), source))
            values = resize_area(values, target)
        else:
            values = _shrink_tiles(path, source, target, allow_huge)
        values, mode, has_alpha = tiff_reader.describe_samples(values, page)
        inverted = int(page.photometric) == 0
        bit_depth = int(page.bitspersample)
    pixels = normalize_dtype(apply_orientation(values, orientation))
    full = oriented_size(stored, orientation)
    return LoadedImage(
        path=path,
        pixels=pixels,
        mode=mode,
        bit_depth=bit_depth,
        default_window=default_window_for(pixels, has_alpha),
        source_format="TIFF",
        page=page_index,
        page_count=page_count,
        orientation=orientation,
        full_size=full,
        region=(0, 0, full[1], full[0]),
        has_alpha=has_alpha,
        inverted=inverted,
    )


def _jpeg_overview(path: Path, max_side: int, allow_huge: bool) -> LoadedImage:
    """Decode a JPEG at 1/2, 1/4 or 1/8 scale (DCT scaling), then shrink to the target."""
    with pil_reader.open_unchecked(path, "JPEG") as image:
        w, h = image.size
        target = _target((h, w), max_side)
        image.draft(image.mode, (target[1], target[0]))  # stays >= the requested size
        dw, dh = image.size
        check_pixel_count(path, (dh, dw), allow_huge, "header (at reduced scale)")
        image.load()
        orientation = pil_reader.orientation_of(image, loaded=True)
        pixels, mode, depth, has_alpha = pil_reader.pixels_of(image)
    pixels = apply_orientation(resize_area(pixels, target), orientation)
    full = oriented_size((h, w), orientation)
    return LoadedImage(
        path=path,
        pixels=pixels,
        mode=mode,
        bit_depth=depth,
        default_window=None,
        source_format="JPEG",
        orientation=orientation,
        full_size=full,
        region=(0, 0, full[1], full[0]),
        has_alpha=has_alpha,
    )


def read_overview(
    path: str | os.PathLike[str],
    max_side: int = 2048,
    page: int = 0,
    *,
    allow_huge: bool = False,
) -> LoadedImage:
    """The whole page reduced so its longer side is at most ``max_side`` (never enlarged).

    Args:
        path: the file.
        max_side: longest side of the result in pixels.
        page: page / frame, as in :func:`read_image`.
        allow_huge: allow the generic path to decode a page above the pixel limit whole
            (TIFF tiles and JPEG draft decoding never need it for ordinary files).

    Returns:
        A :class:`LoadedImage` whose ``region`` is the whole page and whose ``scale`` tells
        how much smaller it is (``full_size`` is the real size, for coordinates). Its
        ``default_window`` is a good window for every region of the page.

    Raises:
        ImageReadError: as :func:`read_image`.
    """
    if max_side < 1:
        raise ValueError(f"max_side must be at least 1, got {max_side}")
    file = Path(path)
    fmt = _checked_format(file)
    full = read_image_size(file, page)
    if max(full) <= max_side:
        return read_image(file, page, allow_huge=allow_huge)

    def reduce() -> LoadedImage:
        if fmt == "TIFF":
            found = _tiff_overview(file, page, max_side, allow_huge)
            if found is not None:
                return found
        if fmt == "JPEG" and page == 0:
            return _jpeg_overview(file, max_side, allow_huge)
        loaded = read_image(file, page, allow_huge=allow_huge)
        pixels = resize_area(loaded.pixels, _target(loaded.full_size, max_side))
        return replace(
            loaded, pixels=pixels, default_window=default_window_for(pixels, loaded.has_alpha)
        )

    return _guarded(file, fmt, reduce)
