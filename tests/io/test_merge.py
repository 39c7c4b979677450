"""Three-way merge of annotation files: laws that hold whatever the edits were."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from samlabel.core.document import Document
from samlabel.core.masks import empty_mask
from samlabel.io.merge import CocoSnapshot, MergeConflict, MergeResult, merge_snapshots


def _base() -> Document:
    doc = Document()
    doc.add_images([("a.png", 8, 8), ("b.png", 8, 8)])
    doc.add_category("one")
    doc.add_category("two")
    for n in range(4):
        mask = empty_mask(8, 8)
        mask[n : n + 2, n : n + 2] = True
        doc.add_annotation(1 + n % 2, 1 + n % 2, mask)
    return doc


EDIT = st.sampled_from(["add_category", "add_image", "add_mask", "delete", "recategorise"])


def _edit(doc: Document, edits: list[tuple[str, int]], tag: str) -> None:
    for n, (kind, pick) in enumerate(edits):
        annotations = doc.annotations
        if kind == "add_category":
            doc.add_category(f"{tag} {n}")
        elif kind == "add_image":
            doc.add_image(f"{tag}_{n}.png", 8, 8)
        elif kind == "add_mask":
            mask = empty_mask(8, 8)
            mask[pick % 7, :] = True
            doc.add_annotation(doc.images[pick % len(doc.images)].id, 1, mask)
        elif kind == "delete" and annotations:
            doc.delete_annotation(annotations[pick % len(annotations)].id)
        elif kind == "recategorise" and annotations:
            target = annotations[pick % len(annotations)]
            doc.set_category(target.id, 2 if target.category_id == 1 else 1)


EDITS = st.lists(st.tuples(EDIT, st.integers(0, 50)), max_size=6)


@settings(max_examples=40, deadline=None)
@given(EDITS)
def test_when_only_one_side_changed_the_merge_is_that_side(edits):
    base = _base()
    changed = Document(base.state)
    _edit(changed, edits, "x")
    b = CocoSnapshot(base.state, {"info": {"v": 1}})
    c = CocoSnapshot(changed.state, {"info": {"v": 2}})
    for theirs, ours in ((b, c), (c, b)):
        result = merge_snapshots(b, theirs, ours)
        assert isinstance(result, MergeResult)
        assert result.snapshot.state.annotations == changed.state.annotations
        assert result.snapshot.state.categories == changed.state.categories
        assert result.snapshot.state.images == changed.state.images
        assert result.snapshot.foreign == {"info": {"v": 2}}


@settings(max_examples=60, deadline=None)
@given(EDITS, EDITS)
def test_a_merge_loses_nothing_either_side_added(theirs_edits, ours_edits):
    base = _base()
    theirs, ours = Document(base.state), Document(base.state)
    _edit(theirs, theirs_edits, "theirs")
    _edit(ours, ours_edits, "ours")
    result = merge_snapshots(
        CocoSnapshot(base.state, {}), CocoSnapshot(theirs.state, {}), CocoSnapshot(ours.state, {})
    )
    if isinstance(result, MergeConflict):
        assert result.reasons  # told why; the store then keeps both files
        return
    merged = result.snapshot.state
    base_ids = {a.id for a in base.annotations}
    masks = [a.rle for a in merged.annotations]
    for side in (theirs, ours):
        for annotation in side.annotations:
            if annotation.id not in base_ids:
                assert annotation.rle in masks
    names = {c.name for c in merged.categories}
    assert {c.name for c in theirs.categories + ours.categories} - names <= {
        c.name for c in base.categories
    }
    assert len({a.id for a in merged.annotations}) == len(merged.annotations)
    image_ids = {i.id for i in merged.images}
    assert all(a.image_id in image_ids for a in merged.annotations)
