"""The annotation document: operations, draw order, change events, undo/redo."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from samlabel.core.document import Document
from samlabel.core.masks import empty_mask
from samlabel.core.model import ImageStatus

H, W = 24, 32


def _box(y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    mask = empty_mask(H, W)
    mask[y0:y1, x0:x1] = True
    return mask


@pytest.fixture
def doc() -> Document:
    document = Document(clock=lambda: "2026-01-01T00:00:00+00:00")
    document.add_image("a.png", W, H)
    document.add_image("b.png", W, H)
    document.add_category("cell")
    document.add_category("nucleus", color="#00FF00", supercategory="bio")
    document.history.clear()
    return document


def test_add_annotation_computes_bbox_area_and_marks_the_image_in_progress(doc):
    events = []
    doc.subscribe(events.append)
    ann = doc.add_annotation(1, 1, _box(2, 6, 4, 14), score=0.93, prompts={"points": [[5, 3, 1]]})
    assert ann.bbox == (4.0, 2.0, 10.0, 4.0)
    assert ann.area == 40
    assert ann.score == pytest.approx(0.93)
    assert ann.created == "2026-01-01T00:00:00+00:00"
    np.testing.assert_array_equal(doc.mask(ann.id), _box(2, 6, 4, 14))
    assert doc.image(1).status is ImageStatus.IN_PROGRESS
    (event,) = events
    assert event.added == {ann.id} and event.image_ids == {1} and event.reason == "edit"


def test_add_annotation_rejects_wrong_shapes_and_unknown_ids(doc):
    with pytest.raises(ValueError, match="does not fit"):
        doc.add_annotation(1, 1, empty_mask(H + 1, W) | True)
    with pytest.raises(KeyError, match="category"):
        doc.add_annotation(1, 99, _box(0, 2, 0, 2))
    with pytest.raises(ValueError, match="empty"):
        doc.add_annotation(1, 1, empty_mask(H, W))
    assert doc.annotations == ()


def test_draw_order_and_reorder(doc):
    a = doc.add_annotation(1, 1, _box(0, 5, 0, 5))
    other = doc.add_annotation(2, 1, _box(0, 5, 0, 5))
    b = doc.add_annotation(1, 2, _box(3, 9, 3, 9))
    c = doc.add_annotation(1, 1, _box(6, 12, 6, 12))
    assert [x.id for x in doc.annotations_for_image(1)] == [a.id, b.id, c.id]
    doc.reorder(c.id, 0)
    assert [x.id for x in doc.annotations_for_image(1)] == [c.id, a.id, b.id]
    doc.reorder(c.id, -1)
    assert [x.id for x in doc.annotations_for_image(1)] == [a.id, b.id, c.id]
    assert [x.id for x in doc.annotations_for_image(2)] == [other.id]
    with pytest.raises(IndexError):
        doc.reorder(a.id, 3)


def test_merge_subtract_brush_and_clear(doc):
    a = doc.add_annotation(1, 1, _box(0, 10, 0, 10))
    b = doc.add_annotation(1, 1, _box(5, 15, 5, 15))
    merged = doc.merge(a.id, b.id)
    np.testing.assert_array_equal(doc.mask(a.id), _box(0, 10, 0, 10) | _box(5, 15, 5, 15))
    assert merged.area == 175 and b.id not in {x.id for x in doc.annotations}
    c = doc.add_annotation(1, 2, _box(0, 24, 8, 12))
    doc.subtract(a.id, c.id)
    assert not doc.mask(a.id)[:, 8:12].any() and doc.mask(c.id).sum() == 96
    doc.brush_stroke(c.id, [(20.0, 2.0), (20.0, 20.0)], radius=1.0)
    assert doc.mask(c.id)[2:21, 20].all()
    assert doc.annotation(c.id).bbox == (8.0, 0.0, 14.0, 24.0)
    # Erasing everything deletes the annotation.
    assert doc.brush_stroke(c.id, [(0, 12), (31, 12)], radius=40, erase=True) is None
    assert c.id not in {x.id for x in doc.annotations}
    doc.clear_image(1)
    assert doc.annotations_for_image(1) == ()


def test_categories_rename_recolour_delete_with_and_without_reassign(doc):
    ann = doc.add_annotation(1, 2, _box(0, 3, 0, 3))
    doc.rename_category(2, "nuc")
    doc.recolour_category(2, "#ABCDEF")
    assert doc.category(2).name == "nuc" and doc.category(2).color == "#abcdef"
    with pytest.raises(ValueError, match="already exists"):
        doc.rename_category(1, "nuc")
    with pytest.raises(ValueError, match="#rrggbb"):
        doc.recolour_category(1, "red")
    doc.delete_category(2, reassign_to=1)
    assert doc.annotation(ann.id).category_id == 1
    doc.undo()
    doc.delete_category(2)
    assert doc.annotations == ()
    assert [c.id for c in doc.categories] == [1]


def test_undo_redo_are_changes_and_emit_events(doc):
    events = []
    doc.subscribe(events.append)
    ann = doc.add_annotation(1, 1, _box(0, 3, 0, 3))
    revision = doc.revision
    assert doc.undo()
    assert doc.annotations == () and doc.revision == revision + 1
    assert events[-1].reason == "undo" and events[-1].removed == {ann.id}
    assert doc.redo()
    assert events[-1].reason == "redo" and events[-1].added == {ann.id}
    assert doc.annotation(ann.id) == ann
    assert not doc.redo()


def test_history_depth_is_bounded():
    doc = Document(history_depth=3)
    doc.add_image("a.png", 4, 4)
    for i in range(6):
        doc.add_category(f"c{i}")
    undone = 0
    while doc.undo():
        undone += 1
    assert undone == 3
    assert [c.name for c in doc.categories] == ["c0", "c1", "c2"]


def test_unsubscribe_stops_events(doc):
    events = []
    unsubscribe = doc.subscribe(events.append)
    unsubscribe()
    doc.add_category("x")
    assert events == []


# --- property: undo of any random sequence of operations returns the exact earlier document

_rects = st.tuples(
    st.integers(0, H - 1), st.integers(1, H), st.integers(0, W - 1), st.integers(1, W)
).map(
    lambda r: (min(r[0], r[1] - 1), max(r[1], r[0] + 1), min(r[2], r[3] - 1), max(r[3], r[2] + 1))
)

_ops = st.one_of(
    st.tuples(st.just("add"), st.integers(1, 2), st.integers(1, 2), _rects),
    st.tuples(st.just("delete"), st.integers(0, 20)),
    st.tuples(st.just("set_category"), st.integers(0, 20), st.integers(1, 2)),
    st.tuples(st.just("reorder"), st.integers(0, 20), st.integers(-3, 3)),
    st.tuples(st.just("merge"), st.integers(0, 20), st.integers(0, 20)),
    st.tuples(st.just("subtract"), st.integers(0, 20), st.integers(0, 20)),
    st.tuples(
        st.just("brush"),
        st.integers(0, 20),
        st.lists(st.tuples(st.floats(-2, W + 2), st.floats(-2, H + 2)), min_size=1, max_size=3),
        st.floats(0.5, 6),
        st.booleans(),
    ),
    st.tuples(st.just("clear"), st.integers(1, 2)),
    st.tuples(st.just("status"), st.integers(1, 2), st.sampled_from(list(ImageStatus))),
    st.tuples(st.just("add_category"), st.integers(0, 99)),
    st.tuples(st.just("rename"), st.integers(1, 2), st.integers(0, 99)),
    st.tuples(st.just("delete_category"), st.integers(3, 6)),
)


def _apply(doc: Document, op: tuple) -> None:
    """Apply one random operation; operations that do not apply raise and change nothing."""
    ids = [a.id for a in doc.annotations]
    pick = (lambda i: ids[i % len(ids)]) if ids else None
    kind = op[0]
    try:
        if kind == "add":
            doc.add_annotation(op[1], op[2], _box(*op[3]))
        elif kind == "add_category":
            doc.add_category(f"cat{op[1]}")
        elif kind == "rename":
            doc.rename_category(op[1], f"cat{op[2]}")
        elif kind == "delete_category":
            doc.delete_category(op[1])
        elif kind == "status":
            doc.set_image_status(op[1], op[2])
        elif kind == "clear":
            doc.clear_image(op[1])
        elif pick is None:
            return
        elif kind == "delete":
            doc.delete_annotation(pick(op[1]))
        elif kind == "set_category":
            doc.set_category(pick(op[1]), op[2])
        elif kind == "reorder":
            doc.reorder(pick(op[1]), op[2])
        elif kind == "merge":
            doc.merge(pick(op[1]), pick(op[2]))
        elif kind == "subtract":
            doc.subtract(pick(op[1]), pick(op[2]))
        elif kind == "brush":
            doc.brush_stroke(pick(op[1]), op[2], op[3], erase=op[4])
    except (ValueError, KeyError, IndexError):
        pass


@settings(max_examples=60, deadline=None)
@given(ops=st.lists(_ops, min_size=1, max_size=12))
def test_undo_of_any_operation_sequence_restores_each_earlier_document(ops):
    doc = Document(clock=lambda: "t")
    doc.add_images([("a.png", W, H), ("b.png", W, H)], undoable=False)
    doc.add_category("cell")
    doc.add_category("nucleus")
    doc.history.clear()
    states = [doc.state]
    for op in ops:
        before = doc.revision
        _apply(doc, op)
        if doc.revision != before:
            states.append(doc.state)
    for expected in reversed(states[:-1]):
        assert doc.undo()
        assert doc.state == expected
    assert not doc.undo()
    for expected in states[1:]:
        assert doc.redo()
        assert doc.state == expected
    # Masks decode to what the records say.
    for annotation in doc.annotations:
        mask = doc.mask(annotation.id)
        assert mask.sum() == annotation.area > 0


def test_a_group_of_operations_is_one_undo_step(doc):
    before = doc.state
    with doc.group("Accept and finish"):
        ann = doc.add_annotation(1, 1, _box(0, 4, 0, 4))
        doc.set_image_status(1, "done")
    assert doc.image(1).status is ImageStatus.DONE and doc.history.undo_label == "Accept and finish"
    after = doc.state
    assert doc.undo()
    assert doc.state == before and not doc.can_undo
    assert doc.redo()
    assert doc.state == after and doc.annotation(ann.id) == ann


def test_an_image_cannot_be_added_twice(doc):
    with pytest.raises(ValueError, match="already in the document"):
        doc.add_image("a.png", W, H)
    with pytest.raises(ValueError, match="already in the document"):
        doc.add_images([("c.png", W, H), ("c.png", W, H)])
    assert [i.file_name for i in doc.images] == ["a.png", "b.png"]
