"""Generated image files for the image-reader tests (no binary blobs in the repository)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

#: Where the red marker square sits in the upright test image: XYXY.
MARKER = (5, 3, 11, 8)

#: Pillow transpositions that EXIF orientation n undoes (as ImageOps.exif_transpose).
_UNDO = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
#: ... and the transposition that turns the upright image into what a camera stores.
_DO = {**_UNDO, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}


def upright_rgb(height: int = 24, width: int = 40) -> np.ndarray:
    """``(H, W, 3)`` uint8: a dim gradient (no symmetry) with a pure red marker at MARKER."""
    y, x = np.mgrid[0:height, 0:width]
    image = np.stack([x * 2, y * 3, (x + y) % 50], axis=2).astype(np.uint8)
    x0, y0, x1, y1 = MARKER
    image[y0:y1, x0:x1] = (255, 0, 0)
    return image


def stored_for(upright: np.ndarray, orientation: int) -> np.ndarray:
    """What a camera writes for ``upright`` with this EXIF orientation."""
    if orientation == 1:
        return upright
    return np.asarray(Image.fromarray(upright).transpose(_DO[orientation]))


def exif_with_orientation(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif


def write_dicom(
    path: Path,
    frames: np.ndarray,
    photometric: str = "MONOCHROME2",
    bits_stored: int | None = None,
    slope: float | None = None,
    intercept: float | None = None,
    window: tuple[float, float] | None = None,
    preamble: bool = True,
) -> Path:
    """Write ``frames`` (``(H, W)``, ``(N, H, W)`` or ``(H, W, 3)``) as an uncompressed DICOM."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = pydicom.uid.SecondaryCaptureImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.Modality = "CT"
    ds.PatientName = "Test^Phantom"
    bits = bits_stored or frames.dtype.itemsize * 8
    ds.set_pixel_data(frames, photometric, bits)
    if slope is not None:
        ds.RescaleSlope = slope
    if intercept is not None:
        ds.RescaleIntercept = intercept
    if window is not None:
        ds.WindowCenter, ds.WindowWidth = window
    ds.save_as(path, enforce_file_format=preamble)
    return path
