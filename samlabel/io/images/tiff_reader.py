"""TIFF through tifffile: 8/16/32-bit integer and float samples, 1..N bands, multi-page,
and reading a region of a huge tiled or striped page without decoding the rest.

Pages tifffile cannot decode here (LZW or JPEG compression without the optional
``imagecodecs`` package; CMYK, YCbCr or CIELab photometrics) are read by Pillow instead.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import tifffile

from samlabel.core.errors import ImageReadError
from samlabel.io.images import pil_reader
from samlabel.io.images.model import (
    LoadedImage,
    Region,
    check_pixel_count,
    default_window_for,
    normalize_dtype,
    validate_region,
)
from samlabel.io.images.orientation import (
    apply_orientation,
    normalize_orientation,
    oriented_size,
    region_to_stored,
)

_MINISWHITE, _MINISBLACK, _RGB, _PALETTE = 0, 1, 2, 3
_ORIENTATION_TAG = 274
_ALPHA_EXTRASAMPLES = (1, 2)  # associated / unassociated alpha


def orientation_of(page: tifffile.TiffPage) -> int:
    tag = page.tags.get(_ORIENTATION_TAG)
    return normalize_orientation(tag.value if tag is not None else 1)


def _main_pages(tf: tifffile.TiffFile) -> list[int]:
    """Indices of full-resolution image pages: reduced-resolution copies (GDAL overviews)
    and transparency masks are levels of a page, not pages of their own."""
    return [i for i, page in enumerate(tf.pages) if not (page.is_reduced or page.is_mask)]


def page_of(tf: tifffile.TiffFile, path: Path, index: int) -> tuple[tifffile.TiffPage, int]:
    """The ``index``-th full-resolution page and how many there are."""
    main = _main_pages(tf)
    if not 0 <= index < len(main):
        raise ImageReadError(
            f"Cannot open page {index + 1} of {path}: it has {len(main)} page(s).", path
        )
    page = tf.pages[main[index]]
    page = page.aspage() if not isinstance(page, tifffile.TiffPage) else page
    return page, len(main)


def reduced_levels(tf: tifffile.TiffFile, page: tifffile.TiffPage) -> list[tifffile.TiffPage]:
    """Lower-resolution copies of ``page`` (SubIFD pyramid or following reduced pages)."""
    levels = list(page.pages) if page.pages is not None else []
    for following in tf.pages[page.index + 1 :]:
        if not following.is_reduced:
            break
        levels.append(following)
    return [lvl if isinstance(lvl, tifffile.TiffPage) else lvl.aspage() for lvl in levels]


def tifffile_can_decode(page: tifffile.TiffPage) -> bool:
    return (
        int(page.photometric) in (_MINISWHITE, _MINISBLACK, _RGB, _PALETTE)
        and page.compression in tifffile.TIFF.DECOMPRESSORS
        and page.imagedepth == 1
    )


def check_not_truncated(path: Path, page: tifffile.TiffPage) -> None:
    """Refuse a page whose pixel data ends beyond the end of the file."""
    ends = [o + c for o, c in zip(page.dataoffsets, page.databytecounts, strict=False) if c]
    if ends and max(ends) > path.stat().st_size:
        raise ImageReadError(
            f"Cannot open {path}: the file is truncated (its pixel data should end at byte "
            f"{max(ends)} but the file has {path.stat().st_size} bytes).",
            path,
        )


def size_of(path: Path, page_index: int = 0) -> tuple[int, int]:
    """Upright ``(H, W)`` of one page, from its tags only."""
    with tifffile.TiffFile(path) as tf:
        page, _count = page_of(tf, path, page_index)
        return oriented_size((page.imagelength, page.imagewidth), orientation_of(page))


def samples_last(values: np.ndarray, page: tifffile.TiffPage) -> np.ndarray:
    """Decoded page as ``(H, W)`` or ``(H, W, S)`` whatever the planar configuration."""
    axes = page.axes
    if axes.startswith("S"):
        values = np.moveaxis(values, 0, -1)
    if values.ndim == 3 and values.shape[2] == 1:
        values = values[:, :, 0]
    return values


def _read_segments(
    path: Path, tf: tifffile.TiffFile, page: tifffile.TiffPage, box: Region, allow_huge: bool
) -> np.ndarray:
    """Decode only the tiles/strips that meet ``box`` (stored XYXY) -> ``(h, w, S)``."""
    x0, y0, x1, y1 = box
    height, width = page.imagelength, page.imagewidth
    samples = page.samplesperpixel
    planes = samples if page.planarconfig == 2 else 1
    if page.is_tiled:
        seg_h, seg_w = page.tilelength, page.tilewidth
    else:
        seg_h, seg_w = min(page.rowsperstrip, height), width
    # A small region of a file stored as one giant strip still decodes that whole strip.
    rows = ((y1 - 1) // seg_h - y0 // seg_h + 1) * seg_h
    cols = ((x1 - 1) // seg_w - x0 // seg_w + 1) * seg_w
    check_pixel_count(path, (rows, cols), allow_huge, "tiles/strips around the region")
    across = math.ceil(width / seg_w)
    per_plane = math.ceil(height / seg_h) * across
    out = np.zeros((y1 - y0, x1 - x0, samples), dtype=page.dtype)
    fh = tf.filehandle
    for plane in range(planes):
        for ty in range(y0 // seg_h, (y1 - 1) // seg_h + 1):
            for tx in range(x0 // seg_w, (x1 - 1) // seg_w + 1):
                index = plane * per_plane + ty * across + tx
                count = page.databytecounts[index]
                if not count:
                    continue  # sparse file: missing segment stays zero
                fh.seek(page.dataoffsets[index])
                data = fh.read(count)
                segment, (sample, _d, sy, sx, _s), _shape = page.decode(
                    data, index, jpegtables=page.jpegtables
                )
                segment = segment[0]  # (length, width, samples) of this segment
                ya, yb = max(y0, sy), min(y1, sy + segment.shape[0], height)
                xa, xb = max(x0, sx), min(x1, sx + segment.shape[1], width)
                if ya >= yb or xa >= xb:
                    continue
                n = segment.shape[2]
                out[ya - y0 : yb - y0, xa - x0 : xb - x0, sample : sample + n] = segment[
                    ya - sy : yb - sy, xa - sx : xb - sx
                ]
    return out[:, :, 0] if samples == 1 else out


def _read_stored(
    path: Path, tf: tifffile.TiffFile, page: tifffile.TiffPage, box: Region, allow_huge: bool
) -> np.ndarray:
    """Pixels of the stored-frame region ``box`` as ``(h, w)`` or ``(h, w, S)``."""
    x0, y0, x1, y1 = box
    if box == (0, 0, page.imagewidth, page.imagelength):
        return samples_last(page.asarray(), page)
    if page.is_memmappable:
        # Uncompressed, contiguous: map the file, copy out only the rows of the region.
        mapped = samples_last(tifffile.memmap(path, page=page.index, mode="r"), page)
        return np.array(mapped[y0:y1, x0:x1])
    return _read_segments(path, tf, page, box, allow_huge)


def describe_samples(values: np.ndarray, page: tifffile.TiffPage) -> tuple[np.ndarray, str, bool]:
    """Palette -> RGB; describe the bands; tell whether the last band is alpha."""
    bits = int(page.bitspersample)
    if int(page.photometric) == _PALETTE and page.colormap is not None:
        cmap = np.asarray(page.colormap)
        lut = (cmap >> 8 if cmap.max() > 255 else cmap).astype(np.uint8).T  # (2**bits, 3)
        return lut[values], f"palette {bits}-bit -> RGB 8-bit", False
    bands = 1 if values.ndim == 2 else values.shape[2]
    extras = tuple(page.extrasamples or ())
    has_alpha = bands in (2, 4) and bool(extras) and extras[-1] in _ALPHA_EXTRASAMPLES
    kind = "float" if values.dtype.kind == "f" else "-bit"
    depth = f"{bits}{kind}" if kind == "-bit" else f"float{bits}"
    if bands == 1:
        name = "grey"
    elif bands == 3 and int(page.photometric) == _RGB:
        name = "RGB"
    elif bands == 4 and has_alpha and int(page.photometric) == _RGB:
        name = "RGBA"
    elif bands == 2 and has_alpha:
        name = "grey + alpha"
    else:
        name = f"{bands}-band"
    return values, f"{name} {depth}", has_alpha


def read(path: Path, page_index: int, region: Region | None, allow_huge: bool) -> LoadedImage:
    """Decode one TIFF page (or a region of it), upright."""
    with tifffile.TiffFile(path) as tf:
        page, page_count = page_of(tf, path, page_index)
        if not tifffile_can_decode(page):
            # Pillow numbers every IFD (reduced-resolution ones too), as tifffile's pages do.
            loaded = pil_reader.read(path, "TIFF", page.index, region, allow_huge)
            return replace(loaded, source_format="TIFF", page=page_index, page_count=page_count)
        stored = (int(page.imagelength), int(page.imagewidth))
        orientation = orientation_of(page)
        full_size = oriented_size(stored, orientation)
        box = validate_region(path, region, full_size)
        check_pixel_count(
            path,
            (box[3] - box[1], box[2] - box[0]),
            allow_huge,
            "header" if region is None else "requested region",
        )
        check_not_truncated(path, page)
        stored_box = region_to_stored(box, stored, orientation)
        values = _read_stored(path, tf, page, stored_box, allow_huge)
        values, mode, has_alpha = describe_samples(values, page)
        inverted = int(page.photometric) == _MINISWHITE
        bit_depth = int(page.bitspersample)
    pixels = normalize_dtype(apply_orientation(values, orientation))
    return LoadedImage(
        path=path,
        pixels=pixels,
        mode=mode + (" (min-is-white)" if inverted else ""),
        bit_depth=bit_depth,
        default_window=default_window_for(pixels, has_alpha),
        source_format="TIFF",
        page=page_index,
        page_count=page_count,
        orientation=orientation,
        full_size=full_size,
        region=box,
        has_alpha=has_alpha,
        inverted=inverted,
    )
