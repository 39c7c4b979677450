"""Proposals in the window: P proposes in the background, clicks and keys accept, Esc rejects
the rest, undo, and the file on disk holds exactly the accepted proposals.

The stand-in model (:class:`tests.qt.fakes.FakePredictor`) draws a disk around each prompt
point; on a 4x4 grid of the 160x120 test image the disks do not touch, so segment everything
proposes 16 distinct objects (stability threshold lowered: a disk's signed-distance logits are
only ~0.75 stable at offset 1).
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from samlabel.session.proposals import ProposalSettings
from tests.qt.fakes import FakePredictor
from tests.qt.window_helpers import click_image, key, open_window, saved_coco, wait_ready

SETTINGS = ProposalSettings(points_per_side=4, stability_score_thresh=0.5)


@pytest.fixture
def window(qtbot, tmp_path, image_folder):
    w = open_window(qtbot, tmp_path / "settings.ini", FakePredictor(decode_delay=0.002))
    w.controller.open_folder(image_folder)
    wait_ready(qtbot, w)
    w.controller.session.proposals.settings = SETTINGS
    return w


def _propose(qtbot, window) -> list:
    proposals = window.controller.session.proposals
    key(qtbot, window, Qt.Key.Key_P)
    assert proposals.is_running() or proposals.visible()
    qtbot.waitUntil(lambda: not proposals.is_running(), timeout=10000)
    return proposals.visible()


def test_propose_accept_two_reject_the_rest_undo_and_the_file(qtbot, window) -> None:
    c = window.controller
    shown = _propose(qtbot, window)
    assert len(shown) == 16
    assert window.proposals.layer.shown == shown and window.proposals.layer.isVisible()
    assert window.proposals.dock.isVisible()
    assert not c.document.annotations and window.canvas.annotations == []

    first = shown[0]
    click_image(qtbot, window, *first.point)  # a click on a proposal accepts it
    (accepted,) = c.document.annotations
    assert accepted.rle == first.rle
    assert len(window.proposals.layer.shown) == 15  # hidden once accepted

    tree = c.add_category("tree")
    key(qtbot, window, Qt.Key.Key_Tab)  # step through the proposals, Enter accepts
    second = c.session.proposals.visible()[c.session.proposals.current]
    key(qtbot, window, Qt.Key.Key_Return)
    assert [a.rle for a in c.document.annotations] == [first.rle, second.rle]
    assert c.document.annotations[1].category_id == tree

    key(qtbot, window, Qt.Key.Key_Escape)  # rejects the rest
    assert not window.proposals.layer.shown and not window.proposals.layer.isVisible()
    ctrl = Qt.KeyboardModifier.ControlModifier
    key(qtbot, window, Qt.Key.Key_Z, ctrl)
    assert _on_disk(window) == [(first.rle.counts.decode(), "object")]
    key(qtbot, window, Qt.Key.Key_Z, ctrl | Qt.KeyboardModifier.ShiftModifier)
    assert _on_disk(window) == [
        (first.rle.counts.decode(), "object"),
        (second.rle.counts.decode(), "tree"),
    ]


def _on_disk(window) -> list[tuple[str, str]]:
    """(RLE counts, category name) of each annotation in the file on disk."""
    coco = saved_coco(window)
    names = {cat["id"]: cat["name"] for cat in coco["categories"]}
    return [(a["segmentation"]["counts"], names[a["category_id"]]) for a in coco["annotations"]]


def test_accept_all_above_the_score_is_one_step(qtbot, window) -> None:
    c = window.controller
    _propose(qtbot, window)
    window.proposals.score_slider.setValue(0.95)
    qtbot.mouseClick(window.proposals.accept_button, Qt.MouseButton.LeftButton)
    assert not c.document.annotations  # every proposal scores 0.93
    window.proposals.score_slider.setValue(0.9)
    qtbot.mouseClick(window.proposals.accept_button, Qt.MouseButton.LeftButton)
    assert len(c.document.annotations) == 16 and not window.proposals.layer.shown
    key(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert not c.document.annotations and len(window.proposals.layer.shown) == 16
    assert saved_coco(window)["annotations"] == []


def test_a_slow_run_shows_progress_and_escape_cancels_it(qtbot, tmp_path, image_folder):
    w = open_window(qtbot, tmp_path / "settings.ini", FakePredictor(decode_delay=0.05))
    w.controller.open_folder(image_folder)
    wait_ready(qtbot, w)
    proposals = w.controller.session.proposals
    proposals.settings = ProposalSettings(points_per_side=8, points_per_batch=4)
    key(qtbot, w, Qt.Key.Key_P)
    qtbot.waitUntil(lambda: proposals.progress[0] > 0, timeout=5000)
    assert w.status.progress.isVisible() and "Proposing" in w.status.state_label.text()
    key(qtbot, w, Qt.Key.Key_Escape)
    assert not proposals.is_running() and not w.status.progress.isVisible()
    assert w.proposals.runner.lane.wait_until_idle(5.0)
    qtbot.wait(50)
    assert not proposals.visible() and not w.controller.document.annotations


def test_annotations_to_review_are_listed_filtered_and_confirmed(qtbot, window) -> None:
    c = window.controller
    category = c.ensure_category()
    ids = []
    for x, reviewed in ((10, False), (60, None), (110, False)):
        mask = np.zeros((120, 160), bool, order="F")
        mask[20:50, x : x + 30] = True
        extra = {"samlabel_reviewed": False} if reviewed is False else None
        ids.append(c.document.add_annotation(c.image_id, category, mask, extra=extra).id)
    auto_a, mine, auto_b = ids
    rows = [c.layers.index(r).data() for r in range(c.layers.rowCount())]
    assert sum("to review" in text for text in rows) == 2
    review = window.proposals.review
    review.only_unreviewed.setChecked(True)
    assert review.visible_ids() == [auto_b, auto_a]
    assert "2 to review" in review.only_unreviewed.text()

    window.layer_panel.select(auto_b)
    key(qtbot, window, Qt.Key.Key_R)  # confirm as it is
    assert review.visible_ids() == [auto_a]
    window.layer_panel.select(auto_a)
    key(qtbot, window, Qt.Key.Key_Return)  # Enter confirms too, with nothing else to accept
    assert review.visible_ids() == []
    key(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert review.visible_ids() == [auto_a]
    marks = {a["id"]: a.get("samlabel_reviewed") for a in saved_coco(window)["annotations"]}
    assert marks == {auto_a: False, mine: None, auto_b: True}


def test_a_right_click_on_a_proposal_refines_it_through_the_prompts(qtbot, window) -> None:
    c = window.controller
    target = _propose(qtbot, window)[0]
    x, y = target.point
    click_image(qtbot, window, x + 6, y, Qt.MouseButton.RightButton)
    assert [p[2] for p in c.prompts.points] == [1, 0]  # its point, then the exclude click
    assert c.prompts.steps[0].prediction is not None  # the proposal, fed back as mask input
    assert c.prompts.prediction is not None and not c.document.annotations
    key(qtbot, window, Qt.Key.Key_Return)  # with prompts, Enter accepts the refined mask
    coco = saved_coco(window)
    assert len(coco["annotations"]) == 1 and c.prompts.is_empty()


def test_an_annotation_to_review_is_drawn_dashed_until_r_confirms_it(qtbot, window) -> None:
    """On the canvas: the proposal samlabel auto added has gaps in its outline where the
    person's own mask has none; once R confirms it, its outline is solid too."""
    from PySide6.QtGui import QColor

    from tests.qt.outline_pixels import gaps, top_edge

    c = window.controller
    category = c.ensure_category()
    ids = []
    for x, extra in ((10, None), (80, {"samlabel_reviewed": False})):
        mask = np.zeros((120, 160), bool, order="F")
        mask[30:90, x : x + 60] = True
        ids.append(c.document.add_annotation(c.image_id, category, mask, extra=extra).id)
    mine, auto = ids
    qtbot.waitUntil(lambda: len(window.canvas.annotations) == 2 and window.overlays.complete)
    color = QColor(c.document.category(category).color)
    outline = [color, color.lighter(140)]  # as drawn, and emphasised when selected
    canvas = window.canvas
    assert canvas.scale >= 2  # no smoothing: outline pixels keep their colour
    assert gaps(top_edge(canvas, 30, range(10, 70), outline)) == 0
    assert gaps(top_edge(canvas, 30, range(80, 140), outline)) >= 3

    window.layer_panel.select(auto)
    key(qtbot, window, Qt.Key.Key_R)
    qtbot.waitUntil(lambda: all(v.overlay.reviewed for v in canvas.annotations))
    assert gaps(top_edge(canvas, 30, range(80, 140), outline)) == 0
    key(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # the mark is back
    qtbot.waitUntil(lambda: not all(v.overlay.reviewed for v in canvas.annotations))
    assert gaps(top_edge(canvas, 30, range(80, 140), outline)) >= 3
    assert mine in [v.key for v in canvas.annotations]
