"""Writing COCO instances JSON (see :mod:`samlabel.io.coco` for the format).

Masks are written as compressed RLE, or as polygons on request where polygons can represent
the mask (no holes; crowd annotations stay RLE); ``bbox`` is xywh and ``area`` the mask's
pixel count, both from the mask; annotations in draw order. Every value is checked to be
plain finite JSON before anything is written. :class:`CocoSerializer` serves repeated
autosaves: annotations are immutable, so each one is encoded once and reused.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from samlabel.core.document import Document
from samlabel.core.errors import AnnotationFileError
from samlabel.core.jsonsafe import check_json_safe
from samlabel.core.masks import decode_rle
from samlabel.core.model import Annotation
from samlabel.core.state import DocumentState
from samlabel.io.atomic import atomic_write_bytes
from samlabel.io.polygons import mask_to_polygons

#: Version of samlabel's fields in the file, "MAJOR.MINOR". A newer MAJOR opens read-only.
SCHEMA_VERSION = "1.0"
SCHEMA_MAJOR = 1

_SECTIONS = ("images", "categories", "annotations")

#: The key of ``foreign`` holding the annotations the file had that samlabel cannot read,
#: verbatim; they are written back after the others (a name no other top-level field of
#: ``foreign`` can have, since the file's own "annotations" are the document's).
UNREADABLE = "annotations"


def _segmentation(annotation: Annotation, polygons: bool) -> Any:
    if polygons and not annotation.iscrowd:
        outline = mask_to_polygons(decode_rle(annotation.rle))
        if outline is not None:
            return outline
    return annotation.rle.to_coco()


def coco_dict(
    state: DocumentState | Document,
    foreign: Mapping[str, Any] | None = None,
    polygons: bool = False,
) -> dict[str, Any]:
    """The COCO JSON object of a document state (foreign top-level keys first)."""
    if isinstance(state, Document):
        state = state.state
    data: dict[str, Any] = {k: v for k, v in (foreign or {}).items() if k not in _SECTIONS}
    info = data.get("info")
    info = dict(info) if isinstance(info, dict) else {}
    info["samlabel_schema_version"] = SCHEMA_VERSION
    data["info"] = info
    data["images"] = [
        {
            "id": i.id,
            "file_name": i.file_name,
            "width": i.width,
            "height": i.height,
            **i.extra,
            "samlabel_status": i.status.value,
        }
        for i in state.images
    ]
    data["categories"] = [
        {
            "id": c.id,
            "name": c.name,
            "supercategory": c.supercategory if c.supercategory is not None else "",
            **c.extra,
            "samlabel_color": c.color,
        }
        for c in state.categories
    ]
    data["annotations"] = [annotation_entry(a, polygons) for a in state.annotations]
    data["annotations"] += (foreign or {}).get(UNREADABLE, [])  # kept verbatim, after ours
    return data


def annotation_entry(a: Annotation, polygons: bool) -> dict[str, Any]:
    entry = {
        "id": a.id,
        "image_id": a.image_id,
        "category_id": a.category_id,
        "segmentation": _segmentation(a, polygons),
        "area": a.area,
        "bbox": list(a.bbox),
        "iscrowd": int(a.iscrowd),
        **a.extra,
    }
    for key, value in (
        ("samlabel_score", a.score),
        ("samlabel_prompts", a.prompts),
        ("samlabel_created", a.created),
    ):
        if value is not None:
            entry[key] = value
    return entry


def _checked_dumps(value: Any, where: str, path: str | Path) -> str:
    try:
        check_json_safe(value, where)
    except ValueError as error:
        raise AnnotationFileError(
            f"{path}: not saved, nothing was written: {error}.", path
        ) from None
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def dumps_coco(data: Mapping[str, Any], path: str | Path = "<memory>") -> bytes:
    """Serialise after checking every value is plain JSON (no NaN, inf or numpy scalars)."""
    return _checked_dumps(data, "", path).encode()


class CocoSerializer:
    """Serialises successive states of one document, encoding each annotation only once.

    An unchanged annotation is the same immutable object from one state to the next, so
    its JSON text is cached by identity; a save of 20,000 annotations then costs the few
    that changed plus a join. Not thread-safe: one saving thread at a time.
    """

    def __init__(self) -> None:
        self._cache: dict[int, tuple[Annotation, str]] = {}

    def dumps(
        self,
        state: DocumentState,
        foreign: Mapping[str, Any] | None = None,
        path: str | Path = "<memory>",
    ) -> bytes:
        """The same bytes as ``dumps_coco(coco_dict(state, foreign))`` (RLE masks)."""
        foreign = dict(foreign or {})
        kept = foreign.pop(UNREADABLE, [])
        head = _checked_dumps(coco_dict(replace(state, annotations=()), foreign), "", path)
        tail = '"annotations":[]}'
        if not head.endswith(tail):  # coco_dict puts the annotations last
            raise AssertionError("unexpected COCO layout")
        cache: dict[int, tuple[Annotation, str]] = {}
        parts = []
        for n, annotation in enumerate(state.annotations):
            hit = self._cache.get(id(annotation))
            if hit is not None and hit[0] is annotation:
                text = hit[1]
            else:
                text = _checked_dumps(
                    annotation_entry(annotation, False), f"annotations[{n}]", path
                )
            cache[id(annotation)] = (annotation, text)  # holding it keeps its id unique
            parts.append(text)
        self._cache = cache
        n = len(state.annotations)
        parts += (_checked_dumps(e, f"annotations[{n + k}]", path) for k, e in enumerate(kept))
        body = head[: -len(tail)] + '"annotations":[' + ",".join(parts) + "]}"
        return body.encode()


def save_coco(
    document: Document | DocumentState,
    path: str | Path,
    foreign: Mapping[str, Any] | None = None,
    polygons: bool = False,
    backup: bool = False,
) -> None:
    """Write a document atomically as COCO JSON (RLE masks, or polygons where possible).

    With ``backup`` the file being replaced is kept as ``<name>.bak``.
    """
    data = coco_dict(document, foreign, polygons)
    atomic_write_bytes(Path(path), dumps_coco(data, path), backup=backup)


def save_state(
    serializer: CocoSerializer,
    state: DocumentState,
    path: str | Path,
    foreign: Mapping[str, Any] | None = None,
    backup: bool = True,
) -> None:
    """Atomic save of a state through a :class:`CocoSerializer` (RLE masks)."""
    atomic_write_bytes(Path(path), serializer.dumps(state, foreign, path), backup=backup)
