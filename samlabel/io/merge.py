"""Three-way merge of an annotations file changed by another program while we edited it.

``base`` is what we last read or wrote, ``theirs`` the file as it is now, ``ours`` the open
document. Records are matched by id (images also by ``file_name``, categories added on both
sides also by name):

- a record changed on one side only takes that side's version; deleted on one side and
  unchanged on the other, it is deleted;
- images and categories changed on both sides merge field by field (status on one side, an
  extra field on the other); annotations changed differently on both sides, or changed on
  one side and deleted on the other, are a conflict;
- records added on our side whose id the other program used meanwhile are renumbered (the
  summary lists them), and our annotations follow their renumbered image or category;
- top-level fields (``info``, ``licenses``, ...) merge key by key the same way.

A conflict returns :class:`MergeConflict`; nothing is merged then.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, TypeVar

from samlabel.core.model import Annotation, Category, ImageRecord
from samlabel.core.state import DocumentState
from samlabel.io.coco_write import UNREADABLE, annotation_entry

_MISSING: Any = object()
R = TypeVar("R", ImageRecord, Category, Annotation)


@dataclass(frozen=True)
class CocoSnapshot:
    """A document state with the top-level fields written beside it."""

    state: DocumentState
    foreign: Mapping[str, Any]


@dataclass(frozen=True)
class MergeSummary:
    """What a merge kept from the other program and what of ours it renumbered.

    ``renumbered`` maps a kind (``"image"``, ``"category"``, ``"annotation"``) to
    ``{our old id: new id}``.
    """

    theirs_added: dict[str, list[int]] = field(default_factory=dict)
    theirs_changed: dict[str, list[int]] = field(default_factory=dict)
    theirs_removed: dict[str, list[int]] = field(default_factory=dict)
    theirs_fields: list[str] = field(default_factory=list)
    renumbered: dict[str, dict[int, int]] = field(default_factory=dict)

    def describe(self) -> str:
        """One sentence: what was kept and what was renumbered."""
        parts = []
        for label, table in (
            ("added", self.theirs_added),
            ("changed", self.theirs_changed),
            ("removed", self.theirs_removed),
        ):
            items = [
                f"{len(ids)} {kind}{'s' if len(ids) > 1 else ''}" for kind, ids in table.items()
            ]
            if items:
                parts.append(f"{label} {', '.join(items)}")
        fields = [f for f in self.theirs_fields if f != UNREADABLE]
        if fields:
            parts.append(f"changed the field{'s' if len(fields) > 1 else ''} " + ", ".join(fields))
        if UNREADABLE in self.theirs_fields:
            parts.append("changed the annotations samlabel cannot read (kept as they are)")
        text = "its changes are kept (" + ("; ".join(parts) or "none") + ")"
        moved = [
            f"{kind} {old} is now {new}"
            for kind, table in self.renumbered.items()
            for old, new in table.items()
        ]
        if moved:
            text += "; ours were renumbered where the ids were taken: " + ", ".join(moved)
        return text


@dataclass(frozen=True)
class MergeConflict:
    """Why the two versions cannot be merged: one sentence per conflicting record."""

    reasons: list[str]

    def describe(self) -> str:
        shown = "; ".join(self.reasons[:3])
        more = len(self.reasons) - 3
        return shown + (f" (and {more} more)" if more > 0 else "")


@dataclass(frozen=True)
class MergeResult:
    snapshot: CocoSnapshot
    summary: MergeSummary


def _strip_version(foreign: Mapping[str, Any]) -> dict[str, Any]:
    """Top-level fields without samlabel's schema version (rewritten at every save)."""
    out = dict(foreign)
    info = out.get("info")
    if isinstance(info, dict) and "samlabel_schema_version" in info:
        out["info"] = {k: v for k, v in info.items() if k != "samlabel_schema_version"}
    return out


def _as_json(record: Any) -> str:
    """A record as the file would hold it (tuples and lists alike), for comparison."""
    value = annotation_entry(record, False) if isinstance(record, Annotation) else asdict(record)
    return json.dumps(value, sort_keys=True, default=str)


def _same(a: R | None, b: R | None) -> bool:
    """Equal records, or records the file cannot tell apart (a tuple read back as a list)."""
    if a == b:
        return True
    if a is None or b is None or type(a) is not type(b):
        return False
    return _as_json(a) == _as_json(b)


def _three_way(b: Any, t: Any, o: Any) -> Any:
    """The merged value, or raise _Clash when both sides changed it differently."""
    if t == b:
        return o
    if o in (b, t):
        return t
    raise _Clash


class _Clash(Exception):
    pass


def _merge_fields(base: R, theirs: R, ours: R) -> R:
    """Field-by-field merge of one image or category record (``extra`` key by key)."""
    changes = {}
    for f in fields(base):
        b, t, o = getattr(base, f.name), getattr(theirs, f.name), getattr(ours, f.name)
        if f.name == "extra":
            changes["extra"] = _merge_mapping(b, t, o)
        else:
            changes[f.name] = _three_way(b, t, o)
    return replace(base, **changes)


def _merge_mapping(b: Mapping, t: Mapping, o: Mapping) -> dict:
    merged = {}
    for key in [*t.keys(), *(k for k in o if k not in t)]:
        value = _three_way(b.get(key, _MISSING), t.get(key, _MISSING), o.get(key, _MISSING))
        if value is not _MISSING:
            merged[key] = value
    return merged


class _Merger:
    def __init__(self, base: CocoSnapshot, theirs: CocoSnapshot, ours: CocoSnapshot) -> None:
        self.base, self.theirs, self.ours = base.state, theirs.state, ours.state
        self.conflicts: list[str] = []
        self.summary = MergeSummary()
        self.id_map: dict[str, dict[int, int]] = {"image": {}, "category": {}, "annotation": {}}

    def _note(self, table: dict[str, list[int]], kind: str, record_id: int) -> None:
        table.setdefault(kind, []).append(record_id)

    def records(
        self,
        kind: str,
        base: tuple[R, ...],
        theirs: tuple[R, ...],
        ours: tuple[R, ...],
        fieldwise: bool,
        same_thing: Callable[[R, R], bool],
    ) -> list[R]:
        """The merged records of one kind, in theirs' order (ours' if theirs kept base's)."""
        b = {r.id: r for r in base}
        t = {r.id: r for r in theirs}
        o = {r.id: r for r in ours}
        merged: dict[int, R] = {}
        for rid in [*t, *(i for i in b if i not in t)]:
            if rid not in b:
                merged[rid] = t[rid]  # theirs added it (a clash with ours is handled below)
                self._note(self.summary.theirs_added, kind, rid)
                continue
            bt, bo = t.get(rid), o.get(rid)
            if _same(bt, b[rid]):
                if bo is not None:
                    merged[rid] = bo
                continue
            if _same(bo, b[rid]):  # only they touched it
                if bt is not None:
                    merged[rid] = bt
                    self._note(self.summary.theirs_changed, kind, rid)
                else:
                    self._note(self.summary.theirs_removed, kind, rid)
                continue
            if _same(bt, bo):
                if bt is not None:
                    merged[rid] = bt
                continue
            if bt is None or bo is None or not fieldwise:
                what = "deleted" if bt is None else "changed"
                mine = "deleted" if bo is None else "changed"
                self.conflicts.append(
                    f"{kind} {rid} was {what} by the other program and {mine} here"
                )
                continue
            try:
                merged[rid] = _merge_fields(b[rid], bt, bo)
            except _Clash:
                self.conflicts.append(f"{kind} {rid} was changed differently on both sides")
        taken = set(merged) | set(b) | set(o)
        next_id = max(taken, default=0) + 1
        for rid, record in o.items():
            if rid in b:
                continue
            twin = next((r for r in theirs if r.id not in b and same_thing(r, record)), None)
            if twin is not None:  # both sides added the same image or category
                if twin.id != rid:
                    self.id_map[kind][rid] = twin.id
                continue
            if rid in t:
                if _same(t[rid], record):
                    continue
                self.id_map[kind][rid] = next_id
                self.summary.renumbered.setdefault(kind, {})[rid] = next_id
                record = replace(record, id=next_id)
                next_id += 1
            merged[record.id] = record
        if [r.id for r in theirs] == [r.id for r in base]:
            primary = [r.id for r in ours if r.id in b]  # keep our reordering
        else:
            primary = [r.id for r in theirs]
        ordered = [merged.pop(i) for i in primary if i in merged]
        return ordered + list(merged.values())  # then ours added, in our order

    def foreign(self, base: Mapping, theirs: Mapping, ours: Mapping) -> dict[str, Any]:
        b, t, o = _strip_version(base), _strip_version(theirs), _strip_version(ours)
        merged = {}
        for key in [*t, *(k for k in o if k not in t)]:
            try:
                value = _three_way(b.get(key, _MISSING), t.get(key, _MISSING), o.get(key, _MISSING))
            except _Clash:
                self.conflicts.append(f"the top-level field {key!r} was changed on both sides")
                continue
            if t.get(key, _MISSING) != b.get(key, _MISSING):
                self.summary.theirs_fields.append(key)
            if value is not _MISSING:
                merged[key] = value
        return merged


def _remap(
    annotations: Iterable[Annotation], id_map: dict[str, dict[int, int]]
) -> list[Annotation]:
    images, categories = id_map["image"], id_map["category"]
    return [
        replace(
            a,
            image_id=images.get(a.image_id, a.image_id),
            category_id=categories.get(a.category_id, a.category_id),
        )
        for a in annotations
    ]


def merge_snapshots(
    base: CocoSnapshot, theirs: CocoSnapshot, ours: CocoSnapshot
) -> MergeResult | MergeConflict:
    """Merge the other program's changes (base -> theirs) with ours (base -> ours)."""
    m = _Merger(base, theirs, ours)
    images = m.records(
        "image",
        m.base.images,
        m.theirs.images,
        m.ours.images,
        True,
        lambda a, b: a.file_name == b.file_name,
    )
    merged_by_id = {i.id: i for i in images}
    base_image_ids = {i.id for i in m.base.images}
    for record in m.ours.images:  # the same file added on both sides, with different sizes
        if record.id in base_image_ids:
            continue
        twin = merged_by_id.get(m.id_map["image"].get(record.id, record.id))
        if twin is not None and twin.file_name == record.file_name and twin.size != record.size:
            m.conflicts.append(
                f"image {record.file_name!r} was added on both sides with different sizes"
            )
    categories = m.records(
        "category",
        m.base.categories,
        m.theirs.categories,
        m.ours.categories,
        True,
        lambda a, b: a.name == b.name,
    )
    ours_annotations = _remap(m.ours.annotations, m.id_map)
    base_annotations = m.base.annotations
    annotations = m.records(
        "annotation",
        base_annotations,
        m.theirs.annotations,
        tuple(ours_annotations),
        False,
        lambda a, b: False,
    )
    foreign = m.foreign(base.foreign, theirs.foreign, ours.foreign)
    image_ids = {i.id for i in images}
    sizes = {i.id: i.size for i in images}
    category_ids = {c.id for c in categories}
    for a in annotations:
        if a.image_id not in image_ids:
            m.conflicts.append(
                f"annotation {a.id} is on image {a.image_id}, which one side deleted"
            )
        elif a.category_id not in category_ids:
            m.conflicts.append(
                f"annotation {a.id} has category {a.category_id}, which one side deleted"
            )
        elif a.rle.size != sizes[a.image_id]:  # e.g. they resized the image, we drew on it
            m.conflicts.append(
                f"annotation {a.id} no longer fits its image {a.image_id}, resized on one side"
            )
    if m.conflicts:
        return MergeConflict(m.conflicts)
    state = DocumentState(
        images=tuple(images),
        categories=tuple(categories),
        annotations=tuple(annotations),
        next_image_id=max([m.ours.next_image_id, *(i.id + 1 for i in images)]),
        next_category_id=max([m.ours.next_category_id, *(c.id + 1 for c in categories)]),
        next_annotation_id=max([m.ours.next_annotation_id, *(a.id + 1 for a in annotations)]),
    )
    return MergeResult(CocoSnapshot(state, foreign), m.summary)
