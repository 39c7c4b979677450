"""Stacks in the window: one row each, a frame slider, PgUp/PgDn and Ctrl+wheel, frames
labelled like images with one track id per object, reopened on the right frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QWheelEvent
from PySide6.QtWidgets import QApplication

from samlabel.core.stack_frames import add_frame_annotation, stack_frame, track_id_of
from samlabel.core.windowing import Window
from tests.io.stacks.factory import slice_pixels, write_dicom_series, write_nifti
from tests.qt.fakes import FakePredictor
from tests.qt.images import write_images
from tests.qt.outline_pixels import gaps, top_edge
from tests.qt.window_helpers import (
    click_image,
    key,
    open_window,
    saved_coco,
    wait_idle,
    wait_ready,
)

SIZE = (60, 80)  # (H, W) of the CT slices


@pytest.fixture
def study(tmp_path: Path) -> Path:
    """Two photos, a 5-slice NIfTI volume and a 6-slice DICOM series with shuffled names."""
    folder = tmp_path / "study"
    write_images(folder, 2)
    volume = np.stack([slice_pixels(k, 50, 70) for k in range(5)], axis=-1)
    write_nifti(folder / "vol.nii", volume.transpose(1, 0, 2).copy())
    write_dicom_series(folder / "ct", count=6, size=SIZE)
    return folder


def shown_frame(window) -> str:
    """The COCO name of the frame on the canvas (once read)."""
    source = window.controller.source
    return source.path.name if source is not None else ""


def go_frame(qtbot, window, name: str) -> None:
    qtbot.waitUntil(lambda: shown_frame(window) == name, timeout=10000)
    wait_ready(qtbot, window)


def wheel(window, delta: int, modifier) -> None:
    canvas = window.canvas
    centre = QPointF(canvas.width() / 2, canvas.height() / 2)
    event = QWheelEvent(
        centre,
        canvas.mapToGlobal(centre),
        QPoint(),
        QPoint(0, delta),
        Qt.MouseButton.NoButton,
        modifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(canvas, event)


def test_a_stack_is_one_row_moved_through_and_labelled_frame_by_frame(
    qtbot, tmp_path: Path, study: Path
) -> None:
    window = open_window(qtbot, tmp_path / "settings.ini", FakePredictor())
    assert window.folders.open_folder(study)
    wait_ready(qtbot, window)
    c, slider = window.controller, window.frame_slider
    rows = [c.images.data(c.images.index(r)).split("\n")[0] for r in range(c.images.rowCount())]
    assert rows == ["ct", "img_000.png", "img_001.png", "vol.nii"]
    assert "6 frames" in c.images.data(c.images.index(0))
    assert slider.isVisible() and slider.slider.maximum() == 6 and slider.slider.value() == 1
    c.go_to(1)
    wait_ready(qtbot, window)
    assert not slider.isVisible()  # an ordinary image has no frames
    c.go_to(0)
    go_frame(qtbot, window, "ct#000")

    key(qtbot, window, Qt.Key.Key_PageDown)
    go_frame(qtbot, window, "ct#001")
    assert slider.slider.value() == 2
    # Anatomical order in spite of the shuffled file names (CT values: stored - 1024).
    expected = slice_pixels(1, *SIZE).astype(np.float32) - 1024
    np.testing.assert_array_equal(c.source.loaded.pixels, expected)
    slider.slider.setValue(4)
    go_frame(qtbot, window, "ct#003")
    wheel(window, 120, Qt.KeyboardModifier.ControlModifier)  # wheel up: one frame back
    go_frame(qtbot, window, "ct#002")
    assert slider.slider.value() == 3

    # One window/level for the whole volume: chosen here, kept on the next frame.
    assert window.window_level.dock.isVisible()
    chosen = Window(-1000.0, -500.0)
    window.window_level.panel.set_window(chosen)
    qtbot.waitUntil(lambda: c.source.window == chosen, timeout=3000)

    click_image(qtbot, window, 30, 25)
    key(qtbot, window, Qt.Key.Key_Return)
    wait_idle(window)
    key(qtbot, window, Qt.Key.Key_PageDown)
    go_frame(qtbot, window, "ct#003")
    qtbot.waitUntil(lambda: c.source.window == chosen, timeout=3000)
    click_image(qtbot, window, 32, 26)
    key(qtbot, window, Qt.Key.Key_Return)
    coco = saved_coco(window)
    names = {image["id"]: image["file_name"] for image in coco["images"]}
    tracks = [(names[a["image_id"]], a["track_id"]) for a in coco["annotations"]]
    assert tracks == [("ct#002", 1), ("ct#003", 1)]
    assert "2 annotations" in c.images.data(c.images.index(0))

    # Reopened: the annotations are on their frames.
    assert window.folders.open_folder(study)
    wait_ready(qtbot, window)
    frames = {
        stack_frame(c.document.image(a.image_id)).frame: track_id_of(a)
        for a in c.document.annotations
    }
    assert frames == {2: 1, 3: 1}
    slider.slider.setValue(3)
    go_frame(qtbot, window, "ct#002")
    assert c.layers.rowCount() == 1


def test_a_propagated_mask_is_drawn_dashed_on_its_frame_until_r(
    qtbot, tmp_path: Path, study: Path
) -> None:
    """A frame with the person's mask (track 1) and a propagated one nobody looked at
    (track 2): the second's outline has gaps, the text beside the slider says what dashed
    means; R (nothing selected) confirms the frame and both are drawn solid."""
    window = open_window(qtbot, tmp_path / "settings.ini", FakePredictor())
    assert window.folders.open_folder(study)
    wait_ready(qtbot, window)
    c = window.controller
    window.frame_slider.slider.setValue(3)
    go_frame(qtbot, window, "ct#002")
    category = c.ensure_category()
    for track, x in ((1, 5), (2, 42)):
        mask = np.zeros(SIZE, bool, order="F")
        mask[10:50, x : x + 32] = True
        add_frame_annotation(c.document, c.image_id, category, mask, track, reviewed=track == 1)
    canvas = window.canvas
    qtbot.waitUntil(lambda: len(canvas.annotations) == 2 and window.overlays.complete)
    color = QColor(c.document.category(category).color)
    assert canvas.scale >= 2  # no smoothing: outline pixels keep their colour
    assert gaps(top_edge(canvas, 10, range(5, 37), [color])) == 0
    assert gaps(top_edge(canvas, 10, range(42, 74), [color])) >= 2
    marks = window.propagation.marks
    assert "unreviewed</b> (dashed; R confirms)" in marks.text()
    assert "dashed" in marks.toolTip() and "dashed" in window.propagation.strip.toolTip()

    key(qtbot, window, Qt.Key.Key_R)
    qtbot.waitUntil(lambda: all(v.overlay.reviewed for v in canvas.annotations))
    assert gaps(top_edge(canvas, 10, range(42, 74), [color])) == 0
    assert "unreviewed" not in marks.text()
