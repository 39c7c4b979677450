"""A NIfTI volume (``.nii``, ``.nii.gz``) as a stack of axial slices, shown radiologically.

Whatever the file's voxel order, frames are axial slices from inferior to superior, each shown
as ITK-SNAP, 3D Slicer and DICOM viewers show an axial slice: anterior at the top, the
patient's right on the viewer's left. In nibabel's terms the frames are the volume reoriented
to the axis codes ``("L", "P", "S")`` (column, row, frame), taken from the file's affine
(``nibabel.orientations.io_orientation``); only the two or three flips and one transpose are
applied, never a resampling. ``affine`` is the file's affine carried to that grid, so labels
written back (:mod:`samlabel.io.nifti_export`) land on the source's own voxel grid.

Slices are read through nibabel's array proxy, by seeking (no memory map, whose pages would
count as resident): an uncompressed ``.nii`` reads only the slice's bytes. gzip has no index,
so reading slice k of a ``.nii.gz`` would decompress everything before it (0.4 s per slice of a
1,000-slice volume): a ``.nii.gz`` is decompressed once, in chunks, into a temporary ``.nii``
under the cache folder (``stacks/``), deleted when the stack is closed.

A 4-D file (a time series, e.g. fMRI) is refused with a sentence: which of its volumes to label
is the user's choice, not ours; a 4-D file whose fourth axis has length 1 is a 3-D volume.
"""

from __future__ import annotations

import contextlib
import gzip
import shutil
import tempfile
import weakref
from pathlib import Path

import nibabel as nib
import numpy as np
from nibabel import orientations

from samlabel.core.errors import ImageReadError
from samlabel.core.paths import cache_dir
from samlabel.io.images.model import normalize_dtype
from samlabel.io.stacks.base import Stack
from samlabel.io.stacks.cache import DEFAULT_BUDGET_BYTES

#: Axis codes of the shown grid: column to the patient's left, row posterior, frame superior.
SHOWN_AXCODES = ("L", "P", "S")

NIFTI_SUFFIXES = (".nii", ".nii.gz")


def is_nifti_name(path: Path) -> bool:
    name = path.name.lower()
    return any(name.endswith(suffix) for suffix in NIFTI_SUFFIXES)


def load_nifti(path: Path) -> nib.Nifti1Image:
    """The image with its array proxy (no voxel read); ImageReadError for a bad file."""
    try:
        image = nib.load(path, mmap=False)  # read slices by seeking: no mapped pages in RSS
    except FileNotFoundError:
        raise ImageReadError(f"Cannot open {path}: the file does not exist.", path) from None
    except Exception as err:  # nibabel's ImageFileError, gzip/EOF errors of damaged files
        raise ImageReadError(
            f"Cannot open {path}: it is not a readable NIfTI ({err}).", path
        ) from err
    if not isinstance(image, nib.Nifti1Image | nib.Nifti2Image):
        raise ImageReadError(f"Cannot open {path}: it is not a NIfTI volume.", path)
    return image


def _decompressed(path: Path) -> Path:
    """A temporary uncompressed copy of a ``.nii.gz`` (the caller deletes it)."""
    folder = cache_dir() / "stacks"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with (
            gzip.open(path, "rb") as source,
            tempfile.NamedTemporaryFile(dir=folder, suffix=".nii", delete=False) as copy,
        ):
            try:
                shutil.copyfileobj(source, copy, 4 * 1024 * 1024)
            except BaseException:
                copy.close()
                Path(copy.name).unlink(missing_ok=True)
                raise
    except FileNotFoundError:
        raise ImageReadError(f"Cannot open {path}: the file does not exist.", path) from None
    except (OSError, EOFError) as err:  # gzip.BadGzipFile is an OSError
        raise ImageReadError(
            f"Cannot open {path}: it is not a complete gzip-compressed NIfTI ({err}).", path
        ) from err
    return Path(copy.name)


def volume_shape(path: Path, image: nib.Nifti1Image) -> tuple[int, int, int]:
    """The 3-D shape of the file's voxels; refuses 2-D, 4-D and 5-D data with a sentence."""
    shape = tuple(int(n) for n in image.shape)
    while len(shape) > 3 and shape[-1] == 1:
        shape = shape[:-1]
    if len(shape) == 2:
        shape = (*shape, 1)
    if len(shape) != 3:
        raise ImageReadError(
            f"Cannot open {path}: it is a {len(shape)}-D NIfTI of shape "
            f"{'x'.join(map(str, shape))} (a time series or several volumes); save the "
            "volume to label as a 3-D file first.",
            path,
        )
    return shape  # type: ignore[return-value]


def to_shown(affine: np.ndarray) -> np.ndarray:
    """The nibabel orientation transform from the file's voxel axes to the shown grid."""
    return orientations.ornt_transform(
        orientations.io_orientation(affine), orientations.axcodes2ornt(SHOWN_AXCODES)
    )


class NiftiStack(Stack):
    """Frame ``k`` is the k-th axial slice from inferior; see the module docstring."""

    kind = "nifti"
    source_format = "NIfTI"

    def __init__(self, path: Path, uri: str, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        path = Path(path)
        # The header first: a 4-D file is refused before anything is decompressed.
        shape = volume_shape(path, load_nifti(path))
        self._copy: Path | None = None
        if path.name.lower().endswith(".gz"):
            self._copy = _decompressed(path)
            self._remove_copy = weakref.finalize(self, _unlink, self._copy)
        self._image = load_nifti(self._copy or path)
        self._shape = shape
        self._transform = to_shown(self._image.affine)
        # The file axis that becomes the frame axis, and whether it runs backwards.
        self._frame_axis = int(np.flatnonzero(self._transform[:, 0] == 2)[0])
        self._frame_flip = self._transform[self._frame_axis, 1] < 0
        shown = orientations.apply_orientation(np.empty(shape, dtype=np.bool_), self._transform)
        super().__init__(path, uri, shown.shape[2], budget_bytes)
        self.frame_size = (int(shown.shape[1]), int(shown.shape[0]))
        self.affine = self._image.affine @ orientations.inv_ornt_aff(self._transform, shape)
        zooms = np.sqrt((self.affine[:3, :3] ** 2).sum(axis=0))
        self.spacing = (float(zooms[0]), float(zooms[1]), float(zooms[2]))

    @property
    def source_affine(self) -> np.ndarray:
        """The file's own voxel-to-RAS affine."""
        return np.asarray(self._image.affine)

    @property
    def source_shape(self) -> tuple[int, int, int]:
        return self._shape

    @property
    def source_header(self) -> nib.Nifti1Header:
        return self._image.header

    def to_source_grid(self, shown: np.ndarray) -> np.ndarray:
        """A volume on the shown grid, ``(W, H, frames)`` (column, row, frame), carried to
        the file's own voxel order: labels written with :attr:`source_affine` then lie on
        the source's voxels exactly (only flips and a transpose, no resampling)."""
        back = orientations.ornt_transform(
            orientations.axcodes2ornt(SHOWN_AXCODES),
            orientations.io_orientation(self.source_affine),
        )
        return np.ascontiguousarray(orientations.apply_orientation(shown, back))

    def _read(self, index: int) -> np.ndarray:
        along = self._shape[self._frame_axis]
        at = along - 1 - index if self._frame_flip else index
        # One slab of the file, read through the proxy (with scl_slope/inter applied).
        slicer: list[slice] = [slice(None)] * 3
        slicer[self._frame_axis] = slice(at, at + 1)
        proxy = self._image.dataobj
        slab = np.asarray(proxy[tuple(slicer)] if len(proxy.shape) == 3 else self._slab4(slicer))
        slab = slab.reshape([1 if n == self._frame_axis else self._shape[n] for n in range(3)])
        shown = orientations.apply_orientation(slab, self._transform)  # (cols, rows, 1)
        return normalize_dtype(np.ascontiguousarray(shown[:, :, 0].T))

    def _slab4(self, slicer: list[slice]) -> np.ndarray:
        """A slab of a file stored with trailing length-1 axes (or a 2-D file)."""
        proxy = self._image.dataobj
        extra = len(proxy.shape) - 3
        if extra >= 0:
            return proxy[(*slicer, *([0] * extra))]
        return np.asarray(proxy)[..., None][tuple(slicer)]

    def close(self) -> None:
        super().close()
        if self._copy is not None:
            self._remove_copy()


def _unlink(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()
