"""File ▸ Export: the open document written as COCO polygons, PNG label masks or YOLO labels.

The exporters live in :mod:`samlabel.io`; this module picks one, runs it on the document as
it is now and says in one sentence what was written (or why not).
"""

from __future__ import annotations

from pathlib import Path

from samlabel.core.errors import SamlabelError
from samlabel.io.coco import save_coco
from samlabel.io.exporters import export_png_masks, export_yolo

#: Export kind -> what the File menu calls it.
EXPORT_KINDS = {
    "coco-polygons": "COCO with polygons",
    "png": "PNG label masks",
    "yolo": "YOLO segmentation labels",
}


def run_export(controller, kind: str, target: Path) -> tuple[bool, str]:
    """Export the controller's document into the folder ``target``.

    Returns ``(ok, message)``; the message names what was written or what failed.
    """
    document = controller.document
    try:
        if kind == "coco-polygons":
            out = target / "annotations_polygons.json"
            foreign = controller.store.store.foreign if controller.store is not None else None
            save_coco(document, out, foreign, polygons=True)
            return True, f"Exported {len(document.annotations)} annotations to {out}."
        if kind == "png":
            written = export_png_masks(document, target)
        elif kind == "yolo":
            written = export_yolo(document, target)
        else:
            raise ValueError(f"unknown export kind {kind!r}")
    except SamlabelError as error:
        return False, f"Export failed: {error}"
    except OSError as error:
        return False, f"Export to {target} failed: {error.strerror or error}."
    return True, f"Exported {EXPORT_KINDS[kind]}: {len(written)} files in {target}."
