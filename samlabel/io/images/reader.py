"""The one entry point for reading images: format by content, one error type for the user."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import TypeVar

from PIL import Image

from samlabel.core.errors import ImageReadError
from samlabel.io.images import pil_reader, tiff_reader
from samlabel.io.images.model import LoadedImage, Region, check_proportions
from samlabel.io.images.sniff import detect_format

_T = TypeVar("_T")
_KNOWN = "JPEG, PNG, BMP, WebP, GIF, TIFF or DICOM"


def _dicom() -> ModuleType:
    """pydicom takes about a second to import: only when a DICOM file is opened."""
    from samlabel.io.images import dicom_reader

    return dicom_reader


def _checked_format(path: Path) -> str:
    """Reject missing, empty and non-image files with a sentence naming the file."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ImageReadError(f"Cannot open {path}: the file does not exist.", path) from None
    except OSError as err:
        reason = "its path is too long" if err.errno == errno.ENAMETOOLONG else err.strerror
        raise ImageReadError(f"Cannot open {path}: {reason}.", path) from err
    if path.is_dir():
        raise ImageReadError(f"Cannot open {path}: it is a folder, not an image.", path)
    if not stat.S_ISREG(info.st_mode):
        raise ImageReadError(
            f"Cannot open {path}: it is a pipe, socket or device, not an image file.", path
        )
    if info.st_size == 0:
        raise ImageReadError(f"Cannot open {path}: the file is empty (0 bytes).", path)
    try:
        fmt = detect_format(path)
    except OSError as err:
        raise ImageReadError(f"Cannot open {path}: {err.strerror or err}.", path) from err
    if fmt is None:
        raise ImageReadError(
            f"Cannot open {path}: its content is not a {_KNOWN} image"
            + (f", whatever its '{path.suffix}' name says." if path.suffix else "."),
            path,
        )
    return fmt


def _guarded(path: Path, fmt: str, action: Callable[[], _T]) -> _T:
    """Run a decoder; turn whatever it raises into an ImageReadError naming the file."""
    try:
        return action()
    except ImageReadError:
        raise
    except MemoryError as err:
        raise ImageReadError(
            f"Cannot open {path}: there is not enough memory to decode it.", path
        ) from err
    except Image.DecompressionBombError as err:
        raise ImageReadError(f"Cannot open {path}: {err}", path) from err
    except Exception as err:  # decoders raise many types for damaged data
        detail = str(err) or type(err).__name__
        raise ImageReadError(
            f"Cannot open {path}: the {fmt} data is damaged or truncated ({detail}).", path
        ) from err


def read_image(
    path: str | os.PathLike[str],
    page: int = 0,
    *,
    region: Region | None = None,
    allow_huge: bool = False,
) -> LoadedImage:
    """Read one image (page, frame), upright, as samlabel shows and segments it.

    Args:
        path: the file; its format is taken from its content, not its extension.
        page: 0-based page of a multi-page TIFF, frame of a DICOM, GIF or WebP.
        region: ``(x0, y0, x1, y1)`` in upright pixels (end-exclusive) to read only part of
            the page. TIFF decodes only the tiles or strips it needs (or maps uncompressed
            data), so a window of a 20,000 px orthomosaic costs only that window; other
            formats decode the page and crop.
        allow_huge: decode even if the page (or the region) has more pixels than
            :func:`samlabel.io.images.model.pixel_limit` (Pillow's ``MAX_IMAGE_PIXELS``). Only
            for a file the user chose to open as a huge image.

    Returns:
        The :class:`LoadedImage`; its ``pixels`` are uint8, uint16 or float32, ``(H, W)`` or
        ``(H, W, C)``. Pass it to :func:`to_display_rgb` for the RGB picture.

    Raises:
        ImageReadError: missing, empty, unreadable, not an image, truncated or damaged,
            bigger than the limit, more elongated than SAM can take
            (:data:`~samlabel.io.images.model.MAX_ASPECT_RATIO`), no such page; the message
            names the file.
    """
    file = Path(path)
    fmt = _checked_format(file)
    if page < 0:
        raise ImageReadError(f"Cannot open page {page} of {file}: pages count from 0.", file)

    def decode() -> LoadedImage:
        if fmt == "TIFF":
            loaded = tiff_reader.read(file, page, region, allow_huge)
        elif fmt == "DICOM":
            loaded = _dicom().read(file, page, region, allow_huge)
        else:
            loaded = pil_reader.read(file, fmt, page, region, allow_huge)
        check_proportions(file, loaded.full_size)
        return loaded

    return _guarded(file, fmt, decode)


def read_image_size(path: str | os.PathLike[str], page: int = 0) -> tuple[int, int]:
    """``(H, W)`` of the upright image, from the header only (no pixel decoding).

    EXIF/TIFF orientations 5..8 swap the stored width and height, exactly as
    :func:`read_image` does; this is the size to save in COCO.

    Raises:
        ImageReadError: as :func:`read_image`, for what the header already shows.
    """
    file = Path(path)
    fmt = _checked_format(file)

    def header() -> tuple[int, int]:
        if fmt == "TIFF":
            size = tiff_reader.size_of(file, page)
        elif fmt == "DICOM":
            size = _dicom().size_of(file)
        else:
            size = pil_reader.size_of(file, fmt)
        check_proportions(file, size)
        return size

    return _guarded(file, fmt, header)
