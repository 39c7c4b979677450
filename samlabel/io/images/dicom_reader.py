"""DICOM through pydicom: modality rescale, MONOCHROME1, the file's window, frames as pages.

Values are returned in modality units (e.g. Hounsfield units for CT: stored value x
RescaleSlope + RescaleIntercept), so the window the file names applies to them directly.
MONOCHROME1 (low values bright) is not rewritten: the image is marked ``inverted`` and the
display inverts it after windowing, so window values keep their meaning.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pydicom.pixels

from samlabel.core.errors import ImageReadError
from samlabel.core.windowing import Window
from samlabel.io.images.model import (
    LoadedImage,
    Region,
    check_pixel_count,
    crop,
    default_window_for,
    normalize_dtype,
    validate_region,
)

#: Elements larger than this are read only when used (above all the pixel data).
_DEFER_BYTES = 64 * 1024


def _open(path: Path, with_pixels: bool) -> pydicom.Dataset:
    """The header; pixel data stays on disk (deferred) so a 2 GB cine costs one frame.

    ``force=True`` also accepts old files without the 128-byte preamble and "DICM".
    """
    if not with_pixels:
        return pydicom.dcmread(path, stop_before_pixels=True, force=True)
    return pydicom.dcmread(path, defer_size=_DEFER_BYTES, force=True)


def _frames(ds: pydicom.Dataset) -> int:
    try:
        return max(1, int(ds.get("NumberOfFrames", 1) or 1))
    except (TypeError, ValueError):
        return 1


def _rows_columns(path: Path, ds: pydicom.Dataset) -> tuple[int, int]:
    if "Rows" not in ds or "Columns" not in ds:
        raise ImageReadError(f"Cannot open {path}: the DICOM file holds no image.", path)
    return int(ds.Rows), int(ds.Columns)


def size_of(path: Path) -> tuple[int, int]:
    """``(H, W)`` from the header (DICOM has no orientation flag to apply)."""
    return _rows_columns(path, _open(path, with_pixels=False))


def _first(value: Any) -> float | None:
    """First number of a possibly multi-valued DICOM element, or None."""
    if value is None:
        return None
    if isinstance(value, pydicom.multival.MultiValue | list | tuple):
        value = value[0] if len(value) else None
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _holders(ds: pydicom.Dataset, page: int, sequence: str) -> list[pydicom.Dataset]:
    """Where an attribute of frame ``page`` may sit, most specific first: the frame's own
    functional group, the shared functional group (enhanced multi-frame), the top level."""
    found: list[pydicom.Dataset] = []
    per_frame = ds.get("PerFrameFunctionalGroupsSequence") or []
    if page < len(per_frame):
        found.extend(per_frame[page].get(sequence) or [])
    for shared in ds.get("SharedFunctionalGroupsSequence") or []:
        found.extend(shared.get(sequence) or [])
    found.append(ds)
    return found


def _file_window(ds: pydicom.Dataset, page: int) -> Window | None:
    """The first Window Center/Width the file gives for this frame, if any."""
    for holder in _holders(ds, page, "FrameVOILUTSequence"):
        center = _first(holder.get("WindowCenter"))
        width = _first(holder.get("WindowWidth"))
        if center is not None and width is not None and width > 0:
            return Window.from_center_width(center, width)
    return None


def _rescale(ds: pydicom.Dataset, page: int) -> tuple[float, float]:
    """(slope, intercept) of the modality rescale for this frame; (1, 0) if none."""
    for holder in _holders(ds, page, "PixelValueTransformationSequence"):
        slope = _first(holder.get("RescaleSlope"))
        intercept = _first(holder.get("RescaleIntercept"))
        if slope is not None or intercept is not None:
            return (1.0 if slope is None else slope), (0.0 if intercept is None else intercept)
    return 1.0, 0.0


def _decode_frame(path: Path, ds: pydicom.Dataset, page: int) -> np.ndarray:
    try:
        # Given the path, pydicom reads only the bytes of the requested frame.
        return pydicom.pixels.pixel_array(os.fspath(path), index=page if _frames(ds) > 1 else None)
    except (NotImplementedError, RuntimeError) as err:
        syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
        name = syntax.name if syntax is not None else "an unknown transfer syntax"
        raise ImageReadError(
            f"Cannot open {path}: its pixel data ({name}) cannot be decoded here ({err}).", path
        ) from err


def read(path: Path, page: int, region: Region | None, allow_huge: bool) -> LoadedImage:
    """Decode one frame of a DICOM file (or a region of it)."""
    ds = _open(path, with_pixels=True)
    if "PixelData" not in ds and "FloatPixelData" not in ds:
        raise ImageReadError(f"Cannot open {path}: the DICOM file holds no pixel data.", path)
    rows, cols = _rows_columns(path, ds)
    frames = _frames(ds)
    if not 0 <= page < frames:
        raise ImageReadError(f"Cannot open frame {page + 1} of {path}: it has {frames}.", path)
    box = validate_region(path, region, (rows, cols))
    check_pixel_count(path, (rows, cols), allow_huge, "header")
    values = _decode_frame(path, ds, page)
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip()
    bits = int(ds.get("BitsStored", values.dtype.itemsize * 8))
    if photometric == "PALETTE COLOR":
        values = pydicom.pixels.apply_color_lut(values, ds)
        if values.dtype == np.uint16 and bits <= 8:
            values = (values >> 8).astype(np.uint8)
        mode = f"palette {bits}-bit -> RGB"
    elif values.ndim == 3:
        mode = f"RGB {bits}-bit" + (f" (from {photometric})" if photometric != "RGB" else "")
    else:
        slope, intercept = _rescale(ds, page)
        if (slope, intercept) != (1.0, 0.0):
            # Modality units (CT: Hounsfield); float32 is exact for 16-bit stored values.
            values = values.astype(np.float32) * np.float32(slope) + np.float32(intercept)
        mode = f"{photometric} {bits}-bit" + (" (rescaled)" if values.dtype.kind == "f" else "")
    values = normalize_dtype(values)
    if values.dtype == np.uint16 and bits <= 8:
        values = values.astype(np.uint8)
    pixels = crop(values, box)
    window = _file_window(ds, page) if pixels.ndim == 2 else None
    return LoadedImage(
        path=path,
        pixels=pixels,
        mode=mode,
        bit_depth=bits,
        default_window=window or default_window_for(pixels),
        source_format="DICOM",
        page=page,
        page_count=frames,
        orientation=1,
        full_size=(rows, cols),
        region=box,
        inverted=photometric == "MONOCHROME1",
    )
