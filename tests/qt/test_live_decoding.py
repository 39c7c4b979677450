"""The window with a slow decoder: clicks never freeze it, masks follow, accepts are kept."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt, QTimer

from tests.qt.fakes import FakePredictor
from tests.qt.window_helpers import (
    click_image,
    key,
    open_window,
    saved_coco,
    wait_decoded,
    wait_ready,
)

#: Seconds each decode takes: slower than a busy machine's real decoder.
DECODE_DELAY = 0.4


@pytest.fixture
def predictor() -> FakePredictor:
    return FakePredictor(decode_delay=DECODE_DELAY)


@pytest.fixture
def window(qtbot, tmp_path: Path, image_folder: Path, predictor: FakePredictor):
    win = open_window(qtbot, tmp_path / "settings.ini", predictor)
    assert win.folders.open_folder(image_folder)
    wait_ready(qtbot, win)
    win.controller.runner.wait_until_idle(10)  # prefetch and the decoder warm-up are done
    return win


def _shown_equals(window, expected) -> bool:
    """Whether the canvas shows the best candidate of ``expected`` (a decode() result)."""
    view = window.canvas.live_mask_view()
    if view is None:
        return False
    shown, region = view
    reference = expected.mask_logits_for_view(expected.best_index(), shown.shape, region) > 0
    return bool(shown.any()) and bool((shown == reference).all())


def test_a_burst_of_clicks_keeps_the_window_live_and_decodes_twice(
    qtbot, window, predictor
) -> None:
    c = window.controller
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    calls_before = predictor.decode_calls
    points = [(30, 30), (60, 40), (90, 50), (120, 60), (140, 90)]
    clicked = []
    for x, y in points:
        px, py = click_image(qtbot, window, x, y, settle=False)
        clicked.append((px, py, 1))
        # The prompt marker is there at once, before any mask.
        assert c.prompts.points == tuple(clicked)
        qtbot.wait(20)
    wait_decoded(qtbot, window)
    qtbot.wait(50)
    timer.stop()
    gaps = np.diff(ticks)
    assert len(ticks) > 20 and gaps.max() < 0.1, f"longest gap {gaps.max() * 1000:.0f} ms"
    # The first click's decode and one for all five points; the three between never ran.
    assert predictor.decode_calls - calls_before <= 2
    assert predictor.decoded_points[-1] == tuple(clicked)
    expected = predictor.decode(c.embedding, points=clicked)
    assert _shown_equals(window, expected)
    np.testing.assert_array_equal(c.prompts.prediction.low_res_logits, expected.low_res_logits)
    assert c.prompts.selected == expected.best_index() == window.candidates.selected


def test_the_previous_mask_stays_until_the_new_one_arrives(qtbot, window, predictor) -> None:
    c = window.controller
    x1, y1 = click_image(qtbot, window, 40, 40)
    first = predictor.decode(c.embedding, points=[(x1, y1, 1)])
    assert _shown_equals(window, first)
    x2, y2 = click_image(qtbot, window, 120, 80, settle=False)
    assert len(c.prompts.points) == 2 and c.prompts.prediction is None
    assert _shown_equals(window, first)  # no flicker to an empty mask
    key(qtbot, window, Qt.Key.Key_3)  # candidate keys act on the mask that is shown
    assert c.prompts.shown_step().selected == 2 and window.candidates.selected == 2
    wait_decoded(qtbot, window)
    second = predictor.decode(c.embedding, points=[(x1, y1, 1), (x2, y2, 1)])
    assert _shown_equals(window, second)


def test_enter_before_the_mask_arrives_accepts_it_when_it_does(qtbot, window, predictor) -> None:
    c = window.controller
    x, y = click_image(qtbot, window, 80, 60, settle=False)
    key(qtbot, window, Qt.Key.Key_Return)
    # The prompts are gone at once, so the next object can be started meanwhile.
    assert c.prompts.is_empty() and c.document.annotations == ()
    x2, y2 = click_image(qtbot, window, 20, 100, settle=False)
    assert c.prompts.points == ((x2, y2, 1),)
    qtbot.waitUntil(lambda: len(c.document.annotations) == 1, timeout=5000)
    wait_decoded(qtbot, window)
    expected = predictor.decode(c.embedding, points=[(x, y, 1)])
    saved = c.document.annotations[0]
    assert saved.prompts["points"] == [[x, y, 1]]
    coco = saved_coco(window)
    assert coco["annotations"][0]["area"] == int(expected.masks[expected.best_index()].sum())
    # The second click's mask is the live one, not part of the annotation.
    assert _shown_equals(window, predictor.decode(c.embedding, points=[(x2, y2, 1)]))


def test_an_accept_still_decoding_is_kept_when_the_folder_closes(qtbot, window) -> None:
    c = window.controller
    click_image(qtbot, window, 80, 60, settle=False)
    key(qtbot, window, Qt.Key.Key_Return)
    assert c.session.decoding.has_pending_accepts()
    path = c.annotations_path
    c.close_folder()
    import json

    assert len(json.loads(path.read_text("utf-8"))["annotations"]) == 1


@pytest.mark.parametrize("action", ["escape", "undo", "next image"])
def test_masks_decoding_for_abandoned_prompts_are_dropped(qtbot, window, action) -> None:
    c = window.controller
    click_image(qtbot, window, 80, 60, settle=False)
    if action == "escape":
        key(qtbot, window, Qt.Key.Key_Escape)
    elif action == "undo":
        key(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    else:
        key(qtbot, window, Qt.Key.Key_D)
        wait_ready(qtbot, window)
    c.runner.decoder_lane.wait_until_idle(5)
    qtbot.wait(50)  # let the stale answer reach the GUI thread
    assert c.prompts.is_empty() and c.prompts.shown_step() is None
    assert window.canvas.live_mask_view() is None
    assert c.document.annotations == ()


def test_a_click_during_a_decode_still_refines_the_mask_it_follows(qtbot, tmp_path, image_folder):
    """The second click waits for the first mask and feeds its logits back, exactly as a
    decode on the spot would; undo then restores the first mask without decoding."""
    from tests.session.helpers import RecordingPredictor

    predictor = RecordingPredictor()
    predictor.decode_delay = DECODE_DELAY
    win = open_window(qtbot, tmp_path / "s.ini", predictor)
    assert win.folders.open_folder(image_folder)
    wait_ready(qtbot, win)
    win.controller.runner.wait_until_idle(10)
    c = win.controller
    x1, y1 = click_image(qtbot, win, 40, 40, settle=False)
    click_image(qtbot, win, 50, 40, settle=False)
    wait_decoded(qtbot, win)
    first, second = c.prompts.steps
    assert predictor.mask_inputs[-2] is None
    np.testing.assert_array_equal(
        predictor.mask_inputs[-1], first.prediction.low_res_logits[first.selected]
    )
    np.testing.assert_array_equal(second.mask_input, predictor.mask_inputs[-1])
    calls = predictor.decode_calls
    key(qtbot, win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert _shown_equals(win, predictor.decode(c.embedding, points=[(x1, y1, 1)]))
    assert c.is_idle() and predictor.decode_calls == calls + 1  # only ours above
