"""Exports for training pipelines: per-image PNG label masks and YOLO segmentation labels.

Paths: an image ``sub/name.jpg`` gives ``sub/name.png`` / ``sub/name.txt`` under the export
folder, so images of different subfolders never collide.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

import cv2
import numpy as np

from samlabel.core.document import Document
from samlabel.core.errors import AnnotationFileError
from samlabel.core.model import ImageRecord
from samlabel.io.polygons import outer_polygons


def _relative_stem(image: ImageRecord, suffix: str) -> Path:
    rel = PurePosixPath(image.file_name.replace("\\", "/"))
    parts = [p for p in rel.parts if p not in ("", ".", "..", "/")]
    return Path(*parts).with_suffix(suffix)


def _write_png(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), array):
        raise AnnotationFileError(f"{path}: could not write the PNG label mask.", path)


def export_png_masks(document: Document, out_dir: str | Path) -> list[Path]:
    """Write two label images per image and the tables that explain their values.

    - ``instances/<stem>.png``: uint16, 0 = background, k = the image's k-th annotation in
      draw order (where annotations overlap, the one drawn later wins);
      ``instances.json`` maps ``file_name -> {k: annotation id}``.
    - ``semantic/<stem>.png``: 0 = background, else the category id (uint8 when every id
      is below 256, else uint16); ``categories.json`` lists ``{id: name}``.

    Returns the paths written.
    """
    out = Path(out_dir)
    max_category = max((c.id for c in document.categories), default=0)
    semantic_dtype = np.uint8 if max_category < 256 else np.uint16
    if max_category > 65535:
        raise AnnotationFileError(f"{out}: category ids above 65535 do not fit a PNG.", out)
    written: list[Path] = []
    mapping: dict[str, dict[int, int]] = {}
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
            semantic[mask] = annotation.category_id
        mapping[image.file_name] = {i: a.id for i, a in enumerate(annotations, start=1)}
        for kind, array in (("instances", instances), ("semantic", semantic)):
            path = out / kind / _relative_stem(image, ".png")
            _write_png(path, array)
            written.append(path)
    out.mkdir(parents=True, exist_ok=True)
    (out / "instances.json").write_text(json.dumps(mapping, indent=1), encoding="utf-8")
    names = {c.id: c.name for c in document.categories}
    (out / "categories.json").write_text(json.dumps(names, indent=1), encoding="utf-8")
    return written


def export_yolo(document: Document, out_dir: str | Path) -> list[Path]:
    """Write YOLO segmentation labels: ``labels/<stem>.txt`` per image, ``data.yaml``.

    Each line is ``class x1 y1 x2 y2 ...`` with coordinates divided by the image width and
    height (0..1, x right, y down); the class is the category's position in the category
    list (0-based), named in ``data.yaml``. A mask of several parts gives one line per part;
    YOLO polygons cannot hold holes, so holes are filled. Returns the label files written.
    """
    out = Path(out_dir)
    class_of = {c.id: n for n, c in enumerate(document.categories)}
    written: list[Path] = []
    for image in document.images:
        lines = []
        scale = np.array([image.width, image.height], dtype=np.float64)
        for annotation in document.annotations_for_image(image.id):
            for points in outer_polygons(annotation.rle.decode()):
                normalised = np.clip(points / scale, 0.0, 1.0).reshape(-1)
                coords = " ".join(f"{v:.6f}" for v in normalised)
                lines.append(f"{class_of[annotation.category_id]} {coords}")
        path = out / "labels" / _relative_stem(image, ".txt")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        written.append(path)
    out.mkdir(parents=True, exist_ok=True)
    names = "".join(f"  {n}: {json.dumps(c.name)}\n" for n, c in enumerate(document.categories))
    (out / "data.yaml").write_text(f"nc: {len(document.categories)}\nnames:\n{names}", "utf-8")
    return written
