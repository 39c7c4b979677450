"""Proposals to review as a state of the session: propose, accept, reject, undo, refine.

The stand-in model (:class:`tests.qt.fakes.FakePredictor`) makes a disk around each prompt
point; on a 4x4 grid of the 120x160 test image those disks do not touch, so segment
everything yields 16 distinct proposals (one candidate each passes the predicted-IoU filter;
the stability threshold is lowered because a disk's signed-distance logits are only ~0.75
stable at offset 1).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from samlabel.session.proposals import ProposalSettings
from samlabel.session.review import is_unreviewed, unreviewed_ids
from tests.qt.fakes import FakePredictor
from tests.session.helpers import PriorPredictor, opened

SETTINGS = ProposalSettings(points_per_side=4, stability_score_thresh=0.5)


def _proposed(folder: Path, predictor=None):
    session, runner = opened(folder, predictor or FakePredictor())
    session.proposals.settings = SETTINGS
    assert session.proposals.propose() and session.proposals.is_running()
    session.proposals.runner.run()
    return session, runner


def test_propose_accept_two_reject_the_rest_and_undo(image_folder: Path) -> None:
    session, _ = _proposed(image_folder)
    proposals = session.proposals
    shown = proposals.visible()
    assert len(shown) == 16 and not proposals.is_running()
    assert [p.score for p in shown] == sorted((p.score for p in shown), reverse=True)
    assert not session.document.annotations  # never mixed with accepted work

    first = shown[0]
    session.add_point(*first.point, 1)  # an include click on a proposal accepts it
    assert session.prompts.is_empty()
    (accepted,) = session.document.annotations
    assert accepted.rle == first.rle and accepted.score == first.score
    assert len(proposals.visible()) == 15 and first not in proposals.visible()

    other = session.edits.add_category("tree")
    proposals.next()
    second = proposals.visible()[proposals.current]
    assert proposals.accept_current()
    names = {
        a.rle.counts: session.document.category(a.category_id).name
        for a in session.document.annotations
    }
    assert names == {first.rle.counts: "object", second.rle.counts: "tree"}
    assert session.document.annotations[-1].category_id == other

    assert proposals.reject_rest() and not proposals.visible()
    session.undo()  # the second accept, one step
    assert [a.rle for a in session.document.annotations] == [first.rle]
    assert not proposals.visible()  # rejecting is not undone: propose again for them

    assert session.store.save()
    coco = json.loads((image_folder / "annotations.json").read_text("utf-8"))
    (saved,) = coco["annotations"]
    assert saved["category_id"] == accepted.category_id
    assert "samlabel_reviewed" not in saved  # accepted in the window: reviewed
    session.shutdown()


def test_undo_brings_an_accepted_proposal_back_and_overlaps_are_hidden(image_folder):
    session, _ = _proposed(image_folder)
    proposals = session.proposals
    assert proposals.accept_above(0.9) == 16  # all score 0.93: one step
    assert len(session.document.annotations) == 16 and not proposals.visible()
    session.undo()
    assert not session.document.annotations and len(proposals.visible()) == 16


def test_cancel_drops_the_answer_and_another_image_clears_proposals(image_folder):
    session, _ = opened(image_folder, FakePredictor())
    proposals = session.proposals
    proposals.settings = SETTINGS
    proposals.propose()
    proposals.propose()  # the same command while running cancels
    assert not proposals.is_running()
    proposals.runner.run()
    assert not proposals.visible()

    proposals.propose()
    proposals.runner.run()
    assert proposals.visible()
    session.next_image()
    assert not proposals.proposals


def test_an_exclude_click_on_a_proposal_refines_it_with_its_mask_as_input(image_folder):
    predictor = PriorPredictor()
    session, runner = _proposed(image_folder, predictor)
    target = session.proposals.visible()[0]
    x, y = target.point
    predictor.mask_inputs.clear()
    session.add_point(x + 3, y, 0)
    assert session.prompts.points == ((x, y, 1), (x + 3, y, 0))
    runner.run()
    (fed,) = predictor.mask_inputs
    assert fed is not None and fed.shape == (256, 256)
    assert fed.max() > 0 > fed.min()  # the proposal's mask, positive inside
    assert not session.document.annotations
    session.accept()
    runner.run()
    assert len(session.document.annotations) == 1


def _auto_proposal(session, x: float, y: float, reviewed=False) -> int:
    """An annotation as ``samlabel auto`` adds it (a 20x20 square at ``(x, y)``)."""
    mask = np.zeros((120, 160), bool, order="F")
    mask[int(y) : int(y) + 20, int(x) : int(x) + 20] = True
    category = session.edits.ensure_category()
    extra = {"samlabel_reviewed": reviewed} if reviewed is not None else None
    return session.document.add_annotation(session.image_id, category, mask, extra=extra).id


def test_confirming_or_editing_an_annotation_to_review_marks_it_reviewed(image_folder):
    session, _ = opened(image_folder, FakePredictor())
    first, second = _auto_proposal(session, 10, 10), _auto_proposal(session, 60, 60)
    mine = _auto_proposal(session, 100, 20, reviewed=None)
    assert unreviewed_ids(session.document, session.image_id) == [first, second]

    assert session.edits.confirm_review(first)
    assert not session.edits.confirm_review(mine)  # reviewed work: nothing to do
    other = session.edits.add_category("tree")
    session.edits.set_annotation_category(second, other)  # an edit reviews it, one step
    assert unreviewed_ids(session.document, session.image_id) == []
    session.undo()
    assert is_unreviewed(session.document.annotation(second))
    assert session.document.annotation(second).category_id != other
    session.edits.select_annotation(second)
    session.edits.brush(np.array([[65.0, 65.0]]), 3.0, erase=True)
    assert not is_unreviewed(session.document.annotation(second))

    assert session.store.save()
    coco = json.loads((image_folder / "annotations.json").read_text("utf-8"))
    marks = {a["id"]: a.get("samlabel_reviewed") for a in coco["annotations"]}
    assert marks == {first: True, second: True, mine: None}
