"""JPEG, PNG, BMP, WebP, GIF (and TIFFs tifffile cannot decode) through Pillow.

Pillow's pixel limit stays in force, checked by us from the header before decoding (see
:func:`samlabel.io.images.model.check_pixel_count`), so that a caller can lift it for one
explicitly huge file without switching it off for the whole process. Truncated files raise
(``ImageFile.LOAD_TRUNCATED_IMAGES`` is never set), so a broken file is never shown as grey.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from samlabel.core.errors import ImageReadError
from samlabel.io.images.model import (
    LoadedImage,
    Region,
    check_pixel_count,
    crop,
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

_EXIF_ORIENTATION = 0x0112


def open_unchecked(path: Path, fmt: str) -> Image.Image:
    """Open lazily (header only) with the plugin for ``fmt``, without Pillow's pixel check.

    Pillow offers no per-call limit; we apply the same limit ourselves right after, from the
    header, which is thread-safe and can be lifted per file.
    """
    Image.preinit()
    if fmt not in Image.OPEN:
        Image.init()
    factory, _accept = Image.OPEN[fmt]
    # Given a path, the plugin opens and owns the file (closed by Image.close()).
    return factory(os.fspath(path), None)


def orientation_of(image: Image.Image, loaded: bool) -> int:
    """EXIF orientation, without decoding pixels of a file not yet loaded.

    Pillow's PNG ``getexif()`` decodes the whole image when no eXIf chunk came before the
    pixel data; that must not happen before the size check, so an unloaded PNG without an
    early eXIf counts as upright (writers put eXIf before the pixel data). Once loaded, a
    late eXIf chunk is honoured.
    """
    if image.format == "PNG" and "exif" not in image.info and not loaded:
        return 1
    return normalize_orientation(image.getexif().get(_EXIF_ORIENTATION, 1))


def size_of(path: Path, fmt: str) -> tuple[int, int]:
    """Upright ``(H, W)`` from the header (and the EXIF orientation)."""
    with open_unchecked(path, fmt) as image:
        w, h = image.size
        return oriented_size((h, w), orientation_of(image, loaded=False))


def _png_is_deep_colour(path: Path) -> bool:
    """True for 16-bit RGB(A) PNGs, which Pillow would silently cut to 8 bits."""
    with open(path, "rb") as fh:
        ihdr = fh.read(26)
    return len(ihdr) == 26 and ihdr[24] == 16 and ihdr[25] in (2, 6)


def _decode_deep_png(path: Path) -> np.ndarray:
    """16-bit RGB/RGBA PNG through OpenCV (its own pixel limit applies) -> HxWx3/4 uint16."""
    data = np.fromfile(path, dtype=np.uint8)  # np.fromfile handles non-ASCII paths
    decoded = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if decoded is None:
        raise ImageReadError(f"Cannot open {path}: the 16-bit PNG data is damaged.", path)
    if decoded.ndim == 3 and decoded.shape[2] == 4:
        return cv2.cvtColor(decoded, cv2.COLOR_BGRA2RGBA)
    return cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)


def pixels_of(image: Image.Image) -> tuple[np.ndarray, str, int, bool]:
    """Decoded pixels -> (array, mode description, bit depth, has_alpha). Deterministic."""
    mode = image.mode
    has_transparency = "transparency" in image.info
    if mode == "1":
        return np.asarray(image.convert("L")), "1-bit -> grey 8-bit", 1, False
    if mode == "L" and not has_transparency:
        return np.asarray(image), "grey 8-bit", 8, False
    if mode in ("L", "LA", "La", "PA") or (mode == "P" and has_transparency):
        label = f"{mode} with transparency" if mode in ("L", "P") else mode
        return np.asarray(image.convert("RGBA")), f"{label} -> RGBA 8-bit", 8, True
    if mode == "P":
        return np.asarray(image.convert("RGB")), "P (palette) -> RGB 8-bit", 8, False
    if mode == "RGBA":
        return np.asarray(image), "RGBA 8-bit", 8, True
    if mode == "RGB" and not has_transparency:
        return np.asarray(image), "RGB 8-bit", 8, False
    if mode == "RGB":
        return np.asarray(image.convert("RGBA")), "RGB with transparency -> RGBA", 8, True
    if mode.startswith("I;16"):
        return np.asarray(image).astype(np.uint16), "grey 16-bit", 16, False
    if mode == "I":
        values = np.asarray(image)
        if values.size and values.min() >= 0 and values.max() <= 65535:
            return values.astype(np.uint16), "grey 32-bit integer -> 16-bit", 32, False
        return values.astype(np.float32), "grey 32-bit integer -> float32", 32, False
    if mode == "F":
        return np.asarray(image, dtype=np.float32), "grey float32", 32, False
    # CMYK, YCbCr, LAB, HSV, RGBX, ...: Pillow's fixed conversion to RGB.
    return np.asarray(image.convert("RGB")), f"{mode} -> RGB 8-bit", 8, False


def read(path: Path, fmt: str, page: int, region: Region | None, allow_huge: bool) -> LoadedImage:
    """Decode one frame of a Pillow-supported file, upright, optionally a region of it."""
    with open_unchecked(path, fmt) as image:
        # A phone JPEG may carry extra MPO frames (previews, depth maps): not pages to label.
        page_count = 1 if fmt == "JPEG" else int(getattr(image, "n_frames", 1))
        if not 0 <= page < page_count:
            raise ImageReadError(
                f"Cannot open page {page + 1} of {path}: it has {page_count} page(s).", path
            )
        if page:
            image.seek(page)
        w, h = image.size
        check_pixel_count(path, (h, w), allow_huge, "header")
        image.load()  # also for deep PNGs: Pillow catches truncation the same way for all
        orientation = orientation_of(image, loaded=True)
        if fmt == "PNG" and _png_is_deep_colour(path):
            pixels, mode, depth = _decode_deep_png(path), "RGB 16-bit", 16
            has_alpha = pixels.shape[2] == 4
            mode = "RGBA 16-bit" if has_alpha else mode
        else:
            pixels, mode, depth, has_alpha = pixels_of(image)
    full_size = oriented_size((h, w), orientation)
    box = validate_region(path, region, full_size)
    # Crop in the stored frame first, so only the region is turned upright.
    sx0, sy0, sx1, sy1 = region_to_stored(box, (h, w), orientation)
    pixels = apply_orientation(crop(pixels, (sx0, sy0, sx1, sy1)), orientation)
    pixels = normalize_dtype(pixels)
    return LoadedImage(
        path=path,
        pixels=pixels,
        mode=mode,
        bit_depth=depth,
        default_window=default_window_for(pixels, has_alpha),
        source_format=fmt,
        page=page,
        page_count=page_count,
        orientation=orientation,
        full_size=full_size,
        region=box,
        has_alpha=has_alpha,
    )
