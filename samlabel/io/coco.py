"""COCO instances JSON: samlabel's native annotations file.

Reading accepts any valid COCO instances file: RLE with compressed (string) or uncompressed
(list) counts, polygons, ``iscrowd`` 0/1. Whatever samlabel does not interpret (top-level
keys such as ``info`` and ``licenses``, extra keys on images, categories and annotations) is
kept and written back unchanged. samlabel's own fields are prefixed ``samlabel_``:
``images[].samlabel_status``, ``categories[].samlabel_color``,
``annotations[].samlabel_score / samlabel_prompts / samlabel_created`` and
``info.samlabel_schema_version``.

An unreadable annotation (a segmentation of the wrong type, a string ``bbox``, ...) fails
the file, except with ``keep_unreadable`` (editing): it is kept verbatim in
``foreign[UNREADABLE]``, written back at every save; ``LoadedCoco.unreadable`` says why.

Writing stores masks as compressed RLE, or as polygons on request where polygons can
represent the mask (no holes); ``bbox`` is xywh and ``area`` the mask's pixel count, both
computed from the mask. The annotations are written in draw order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from samlabel.core.document import Document
from samlabel.core.errors import AnnotationFileError
from samlabel.core.masks import Rle, rle_from_counts, rle_size_problem, scan_rles
from samlabel.core.model import (
    PALETTE,
    Annotation,
    Category,
    ImageRecord,
    ImageStatus,
    normalize_color,
)
from samlabel.core.state import DocumentState
from samlabel.io.coco_write import (
    _SECTIONS,
    SCHEMA_MAJOR,
    SCHEMA_VERSION,
    UNREADABLE,
    CocoSerializer,
    coco_dict,
    dumps_coco,
    save_coco,
)
from samlabel.io.polygons import polygons_to_rle

__all__ = [
    "SCHEMA_MAJOR",
    "SCHEMA_VERSION",
    "UNREADABLE",
    "CocoSerializer",
    "LoadedCoco",
    "coco_dict",
    "dumps_coco",
    "load_coco",
    "loads_coco",
    "parse_coco",
    "save_coco",
]

_IMAGE_KEYS = {"id", "file_name", "width", "height", "samlabel_status"}
_CATEGORY_KEYS = {"id", "name", "supercategory", "samlabel_color"}
_ANNOTATION_KEYS = {
    "id",
    "image_id",
    "category_id",
    "segmentation",
    "area",
    "bbox",
    "iscrowd",
    "samlabel_score",
    "samlabel_prompts",
    "samlabel_created",
}


@dataclass
class LoadedCoco:
    """A parsed annotations file.

    Attributes:
        document: the document, with an empty history.
        foreign: top-level keys other than images/categories/annotations (``info``,
            ``licenses``, ...), to be written back.
        schema_version: ``(major, minor)`` recorded in the file, None for files from other
            tools.
        unreadable: why each annotation kept verbatim in ``foreign[UNREADABLE]`` could not
            be read, in the same order (read with ``keep_unreadable`` only).
        encoding: the text encoding of the bytes read (a save writes UTF-8 without a BOM).
    """

    document: Document
    foreign: dict[str, Any] = field(default_factory=dict)
    schema_version: tuple[int, int] | None = None
    unreadable: tuple[str, ...] = ()
    encoding: str = "utf-8"


class _Problem(Exception):
    """A defect in the file; turned into an AnnotationFileError naming the file."""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _get(entry: Any, key: str, check, what: str, where: str) -> Any:
    if not isinstance(entry, dict):
        raise _Problem(f"{where} is not a JSON object")
    if key not in entry:
        raise _Problem(f"{where} has no {key!r}")
    value = entry[key]
    if not check(value):
        raise _Problem(f"{where} has {key!r} = {value!r}, which is not {what}")
    return value


def _extra(entry: dict, known: set[str]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k not in known}


def _parse_schema_version(info: Any) -> tuple[int, int] | None:
    if not isinstance(info, dict) or "samlabel_schema_version" not in info:
        return None
    text = str(info["samlabel_schema_version"])
    try:
        major, minor = (int(part) for part in [*text.split("."), "0"][:2])
    except ValueError:
        raise _Problem(f"info.samlabel_schema_version {text!r} is not MAJOR.MINOR") from None
    return (major, minor)


def _unique_id(entry: Any, kind: str, section: str, n: int, seen: set[int]) -> tuple[int, str]:
    """The id of ``section[n]`` (added to ``seen``) and how errors name the entry."""
    record_id = _get(entry, "id", _is_int, "an integer", f"{section}[{n}]")
    if record_id in seen:
        raise _Problem(f"{kind} id {record_id} appears more than once")
    seen.add(record_id)
    return record_id, f"{kind} {record_id} ({section}[{n}])"


def _parse_images(entries: list) -> tuple[ImageRecord, ...]:
    images, seen = [], set()
    for n, entry in enumerate(entries):
        image_id, where = _unique_id(entry, "image", "images", n, seen)
        file_name = _get(entry, "file_name", lambda v: isinstance(v, str) and v, "a name", where)
        width = _get(entry, "width", lambda v: _is_int(v) and v > 0, "a positive integer", where)
        height = _get(entry, "height", lambda v: _is_int(v) and v > 0, "a positive integer", where)
        try:
            status = ImageStatus(entry.get("samlabel_status", ImageStatus.UNLABELLED.value))
        except ValueError:
            raise _Problem(f"{where} has an unknown samlabel_status") from None
        extra = _extra(entry, _IMAGE_KEYS)
        images.append(ImageRecord(image_id, file_name, width, height, status, extra))
    return tuple(images)


def _parse_categories(entries: list) -> tuple[Category, ...]:
    categories, seen = [], set()
    for n, entry in enumerate(entries):
        where = f"categories[{n}]"
        category_id = _get(entry, "id", _is_int, "an integer", where)
        if category_id in seen:
            raise _Problem(f"category id {category_id} appears more than once")
        seen.add(category_id)
        name = _get(entry, "name", lambda v: isinstance(v, str), "a string", where)
        try:
            color = normalize_color(entry["samlabel_color"])
        except (KeyError, ValueError):  # absent (another tool's file) or unusable
            color = PALETTE[n % len(PALETTE)]
        supercategory = entry.get("supercategory")
        if supercategory is not None and not isinstance(supercategory, str):
            raise _Problem(f"{where} has a supercategory that is not a string")
        extra = _extra(entry, _CATEGORY_KEYS)
        categories.append(Category(category_id, name, color, supercategory or None, extra))
    return tuple(categories)


def _parse_segmentation(seg: Any, image: ImageRecord, where: str) -> Rle:
    height, width = image.height, image.width
    # Before anything is decoded: pycocotools computes in uint32 and would overflow.
    too_big = rle_size_problem(height, width)
    if too_big is not None:
        raise _Problem(f"{where} cannot be read: its image {image.file_name!r} of {too_big}")
    if isinstance(seg, dict):
        size = seg.get("size")
        counts = seg.get("counts")
        if not (isinstance(size, list) and len(size) == 2 and all(_is_int(v) for v in size)):
            raise _Problem(f"{where} has an RLE without a valid 'size' [H, W]")
        if tuple(size) != (height, width):
            raise _Problem(
                f"{where} has an RLE of size {size[0]}x{size[1]} (HxW) but its image "
                f"{image.file_name!r} is {height}x{width}"
            )
        if isinstance(counts, str):
            # Checked later, all strings at once (pycocotools would accept a wrong size).
            try:
                return Rle((height, width), counts.encode("ascii"))
            except UnicodeEncodeError:
                raise _Problem(f"{where} has RLE counts with non-ASCII characters") from None
        if isinstance(counts, list) and all(_is_int(v) for v in counts):
            try:
                return rle_from_counts(counts, height, width)
            except ValueError as error:
                raise _Problem(f"{where} has a broken RLE: {error}") from None
        raise _Problem(f"{where} has RLE counts that are neither a string nor integers")
    if isinstance(seg, list) and seg:
        for k, polygon in enumerate(seg):
            if not isinstance(polygon, list) or not all(_is_number(v) for v in polygon):
                raise _Problem(f"{where} has a polygon {k} that is not a list of numbers")
            if len(polygon) < 6 or len(polygon) % 2:
                raise _Problem(
                    f"{where} has a polygon {k} with {len(polygon)} coordinates; a polygon "
                    "needs at least 3 (x, y) points"
                )
            if not all(abs(v) < float("inf") for v in polygon):  # also rejects NaN
                raise _Problem(f"{where} has a polygon {k} with a non-finite coordinate")
        return polygons_to_rle(seg, height, width)
    raise _Problem(f"{where} has no usable segmentation (RLE or polygons)")


def _bbox_problem(entry: dict, where: str) -> None:
    """A ``bbox`` or ``area`` that is there but not numbers: the entry is not what it says."""
    bbox, area = entry.get("bbox"), entry.get("area")
    if bbox is not None and not (
        isinstance(bbox, list) and len(bbox) == 4 and all(_is_number(v) for v in bbox)
    ):
        raise _Problem(f"{where} has a bbox {bbox!r} that is not four numbers")
    if area is not None and not _is_number(area):
        raise _Problem(f"{where} has an area {area!r} that is not a number")


def _parse_annotation(
    entry: Any,
    n: int,
    images: dict[int, ImageRecord],
    categories: dict[int, Category],
    seen: set[int],
) -> tuple[Rle, str, dict[str, Any]]:
    """The RLE, where it is named in errors, and the other fields of ``annotations[n]``."""
    annotation_id, where = _unique_id(entry, "annotation", "annotations", n, seen)
    image_id = _get(entry, "image_id", _is_int, "an integer", where)
    category_id = _get(entry, "category_id", _is_int, "an integer", where)
    if image_id not in images:
        raise _Problem(f"{where} points at image id {image_id}, which is not in 'images'")
    if category_id not in categories:
        raise _Problem(f"{where} points at category id {category_id}, which is not in 'categories'")
    rle = _parse_segmentation(entry.get("segmentation"), images[image_id], where)
    iscrowd = entry.get("iscrowd", 0)
    if iscrowd not in (0, 1) or isinstance(iscrowd, float):
        raise _Problem(f"{where} has iscrowd = {iscrowd!r}; it must be 0 or 1")
    _bbox_problem(entry, where)
    score = entry.get("samlabel_score")
    if score is not None and not (_is_number(score) and abs(score) < float("inf")):
        raise _Problem(f"{where} has a samlabel_score that is not a finite number")
    prompts = entry.get("samlabel_prompts")
    if prompts is not None and not isinstance(prompts, dict):
        raise _Problem(f"{where} has samlabel_prompts that are not an object")
    created = entry.get("samlabel_created")
    fields = {
        "id": annotation_id,
        "image_id": image_id,
        "category_id": category_id,
        "score": None if score is None else float(score),
        "prompts": prompts,
        "created": created if isinstance(created, str) else None,
        "iscrowd": bool(iscrowd),
        "extra": _extra(entry, _ANNOTATION_KEYS),
    }
    return rle, where, fields


def _parse_annotations(
    entries: list,
    images: dict[int, ImageRecord],
    categories: dict[int, Category],
    keep_unreadable: bool,
) -> tuple[tuple[Annotation, ...], list[tuple[Any, str]]]:
    """The annotations read, and (with ``keep_unreadable``) each entry that could not be
    read with why, in file order; without it the first defect raises."""
    seen: set[int] = set()
    read: list[tuple[Any, Rle, str, dict[str, Any]]] = []
    unreadable: list[tuple[int, Any, str]] = []
    for n, entry in enumerate(entries):
        try:
            read.append((n, *_parse_annotation(entry, n, images, categories, seen)))
        except _Problem as problem:
            if not keep_unreadable:
                raise
            unreadable.append((n, entry, str(problem)))
    scan = scan_rles([rle for _, rle, _, _ in read])
    broken = set(scan.invalid)
    for k in scan.invalid:
        n, rle, where, _ = read[k]
        height, width = rle.size
        problem = f"{where} has a broken RLE: its counts do not describe a {height}x{width} mask"
        if not keep_unreadable:
            raise _Problem(problem)
        unreadable.append((n, entries[n], problem))
    annotations = tuple(
        Annotation(rle=rle, area=area, bbox=box, **f)
        for k, ((_, rle, _, f), area, box) in enumerate(
            zip(read, scan.areas, scan.bboxes, strict=True)
        )
        if k not in broken
    )
    return annotations, [(entry, why) for _, entry, why in sorted(unreadable, key=lambda u: u[0])]


def parse_coco(
    data: Any, path: str | Path = "<memory>", keep_unreadable: bool = False
) -> LoadedCoco:
    """Build a document from parsed COCO JSON; AnnotationFileError names any defect (with
    ``keep_unreadable`` an unreadable annotation is kept verbatim instead, see the module
    docstring)."""
    try:
        if not isinstance(data, dict):
            raise _Problem("the top level is not a JSON object")
        sections = {}
        for key in _SECTIONS:
            value = data.get(key, [])
            if not isinstance(value, list):
                raise _Problem(f"{key!r} is not a list")
            sections[key] = value
        images = _parse_images(sections["images"])
        categories = _parse_categories(sections["categories"])
        annotations, unreadable = _parse_annotations(
            sections["annotations"],
            {i.id: i for i in images},
            {c.id: c for c in categories},
            keep_unreadable,
        )
        foreign = {k: v for k, v in data.items() if k not in _SECTIONS}
        version = _parse_schema_version(foreign.get("info"))
    except _Problem as problem:
        raise AnnotationFileError(f"{path}: {problem}.", path) from None
    if unreadable:
        foreign[UNREADABLE] = [entry for entry, _ in unreadable]
    # New annotations never take an id an unreadable one still has in the file.
    kept_ids = [e["id"] for e, _ in unreadable if isinstance(e, dict) and _is_int(e.get("id"))]
    state = DocumentState(
        images=images,
        categories=categories,
        annotations=annotations,
        next_image_id=max((i.id for i in images), default=0) + 1,
        next_category_id=max((c.id for c in categories), default=0) + 1,
        next_annotation_id=max([*(a.id for a in annotations), *kept_ids], default=0) + 1,
    )
    return LoadedCoco(Document(state), foreign, version, tuple(why for _, why in unreadable))


def _reject_constant(token: str) -> Any:
    # Python's json reads NaN/Infinity although JSON has no such values; a file holding them
    # would load but could never be saved again, so refuse it up front.
    raise _Problem(f"holds {token}, which is not a valid JSON number")


def load_coco(path: str | Path) -> LoadedCoco:
    """Read an annotations file; AnnotationFileError names the file and what is wrong."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise AnnotationFileError(f"{path}: no such annotations file.", path) from None
    except OSError as error:
        raise AnnotationFileError(f"{path}: cannot be read ({error.strerror}).", path) from None
    return loads_coco(raw, path)


def loads_coco(
    raw: bytes, path: str | Path = "<memory>", keep_unreadable: bool = False
) -> LoadedCoco:
    """Parse the bytes of an annotations file read from ``path`` (named in errors;
    ``keep_unreadable``: see :func:`parse_coco`)."""
    try:
        data = json.loads(raw, parse_constant=_reject_constant)
    except _Problem as problem:
        raise AnnotationFileError(f"{path}: {problem}.", path) from None
    except UnicodeDecodeError:
        raise AnnotationFileError(f"{path}: is not UTF-8 text.", path) from None
    except RecursionError:
        raise AnnotationFileError(
            f"{path}: nests lists or objects too deeply to be read as COCO.", path
        ) from None
    except json.JSONDecodeError as error:
        raise AnnotationFileError(
            f"{path}: is not valid JSON (line {error.lineno}, column {error.colno}: "
            f"{error.msg}); it may be truncated.",
            path,
        ) from None
    return replace(parse_coco(data, path, keep_unreadable), encoding=json.detect_encoding(raw))
