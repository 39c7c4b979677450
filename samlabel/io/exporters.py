"""Exports for training pipelines: per-image PNG label masks and YOLO segmentation labels.

Paths: an image ``sub/name.jpg`` gives ``sub/name.png`` / ``sub/name.txt`` under the export
folder, so images of different subfolders never collide. A frame of a stack (file name
``ct/series1#012``, see :mod:`samlabel.core.stack_frames`) gives ``ct/series1/012.png``: one
folder per stack, one file per frame. Images of one folder that differ
only in their extension (``a.jpg``, ``a.png``) or in letter case would share a label file:
each of them then gets its full name, ``a.jpg.txt`` and ``a.png.txt`` (a number is added if
even that is taken), and :meth:`ExportResult.summary` says so. Nothing is ever overwritten
within one export.

Everything is written into a staging folder and moved into place at the end
(:mod:`samlabel.io.export_staging`): a killed export leaves the folder as it was.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

import cv2
import numpy as np

from samlabel.core.document import Document
from samlabel.core.errors import AnnotationFileError
from samlabel.core.model import ImageRecord
from samlabel.core.stack_frames import stack_frame
from samlabel.io.export_staging import StagedExport
from samlabel.io.image_record import stale_count
from samlabel.io.polygons import outer_polygons


@dataclass
class ExportResult:
    """What an export wrote.

    Attributes:
        out: the export folder.
        written: the label files written (final paths), one per image.
        renamed: ``file_name -> label file`` (relative to its kind's folder) for images
            whose plain label name another image of the same folder also needed.
        kept_aside: earlier files of the same names that no samlabel export had written,
            kept under a new name rather than replaced.
        stale: annotations set aside as stale (``samlabel_stale_annotations`` of an image
            record, drawn at a size the image no longer has): kept in the COCO file only.
    """

    out: Path
    written: list[Path] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)
    kept_aside: list[Path] = field(default_factory=list)
    stale: int = 0

    def __len__(self) -> int:
        return len(self.written)

    def __iter__(self):
        return iter(self.written)

    def summary(self) -> str:
        """One or two sentences for the user: what was written, and any name clashes."""
        text = f"Wrote {len(self.written)} label files in {self.out}."
        if self.renamed:
            pairs = ", ".join(f"{name} -> {label}" for name, label in self.renamed.items())
            text += (
                f" {len(self.renamed)} images share a name apart from the extension or case, "
                f"so their labels are named after the whole file name: {pairs}."
            )
        if self.stale:
            text += (
                f" {self.stale} annotations set aside as stale (their image changed size) "
                "were not exported."
            )
        if self.kept_aside:
            text += (
                " Files not written by samlabel were kept as "
                + ", ".join(p.name for p in self.kept_aside)
                + "."
            )
        return text


def _relative(image: ImageRecord) -> PurePosixPath:
    """The image's path below the export folder (no ``..``, no absolute part)."""
    rel = PurePosixPath(image.file_name.replace("\\", "/"))
    parts = [p for p in rel.parts if p not in ("", ".", "..", "/")]
    return PurePosixPath(*parts) if parts else PurePosixPath(f"image-{image.id}")


def _plain_label(image: ImageRecord, suffix: str) -> PurePosixPath:
    """``sub/name<suffix>``; for a stack frame ``<stack uri>/<padded frame><suffix>``."""
    where = stack_frame(image)
    if where is None:
        return _relative(image).with_suffix(suffix)
    folder = _relative(replace(image, file_name=where.uri))
    number = image.file_name.rpartition("#")[2]
    if not (number.isdigit() and int(number) == where.frame):
        number = f"{where.frame:0{max(3, len(str(where.frames - 1)))}d}"
    return folder / f"{number}{suffix}"


def label_names(
    images: Iterable[ImageRecord], suffix: str
) -> tuple[dict[int, str], dict[str, str]]:
    """``({image id: label path}, {file_name: label path of renamed ones})``.

    Paths are POSIX, relative; distinct even on case-insensitive filesystems.
    """
    images = list(images)
    plain = {i.id: _plain_label(i, suffix) for i in images}
    groups: dict[str, list[ImageRecord]] = {}
    for image in images:
        groups.setdefault(str(plain[image.id]).casefold(), []).append(image)
    names: dict[int, str] = {}
    renamed: dict[str, str] = {}
    used: set[str] = set()
    # Unclashed names first, so a renamed label never takes an unclashed image's name.
    for image in images:
        if len(groups[str(plain[image.id]).casefold()]) == 1:
            names[image.id] = str(plain[image.id])
            used.add(names[image.id].casefold())
    for image in images:
        if image.id in names:
            continue
        full = _relative(image)
        candidate, n = f"{full}{suffix}", 2
        while candidate.casefold() in used:
            candidate, n = f"{full}__{n}{suffix}", n + 1
        names[image.id] = candidate
        used.add(candidate.casefold())
        renamed[image.file_name] = candidate
    return names, renamed


def _write_png(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), array):  # OpenCV gives no reason (often a full disk)
        raise OSError(f"could not write the PNG label mask {path.name}")


def export_png_masks(document: Document, out_dir: str | Path) -> ExportResult:
    """Write two label images per image, and the tables that explain their values.

    - ``instances/<stem>.png``: uint16, 0 = background, k = the image's k-th annotation in
      draw order (where annotations overlap, the one drawn later wins);
      ``instances.json`` maps ``file_name -> {k: annotation id}``, ``files.json``
      ``file_name -> label path`` (below ``instances/`` and ``semantic/``).
    - ``semantic/<stem>.png``: 0 = background, 1..N = the N categories in list order
      (uint8 up to 255 categories, else uint16), whatever their ids (0 or negative ids
      included); ``legend.json`` lists ``{"value", "category_id", "name"}`` per value.
    """
    out = Path(out_dir)
    categories = document.categories
    if len(categories) > 65535:
        raise AnnotationFileError(f"{out}: more than 65535 categories do not fit a PNG.", out)
    value_of = {c.id: n for n, c in enumerate(categories, start=1)}
    semantic_dtype = np.uint8 if len(categories) <= 255 else np.uint16
    names, renamed = label_names(document.images, ".png")
    result = ExportResult(out, renamed=renamed, stale=stale_count(document))
    with StagedExport(out, "png") as staged:
        mapping: dict[str, dict] = {}
        for image in document.images:
            annotations = document.annotations_for_image(image.id)
            if len(annotations) > 65535:
                raise AnnotationFileError(
                    f"{out}: image {image.file_name} has more instances than a 16-bit PNG holds.",
                    out,
                )
            instances = np.zeros(image.size, dtype=np.uint16)
            semantic = np.zeros(image.size, dtype=semantic_dtype)
            for index, annotation in enumerate(annotations, start=1):
                mask = annotation.rle.decode()
                instances[mask] = index
                semantic[mask] = value_of[annotation.category_id]
            mapping[image.file_name] = {i: a.id for i, a in enumerate(annotations, start=1)}
            for kind, array in (("instances", instances), ("semantic", semantic)):
                _write_png(staged.stage / kind / names[image.id], array)
                result.written.append(out / kind / names[image.id])
        (staged.stage / "instances.json").write_text(json.dumps(mapping, indent=1), "utf-8")
        files = {i.file_name: names[i.id] for i in document.images}
        (staged.stage / "files.json").write_text(json.dumps(files, indent=1), "utf-8")
        legend = [{"value": 0, "category_id": None, "name": "background"}] + [
            {"value": value_of[c.id], "category_id": c.id, "name": c.name} for c in categories
        ]
        (staged.stage / "legend.json").write_text(json.dumps(legend, indent=1), "utf-8")
        staged.commit()
        result.kept_aside = staged.kept_aside
    return result


def export_yolo(document: Document, out_dir: str | Path) -> ExportResult:
    """Write YOLO segmentation labels: ``labels/<stem>.txt`` per image, ``data.yaml``.

    Each line is ``class x1 y1 x2 y2 ...`` with coordinates divided by the image width and
    height (0..1, x right, y down); the class is the category's position in the category
    list (0-based), named in ``data.yaml``. A mask of several parts gives one line per part;
    YOLO polygons cannot hold holes, so holes are filled.
    """
    out = Path(out_dir)
    class_of = {c.id: n for n, c in enumerate(document.categories)}
    names, renamed = label_names(document.images, ".txt")
    result = ExportResult(out, renamed=renamed, stale=stale_count(document))
    with StagedExport(out, "yolo") as staged:
        for image in document.images:
            lines = []
            scale = np.array([image.width, image.height], dtype=np.float64)
            for annotation in document.annotations_for_image(image.id):
                for points in outer_polygons(annotation.rle.decode()):
                    normalised = np.clip(points / scale, 0.0, 1.0).reshape(-1)
                    coords = " ".join(f"{v:.6f}" for v in normalised)
                    lines.append(f"{class_of[annotation.category_id]} {coords}")
            path = staged.stage / "labels" / names[image.id]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
            result.written.append(out / "labels" / names[image.id])
        names_yaml = "".join(
            f"  {n}: {json.dumps(c.name)}\n" for n, c in enumerate(document.categories)
        )
        (staged.stage / "data.yaml").write_text(
            f"nc: {len(document.categories)}\nnames:\n{names_yaml}", "utf-8"
        )
        staged.commit()
        result.kept_aside = staged.kept_aside
    return result
