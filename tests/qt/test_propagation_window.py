"""Propagate in the window with a real (tiny, random) SAM 2.1 model: click an object on a
stack's first frame, accept, propagate forward; the later frames get unreviewed masks of the
same track as they arrive; correct a frame, propagate again from there; R confirms a frame.
Without a SAM 2 model, or outside a stack, the command is disabled and says why."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from samlabel.core.paths import cache_dir
from samlabel.inference import load_predictor
from tests.qt.fakes import FakePredictor
from tests.qt.images import write_images
from tests.qt.propagation_helpers import (
    FRAMES,
    frame_masks,
    summary,
    wait_propagated,
    write_clip,
    write_tiny_sam21,
)
from tests.qt.window_helpers import click_image, key, open_window, wait_idle, wait_ready
from tests.sam2.video_reference import disc_centre
from tests.session.propagation_fakes import PropagatingPredictor

READY = 120000  # ms: a random SAM 2.1 encoder takes ~10 s per frame on a loaded 2-core machine


@pytest.fixture(scope="module")
def sam21(tmp_path_factory) -> object:
    path = write_tiny_sam21(tmp_path_factory.mktemp("sam21") / "sam2.1_hiera_tiny_random.pt")
    return load_predictor(path, backend="torch")


def go_frame(qtbot, window, frame: int) -> None:
    window.frame_slider.slider.setValue(frame + 1)
    qtbot.waitUntil(lambda: window.controller.source is not None, timeout=READY)
    qtbot.waitUntil(
        lambda: window.controller.source.path.name == f"clip#{frame:03d}", timeout=READY
    )
    wait_ready(qtbot, window, timeout=READY)


@pytest.mark.slow
def test_label_propagate_correct_and_propagate_again(qtbot, tmp_path: Path, sam21) -> None:
    study = write_clip(tmp_path / "study")
    earlier = set(cache_dir().rglob("*.npz"))  # the cache folder is shared by the test run
    window = open_window(qtbot, tmp_path / "settings.ini", sam21, cache=True)
    assert window.folders.open_folder(study)
    wait_ready(qtbot, window, timeout=READY)
    c, action = window.controller, window.actions["propagate"]
    assert action.isEnabled(), action.toolTip()

    click_image(qtbot, window, *disc_centre(0))
    key(qtbot, window, Qt.Key.Key_Return)
    wait_idle(window, timeout=60)
    key(qtbot, window, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)  # forward
    assert c.session.propagation.is_running()
    wait_propagated(c)
    assert summary(c) == [[(1, True)]] + [[(1, False)]] * (FRAMES - 1)
    first_run = {f: frame_masks(c, f)[0] for f in range(FRAMES)}
    first_masks = {f: c.document.mask(a.id) for f, a in first_run.items()}
    for frame in range(1, FRAMES):
        assert first_masks[frame].any(), frame  # the object was seen
    assert f"{FRAMES - 1} frames to review" in window.propagation.marks.text()
    # Every frame propagated has its embedding in the disk cache, as an image would.
    assert len(set(cache_dir().rglob("*.npz")) - earlier) == FRAMES
    assert window.propagation.strip.states == ["reviewed"] + ["unreviewed"] * (FRAMES - 1)

    go_frame(qtbot, window, 2)  # correct frame 2: a click on the disc there, Enter
    assert "unreviewed" in window.propagation.marks.text()
    x, y = disc_centre(2)
    click_image(qtbot, window, x + 25, y)
    key(qtbot, window, Qt.Key.Key_Return)
    wait_idle(window, timeout=60)
    assert summary(c)[2] == [(1, True)]  # the correction took the propagated mask's place
    corrected = frame_masks(c, 2)[0]
    assert not np.array_equal(c.document.mask(corrected.id), first_masks[2])

    window.actions["propagate"].trigger()  # again, from frame 2
    wait_propagated(c)
    assert summary(c) == [[(1, True)], [(1, False)], [(1, True)], [(1, False)]]
    assert [frame_masks(c, f)[0] for f in (0, 1, 2)] == [first_run[0], first_run[1], corrected]
    carried = frame_masks(c, 3)[0]
    assert carried.id != first_run[3].id  # the correction was carried on to frame 3
    assert not np.array_equal(c.document.mask(carried.id), first_masks[3])
    assert (1, 2) in c.session.propagation._slots["clip"].given  # a conditioning frame

    go_frame(qtbot, window, 3)
    key(qtbot, window, Qt.Key.Key_R)  # nothing selected: confirms the frame shown
    assert summary(c)[3] == [(1, True)]
    assert window.propagation.marks.text() == "1 frame to review"  # frame 1
    strip = window.propagation.strip
    assert strip.states == ["reviewed", "unreviewed", "reviewed", "reviewed"]
    assert strip.current == 3 and strip.isVisible()


def test_propagate_is_disabled_without_sam2_or_a_stack(qtbot, tmp_path: Path) -> None:
    study = write_clip(tmp_path / "study", frames=3)
    window = open_window(qtbot, tmp_path / "settings.ini", FakePredictor())
    assert window.folders.open_folder(study)
    wait_ready(qtbot, window)
    action = window.actions["propagate"]
    assert not action.isEnabled()
    assert "needs a SAM 2 model" in action.toolTip()
    assert window.toolbar.widgetForAction(action).text() == "Propagate"  # beside its icon
    assert window.actions["propagate_forward"].isChecked()
    window.actions["propagate_both"].trigger()
    assert window.controller.session.propagation.direction == "both"
    assert window.propagation.direction_box.currentText() == "Both ways"


def test_propagate_is_disabled_outside_a_stack(qtbot, tmp_path: Path) -> None:
    study = write_clip(tmp_path / "study", frames=3)
    write_images(study, 1, (240, 320))
    window = open_window(qtbot, tmp_path / "settings.ini", PropagatingPredictor())
    assert window.folders.open_folder(study)
    wait_ready(qtbot, window)
    action, c = window.actions["propagate"], window.controller
    assert action.isEnabled(), action.toolTip()  # a SAM 2 model on the stack's row
    c.go_to(1)  # the photo
    wait_ready(qtbot, window)
    assert not action.isEnabled() and "stack" in action.toolTip()


def test_masks_show_as_they_arrive_and_esc_cancels(qtbot, tmp_path: Path) -> None:
    study = write_clip(tmp_path / "study", frames=5)
    predictor = PropagatingPredictor(frame_delay=0.4)  # a slow model: time to look and cancel
    window = open_window(qtbot, tmp_path / "settings.ini", predictor)
    assert window.folders.open_folder(study)
    wait_ready(qtbot, window)
    c, part = window.controller, window.controller.session.propagation
    click_image(qtbot, window, *disc_centre(0))
    key(qtbot, window, Qt.Key.Key_Return)
    wait_idle(window)
    go_frame(qtbot, window, 1)
    assert c.layers.rowCount() == 0

    key(qtbot, window, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: c.layers.rowCount() == 1, timeout=10000)  # frame 1's mask, shown
    assert part.is_running()
    status = window.status.state_label.text()
    assert status.startswith("Propagating forward from frame 2: ") and "Esc stops" in status
    assert window.status.progress.isVisible()
    go_frame(qtbot, window, 3)  # looking at another frame meanwhile keeps the progress shown
    c.session.events.embedding_state.emit("ready")  # as when its embedding was computed
    qtbot.wait(20)  # not long enough for the next frame to arrive and show it again
    assert window.status.state_label.text().startswith("Propagating")
    assert window.status.progress.isVisible() and part.is_running()
    action = window.actions["propagate"]
    button = window.toolbar.widgetForAction(action)
    assert action.isEnabled() and button.text() == "Stop" and "Stop" in action.toolTip()
    assert not window.propagation.direction_box.isEnabled()  # the next run's direction
    assert not window.actions["propagate_backward"].isEnabled()
    key(qtbot, window, Qt.Key.Key_Escape)
    assert not part.is_running()
    assert button.text() == "Propagate" and window.propagation.direction_box.isEnabled()
    row = c.images.data(c.images.index(0))
    assert re.search(r"\n\d of 5 to review$", row), row  # the list says so too
    assert window.propagation.runner.lane.wait_until_idle(10)
    qtbot.wait(50)  # the last answers are delivered (and ignored)
    arrived = [bool(frame_masks(c, f)) for f in range(5)]
    assert arrived[:2] == [True, True] and arrived[4] is False  # stopped between frames
    assert not window.status.progress.isVisible()
