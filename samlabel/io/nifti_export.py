"""A stack's labels as a NIfTI label map, on the source volume's own grid.

One file per stack of the document, ``<out>/<stack uri>-labels.nii.gz`` (a NIfTI or DICOM
source's folders mirrored), plus ``labels.json``, the legend. Voxel values:

- ``by="category"`` (default): 0 background, 1..N the N categories in list order, as the PNG
  export's semantic masks (``legend`` gives value, category id and name);
- ``by="track"``: each object (``track_id``) its own value, the track id itself; masks without
  a track id get values above the largest track id, one each (listed in the legend).

Where masks overlap, the one drawn later wins. The dtype is uint8 when every value fits, else
uint16 (more than 65535 values is refused).

Geometry, so that the map overlays its source in ITK-SNAP or 3D Slicer: for a NIfTI source the
labels are carried back to the file's voxel order and written with its affine (qform and sform
codes kept); for a DICOM series the grid is (column, row, slice) in anatomical order with the
affine from ImagePositionPatient/ImageOrientationPatient/PixelSpacing (RAS+, sform and qform
code 1, scanner). Stacks without a geometry (TIFF, video, frames) get 1 mm voxels: the
identity affine (code 2, aligned) on the (column, row, frame) grid.

Each file is written whole to a staging folder (:mod:`samlabel.io.export_staging`) with
:func:`samlabel.io.atomic.atomic_write_bytes`, and the folder is moved into place at the end:
a killed export leaves ``out`` as it was.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import nibabel as nib
import numpy as np

from samlabel.core.document import Document
from samlabel.core.errors import AnnotationFileError, ImageReadError
from samlabel.core.stack_frames import stack_frame, stack_images, track_id_of
from samlabel.io.atomic import atomic_write_bytes
from samlabel.io.export_staging import StagedExport
from samlabel.io.stacks import NiftiStack, Stack, open_stack

BY = ("category", "track")


@dataclass
class NiftiExportResult:
    """What was written: ``written`` label maps; ``skipped`` one sentence per stack left out."""

    out: Path
    written: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = f"Wrote {len(self.written)} NIfTI label maps in {self.out}."
        if not self.written and not self.skipped:
            text += " The annotations hold no frames of a volume or sequence."
        return " ".join([text, *self.skipped])


def _values(document: Document, by: str) -> tuple[dict[int, int], list[dict]]:
    """``{annotation id: voxel value}`` and the legend entries (without background)."""
    if by == "category":
        value_of = {c.id: n for n, c in enumerate(document.categories, start=1)}
        legend = [
            {"value": value_of[c.id], "category_id": c.id, "name": c.name}
            for c in document.categories
        ]
        return {a.id: value_of[a.category_id] for a in document.annotations}, legend
    tracks = sorted({t for t in map(track_id_of, document.annotations) if t is not None})
    next_value = max([0, *tracks]) + 1
    values, legend = {}, [{"value": t, "track_id": t} for t in tracks]
    for annotation in document.annotations:
        track = track_id_of(annotation)
        if track is None:
            values[annotation.id] = next_value
            legend.append({"value": next_value, "annotation_id": annotation.id})
            next_value += 1
        else:
            values[annotation.id] = track
    return values, legend


def label_volume(document: Document, uri: str, value_of: dict[int, int]) -> np.ndarray:
    """The stack's labels on the shown grid: ``(W, H, frames)`` (column, row, frame)."""
    images = stack_images(document, uri)
    first = stack_frame(images[0])
    height, width = images[0].size
    top = max(value_of.values(), default=0)
    if top > 65535:
        raise AnnotationFileError(f"{uri}: more than 65535 label values do not fit a NIfTI map.")
    volume = np.zeros((width, height, first.frames), dtype=np.uint8 if top <= 255 else np.uint16)
    for image in images:
        plane = volume[:, :, stack_frame(image).frame].T  # a (H, W) view
        for annotation in document.annotations_for_image(image.id):
            plane[annotation.rle.decode()] = value_of[annotation.id]
    return volume


def label_image(stack: Stack, shown: np.ndarray) -> nib.Nifti1Image:
    """The NIfTI image of a label volume on ``stack``'s shown grid (see the module docstring)."""
    if isinstance(stack, NiftiStack):
        image = nib.Nifti1Image(stack.to_source_grid(shown), stack.source_affine)
        header = stack.source_header
        if header["qform_code"] > 0:
            image.set_qform(*header.get_qform(coded=True))
        if header["sform_code"] > 0:
            image.set_sform(*header.get_sform(coded=True))
        image.header.set_xyzt_units(*header.get_xyzt_units())
        return image
    if stack.affine is None:
        # Code 2 ("aligned"), not 0: with 0 readers fall back to an Analyze-style affine that
        # flips x and centres the volume, and frames would not be where the export put them.
        image = nib.Nifti1Image(shown, np.eye(4))
        image.set_qform(np.eye(4), code=2)
        image.set_sform(np.eye(4), code=2)
        return image
    image = nib.Nifti1Image(shown, stack.affine)
    image.set_qform(stack.affine, code=1)
    image.set_sform(stack.affine, code=1)
    image.header.set_xyzt_units("mm")
    return image


def write_label_map(path: Path, image: nib.Nifti1Image) -> None:
    """Write ``image`` as ``.nii.gz`` (or ``.nii``) atomically: the old file or the new."""
    data = image.to_bytes()
    if path.name.endswith(".gz"):
        data = gzip.compress(data, compresslevel=6, mtime=0)
    atomic_write_bytes(path, data)


def _stack_uris(document: Document) -> list[str]:
    uris = []
    for image in document.images:
        where = stack_frame(image)
        if where is not None and where.uri not in uris:
            uris.append(where.uri)
    return uris


def _output_name(uri: str) -> PurePosixPath:
    parts = [p for p in PurePosixPath(uri).parts if p not in ("", ".", "..", "/")] or ["stack"]
    name = parts[-1]
    for suffix in (".nii.gz", ".nii"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return PurePosixPath(*parts[:-1], f"{name}-labels.nii.gz")


def export_nifti(
    document: Document, root: str | Path, out_dir: str | Path, by: str = "category"
) -> NiftiExportResult:
    """Write every stack's labels as a NIfTI label map in ``out_dir`` (module docstring).

    Args:
        root: the annotations file's folder; stack uris are relative to it. The source of
            each stack is opened (headers only) for its geometry.
        by: ``"category"`` or ``"track"``: what a voxel value stands for.

    A stack whose source is missing or now has another frame count or size is left out and
    named in the result's ``skipped``; nothing else is.
    """
    if by not in BY:
        raise ValueError(f"by must be one of {BY}, got {by!r}")
    out = Path(out_dir)
    value_of, legend = _values(document, by)
    result = NiftiExportResult(out)
    files: dict[str, str] = {}
    with StagedExport(out, "nifti") as staged:
        for uri in _stack_uris(document):
            images = stack_images(document, uri)
            recorded = (stack_frame(images[0]).frames, images[0].size)
            try:
                with open_stack(Path(root) / uri, root) as stack:
                    if (len(stack), stack.frame_size) != recorded:
                        frames, (h, w) = recorded
                        result.skipped.append(
                            f"{uri} was left out: it now has {len(stack)} frames of "
                            f"{stack.frame_size[1]}x{stack.frame_size[0]}, but was labelled "
                            f"with {frames} frames of {w}x{h}."
                        )
                        continue
                    image = label_image(stack, label_volume(document, uri, value_of))
            except ImageReadError as error:
                result.skipped.append(f"{uri} was left out: {error}")
                continue
            name = _output_name(uri)
            target = staged.stage / name
            target.parent.mkdir(parents=True, exist_ok=True)
            write_label_map(target, image)
            files[uri] = str(name)
            result.written.append(out / name)
        table = {"by": by, "legend": [{"value": 0, "name": "background"}, *legend], "files": files}
        atomic_write_bytes(staged.stage / "labels.json", json.dumps(table, indent=1).encode())
        staged.commit()
    return result
