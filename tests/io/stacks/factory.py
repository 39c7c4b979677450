"""Stacks generated for the tests: every frame carries its index, so order can be checked.

- :func:`slice_pixels`: a volume's slice ``k`` is a ramp plus ``100 * k`` (int16), with a
  bright square whose corner moves with ``k`` (so flips and transposes show);
- :func:`index_pattern` / :func:`read_index`: a video frame shows its index as 12 black or
  white 16 x 16 blocks (bits), which survives lossy compression.
"""

from __future__ import annotations

import random
from pathlib import Path

import cv2
import nibabel as nib
import numpy as np
import tifffile
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid


def slice_pixels(k: int, height: int = 12, width: int = 16) -> np.ndarray:
    """``(H, W)`` int16: values ``100 * k + row * W + col``, distinct for every voxel."""
    return (100 * k + np.arange(height * width).reshape(height, width)).astype(np.int16)


def write_dicom_series(
    folder: Path,
    count: int = 6,
    size: tuple[int, int] = (12, 16),
    *,
    shuffle: bool = True,
    series_uid: str | None = None,
    spacing: float = 2.5,
    origin_z: float = -40.0,
    orientation: tuple[float, ...] = (1, 0, 0, 0, 1, 0),
    slope: float = 1.0,
    intercept: float = -1024.0,
    skip: tuple[int, ...] = (),
    seed: int = 3,
    photometric: str = "MONOCHROME2",
    window: tuple[float, float] | None = None,
) -> list[Path]:
    """Write ``count`` CT slices; slice ``k`` (anatomical order, along the normal) holds
    :func:`slice_pixels(k)` as stored values. With ``shuffle``, file names and
    InstanceNumbers are a random permutation unrelated to position. Returns the paths in
    anatomical order (without the ``skip`` ones, which are not written)."""
    folder.mkdir(parents=True, exist_ok=True)
    series_uid = series_uid or generate_uid()
    rng = random.Random(seed)
    names = list(range(count))
    if shuffle:
        rng.shuffle(names)
    across = np.array(orientation[:3], dtype=float)
    down = np.array(orientation[3:], dtype=float)
    normal = np.cross(across, down)
    paths = []
    for k in range(count):
        if k in skip:
            continue
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
        ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.SOPClassUID = CTImageStorage
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
        ds.Modality = "CT"
        ds.SeriesInstanceUID = series_uid
        ds.InstanceNumber = names[k] + 1
        position = np.array([-20.0, -30.0, 0.0]) + normal * (origin_z + k * spacing)
        ds.ImagePositionPatient = [f"{v:.4f}" for v in position]
        ds.ImageOrientationPatient = [f"{v:.6f}" for v in orientation]
        ds.PixelSpacing = ["0.5", "0.75"]  # row spacing, column spacing
        ds.SliceThickness = str(spacing)
        ds.RescaleSlope = str(slope)
        ds.RescaleIntercept = str(intercept)
        ds.set_pixel_data(slice_pixels(k, *size).astype(np.uint16), photometric, 16)
        if window is not None:
            ds.WindowCenter, ds.WindowWidth = window
        path = folder / f"IM{names[k]:05d}"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def write_multipage_tiff(path: Path, count: int, size: tuple[int, int] = (12, 16)) -> Path:
    """A TIFF of ``count`` uint16 pages, page ``k`` = :func:`slice_pixels(k)` (as uint16)."""
    with tifffile.TiffWriter(path) as tw:
        for k in range(count):
            tw.write(slice_pixels(k, *size).astype(np.uint16), photometric="minisblack")
    return path


def write_nifti(path: Path, data: np.ndarray, affine: np.ndarray | None = None) -> Path:
    """Save ``data`` (voxel order i, j, k) with ``affine`` (default 1 mm, RAS identity)."""
    image = nib.Nifti1Image(data, np.eye(4) if affine is None else affine)
    image.set_qform(image.affine, code=1)
    image.set_sform(image.affine, code=1)
    nib.save(image, path)
    return path


def index_pattern(index: int, height: int = 48, width: int = 96) -> np.ndarray:
    """``(H, W, 3)`` uint8 showing ``index`` as 12 bits, 16 x 16 blocks, 6 per row."""
    frame = np.zeros((height, width, 3), dtype=np.uint8)
    for bit in range(12):
        if index >> bit & 1:
            r, c = divmod(bit, 6)
            frame[r * 16 : (r + 1) * 16, c * 16 : (c + 1) * 16] = 255
    frame[32:, :] = (index * 37) % 200  # a grey band that changes too
    return frame


def read_index(frame: np.ndarray) -> int:
    """The index :func:`index_pattern` drew (centres of the blocks, thresholded)."""
    grey = frame[..., 0] if frame.ndim == 3 else frame
    value = 0
    for bit in range(12):
        r, c = divmod(bit, 6)
        if grey[r * 16 + 4 : (r + 1) * 16 - 4, c * 16 + 4 : (c + 1) * 16 - 4].mean() > 127:
            value |= 1 << bit
    return value


def write_video(path: Path, count: int, fourcc: str = "mp4v", size=(48, 96)) -> Path:
    """A 25 fps video of ``count`` :func:`index_pattern` frames."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 25, (size[1], size[0]))
    assert writer.isOpened(), f"OpenCV cannot write {fourcc} here"
    for k in range(count):
        writer.write(index_pattern(k, *size)[:, :, ::-1].copy())
    writer.release()
    return path


def write_png_frames(folder: Path, count: int, pattern: str = "frame_{}.png") -> list[Path]:
    """PNG frames named by ``pattern`` with unpadded numbers 1..count (frame_2 before
    frame_10 only by natural sort); frame ``k`` shows :func:`index_pattern(k)`."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(count):
        path = folder / pattern.format(k + 1)
        cv2.imwrite(str(path), index_pattern(k)[:, :, ::-1])
        paths.append(path)
    return paths
