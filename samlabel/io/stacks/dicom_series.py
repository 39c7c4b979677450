"""A folder of single-frame DICOM files as one volume, in anatomical order.

Slices are ordered by their position along the slice normal: ImagePositionPatient projected on
the cross product of the two ImageOrientationPatient direction cosines; ties (and files without
a position) by InstanceNumber; never by file name, which CD exports and anonymisers scramble.
A folder holding several series (SeriesInstanceUID) shows the one with most slices and says so
in ``notes``; slices of another size are left out and named; a gap in the slice positions
(missing files) is reported but the slices that are there stay usable.

Pixel values are modality units (CT: Hounsfield), read through
:mod:`samlabel.io.images.dicom_reader` with its rescale and MONOCHROME1 rules. The affine maps
``(column, row, slice)`` to RAS+ millimetres (DICOM's LPS with x and y negated).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom

from samlabel.core.errors import ImageReadError
from samlabel.core.windowing import Window
from samlabel.io.images import dicom_reader, read_image
from samlabel.io.images.sniff import DICOM_EXTENSIONS, format_from_header, read_header
from samlabel.io.stacks.base import Stack
from samlabel.io.stacks.cache import DEFAULT_BUDGET_BYTES

#: A gap between slice positions this many times the typical spacing means missing slices.
_GAP_FACTOR = 1.5


@dataclass(frozen=True)
class _Slice:
    path: Path
    series: str
    size: tuple[int, int]
    position: np.ndarray | None  # ImagePositionPatient (LPS mm)
    orientation: np.ndarray | None  # ImageOrientationPatient (6 direction cosines)
    instance: int
    spacing: tuple[float, float] | None  # PixelSpacing (row spacing, column spacing)
    rescaled: bool
    photometric: str
    thickness: float


def dicom_files(folder: Path) -> list[Path]:
    """Non-hidden files of ``folder`` that are DICOM (by content or a .dcm extension)."""
    found = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or not path.is_file():
            continue
        try:
            if format_from_header(read_header(path)) == "DICOM":
                found.append(path)
                continue
        except OSError:
            continue
        if path.suffix.lower() in DICOM_EXTENSIONS:
            found.append(path)
    return found


def _floats(value: object, count: int) -> np.ndarray | None:
    try:
        numbers = np.array([float(v) for v in value], dtype=np.float64)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        return None
    return numbers if numbers.shape == (count,) and np.isfinite(numbers).all() else None


def _thickness(ds: pydicom.Dataset) -> float:
    """SliceThickness in mm (the step of a one-slice series); 1 when absent or unusable."""
    value = _floats([ds.get("SliceThickness") or 1.0], 1)
    return float(value[0]) if value is not None and value[0] > 0 else 1.0


def _read_slice(path: Path) -> _Slice | None:
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
        rows, cols = int(ds.Rows), int(ds.Columns)
    except Exception:  # not an image, or a damaged header: not a slice of this volume
        return None
    try:
        instance = int(ds.get("InstanceNumber", 0) or 0)
    except (TypeError, ValueError):
        instance = 0
    spacing = _floats(ds.get("PixelSpacing"), 2)
    slope, intercept = dicom_reader._rescale(ds, 0)
    return _Slice(
        path=path,
        series=str(ds.get("SeriesInstanceUID", "")),
        size=(rows, cols),
        position=_floats(ds.get("ImagePositionPatient"), 3),
        orientation=_floats(ds.get("ImageOrientationPatient"), 6),
        instance=instance,
        spacing=None if spacing is None else (float(spacing[0]), float(spacing[1])),
        rescaled=(slope, intercept) != (1.0, 0.0),
        photometric=str(ds.get("PhotometricInterpretation", "")).strip(),
        thickness=_thickness(ds),
    )


def _majority(values: list) -> object:
    """The most frequent value; ties go to the largest, so the choice is always the same."""
    return max(set(values), key=lambda v: (values.count(v), v))


class DicomSeries(Stack):
    """One DICOM series of a folder; frame ``k`` is the k-th slice along the slice normal."""

    kind = "dicom-series"
    source_format = "DICOM"

    def __init__(self, folder: Path, uri: str, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        folder = Path(folder)
        slices = [s for s in map(_read_slice, dicom_files(folder)) if s is not None]
        if not slices:
            raise ImageReadError(f"Cannot open {folder}: it holds no DICOM image.", folder)
        notes: list[str] = []
        series = [s.series for s in slices]
        chosen = str(_majority(series))
        if len(set(series)) > 1:
            notes.append(
                f"{folder} holds {len(set(series))} DICOM series; showing series {chosen} "
                f"({series.count(chosen)} of {len(slices)} files), the others are left out."
            )
        slices = [s for s in slices if s.series == chosen]
        size = _majority([s.size for s in slices])
        odd = [s for s in slices if s.size != size]
        if odd:
            names = ", ".join(s.path.name for s in odd[:5]) + (" ..." if len(odd) > 5 else "")
            notes.append(
                f"{folder}: {len(odd)} slice(s) are not {size[1]}x{size[0]} pixels like the "
                f"rest and are left out ({names})."
            )
            slices = [s for s in slices if s.size == size]
        self._slices, positions = self._ordered(folder, slices, notes)
        super().__init__(folder, uri, len(self._slices), budget_bytes)
        self.frame_size = size
        self.notes = notes
        # Headers are not kept (a 1,000-slice series would hold ~20 MB of them).
        self.inverted = self._slices[0].photometric == "MONOCHROME1"
        self._float = any(s.rescaled for s in self._slices)
        self.affine, self.spacing = self._geometry(positions)

    def _ordered(
        self, folder: Path, slices: list[_Slice], notes: list[str]
    ) -> tuple[list[_Slice], np.ndarray | None]:
        """Slices in anatomical order, and their positions along the normal (or None)."""
        orientation = slices[0].orientation
        placed = orientation is not None and all(
            s.position is not None
            and s.orientation is not None
            and np.allclose(s.orientation, orientation, atol=1e-3)
            for s in slices
        )
        if not placed:
            notes.append(
                f"{folder}: the slices lack a common ImagePositionPatient/"
                "ImageOrientationPatient, so they are ordered by InstanceNumber."
            )
            return sorted(slices, key=lambda s: (s.instance, s.path.name)), None
        normal = np.cross(orientation[:3], orientation[3:])
        along = {id(s): float(np.dot(s.position, normal)) for s in slices}
        ordered = sorted(slices, key=lambda s: (along[id(s)], s.instance, s.path.name))
        positions = np.array([along[id(s)] for s in ordered])
        steps = np.diff(positions)
        if len(steps) and np.any(steps < 1e-4):
            notes.append(f"{folder}: some slices share a position (duplicates or two scans).")
        typical = float(np.median(steps)) if len(steps) else 0.0
        if typical > 0 and np.any(steps > _GAP_FACTOR * typical):
            at = int(np.argmax(steps > _GAP_FACTOR * typical))
            missing = round(float(steps[at]) / typical) - 1
            notes.append(
                f"{folder}: about {missing} slice(s) are missing between positions "
                f"{positions[at]:.1f} mm and {positions[at + 1]:.1f} mm; the others are shown."
            )
        return ordered, positions

    def _geometry(
        self, positions: np.ndarray | None
    ) -> tuple[np.ndarray | None, tuple[float, float, float] | None]:
        first = self._slices[0]
        if positions is None or first.orientation is None or first.spacing is None:
            return None, None
        row_mm, col_mm = first.spacing
        across, down = first.orientation[:3], first.orientation[3:]
        if len(self._slices) > 1:
            step = (self._slices[-1].position - first.position) / (len(self._slices) - 1)
        else:
            step = np.cross(across, down) * first.thickness
        lps = np.eye(4)
        lps[:3, 0] = across * col_mm  # next column
        lps[:3, 1] = down * row_mm  # next row
        lps[:3, 2] = step  # next slice
        lps[:3, 3] = first.position
        affine = np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps  # LPS -> RAS
        return affine, (col_mm, row_mm, float(np.linalg.norm(step)))

    def slice_path(self, index: int) -> Path:
        """The file of frame ``index``."""
        return self._slices[self._checked(index)].path

    def frame_file(self, index: int) -> tuple[Path, int]:
        return self.slice_path(index), 0

    def _read(self, index: int) -> np.ndarray:
        # Through the image reader: a damaged slice's message names that slice's file.
        pixels = read_image(self._slices[index].path).pixels
        # One dtype per volume: slices with another rescale would otherwise mix uint16/float32.
        return pixels.astype(np.float32) if self._float and pixels.dtype != np.float32 else pixels

    def _file_window(self) -> Window | None:
        middle = self._slices[len(self._slices) // 2].path
        try:
            header = pydicom.dcmread(middle, stop_before_pixels=True, force=True)
        except Exception:  # vanished or damaged since it was opened: choose a window instead
            return None
        return dicom_reader._file_window(header, 0)
