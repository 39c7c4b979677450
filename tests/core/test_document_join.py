"""Groups joined by a key: the results of a background run, added as they arrive between
event-loop turns, make one undo step while nothing else changes the document."""

from __future__ import annotations

import numpy as np
import pytest

from samlabel.core.document import Document
from samlabel.core.masks import empty_mask

H, W = 8, 10


@pytest.fixture
def doc() -> Document:
    document = Document()
    for k in range(4):
        document.add_image(f"f{k}.png", W, H)
    document.add_category("thing")
    document.history.clear()
    return document


def _add(doc: Document, image_id: int, key: object, x: int = 2) -> None:
    mask = empty_mask(H, W)
    mask[2:5, x : x + 3] = True
    with doc.group("Run", join=key):
        doc.add_annotation(image_id, 1, mask)


def _per_image(doc: Document) -> list[int]:
    return [len(doc.annotations_for_image(image.id)) for image in doc.images]


def test_groups_of_one_key_one_after_another_are_one_undo_step(doc: Document) -> None:
    key = object()
    revisions = []
    for image_id in (1, 2, 3):
        _add(doc, image_id, key)
        revisions.append(doc.revision)  # each is a change of its own (autosaved)
    assert revisions == sorted(set(revisions)) and len(doc.history) == 1
    after = doc.state
    assert doc.undo() and _per_image(doc) == [0, 0, 0, 0] and not doc.can_undo
    assert doc.redo() and doc.state is after


def test_an_edit_between_the_groups_splits_the_step(doc: Document) -> None:
    key = object()
    _add(doc, 1, key)
    doc.add_annotation(4, 1, np.ones((H, W), bool))  # a person's edit meanwhile
    _add(doc, 2, key)
    _add(doc, 3, key)
    assert len(doc.history) == 3
    assert doc.undo() and _per_image(doc) == [1, 0, 0, 1]  # the run's frames after the edit
    assert doc.undo() and _per_image(doc) == [1, 0, 0, 0]  # the edit, not the first frame
    assert doc.undo() and _per_image(doc) == [0, 0, 0, 0]


def test_after_an_undo_the_next_group_starts_a_new_step_and_drops_the_redo(
    doc: Document,
) -> None:
    key, other = object(), object()
    _add(doc, 1, key)
    _add(doc, 2, other)  # another key: a step of its own
    assert len(doc.history) == 2
    assert doc.undo() and doc.can_redo
    _add(doc, 3, key)  # the step of ``key`` is last again and unchanged since: it grows
    assert len(doc.history) == 1 and not doc.can_redo
    assert _per_image(doc) == [1, 0, 1, 0]
    assert doc.undo() and _per_image(doc) == [0, 0, 0, 0]
    assert doc.redo() and doc.undo()
    _add(doc, 2, key)  # its step was undone: a new step, the undone one is gone
    assert _per_image(doc) == [0, 1, 0, 0] and not doc.can_redo
    assert doc.undo() and not doc.can_undo and _per_image(doc) == [0, 0, 0, 0]
