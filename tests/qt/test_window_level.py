"""Window/level of 16-bit and float images: the screen follows at once, SAM after a pause."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from samlabel.core.windowing import Window
from tests.qt.fakes import FakePredictor, image_mean
from tests.qt.window_helpers import click_image, open_window, wait_ready


def faint_scan(height: int = 120, width: int = 160) -> np.ndarray:
    """A 16-bit grey scan: a dim gradient 1000..1400 with a faint square (+40) in it."""
    ramp = np.linspace(1000, 1400, width, dtype=np.float64)[None, :].repeat(height, axis=0)
    ramp[40:80, 60:100] += 40
    return ramp.astype(np.uint16)


def open_on(qtbot, tmp_path: Path, pixels: np.ndarray, name: str = "scan.tif", **kw):
    folder = tmp_path / "images"
    folder.mkdir()
    tifffile.imwrite(folder / name, pixels)
    predictor = FakePredictor()
    window = open_window(qtbot, tmp_path / "settings.ini", predictor, **kw)
    assert window.folders.open_folder(folder)
    wait_ready(qtbot, window)
    return window, predictor


def canvas_pixels(window) -> np.ndarray:
    """What the canvas draws now, as an ``(h, w, 3)`` uint8 screenshot."""
    image = (
        window.canvas.grab()
        .toImage()
        .convertToFormat(window.canvas.grab().toImage().Format.Format_RGB888)
    )
    buffer = np.frombuffer(image.constBits(), np.uint8)
    return buffer.reshape(image.height(), image.bytesPerLine())[:, : image.width() * 3].copy()


def test_dragging_the_window_redraws_at_once_and_encodes_once_after_the_burst(
    qtbot, tmp_path: Path
) -> None:
    window, predictor = open_on(qtbot, tmp_path, faint_scan(), cache=True)
    c, session = window.controller, window.window_level
    assert window.findChild(type(session.dock), "windowLevelDock").isVisible()
    default = c.source.loaded.default_window
    assert session.panel.window == default
    assert len(predictor.encoded) == 1
    click_image(qtbot, window, 80, 60)
    assert c.prompts.prediction is not None
    before_display, before_screen = c.source.display.copy(), canvas_pixels(window)
    # A drag: ten slider positions 20 ms apart, narrowing onto the faint square's values.
    slider = session.panel.slider
    for step in range(10):
        slider.setValue((1000 + 20 * step, 1430 - 5 * step))
        qtbot.wait(20)
    final = Window(1180.0, 1385.0)
    qtbot.waitUntil(lambda: c.source.window == final, timeout=2000)
    assert not np.array_equal(c.source.display, before_display)
    qtbot.waitUntil(lambda: not np.array_equal(canvas_pixels(window), before_screen), timeout=2000)
    # The square (1240 vs 1200 around it) now differs by ~45 grey levels instead of ~25.
    shown = c.source.display[..., 0].astype(int)
    assert shown[60, 80] - shown[60, 50] > 40
    assert len(predictor.encoded) == 1  # nothing encoded during the drag
    qtbot.waitUntil(lambda: len(predictor.encoded) == 2 and c.embedding is not None, timeout=3000)
    qtbot.wait(800)  # a further debounce period: still exactly one re-encode
    assert len(predictor.encoded) == 2
    assert predictor.encoded[1][1] == pytest.approx(image_mean(c.source.display))
    assert c.prompts.prediction is not None  # the prompt was decoded again
    # The window is part of the embedding keys: back to the default is answered from the
    # cache (no encode), another window is encoded.
    session.panel.reset_button.click()
    qtbot.waitUntil(lambda: c.source.window == default, timeout=2000)
    qtbot.waitUntil(lambda: c.embedding is not None and not session.reencode_timer.isActive())
    qtbot.wait(100)
    assert len(predictor.encoded) == 2
    session.panel.set_window(final)
    qtbot.waitUntil(lambda: c.embedding is not None and not session.reencode_timer.isActive())
    qtbot.wait(100)
    assert len(predictor.encoded) == 2
    session.panel.auto_button.click()  # auto equals the default of a TIFF: still cached
    session.panel.set_window(Window(900.0, 1500.0))
    qtbot.waitUntil(lambda: len(predictor.encoded) == 3, timeout=3000)


def test_eight_bit_images_have_no_window_control(qtbot, tmp_path: Path) -> None:
    folder = tmp_path / "images"
    folder.mkdir()
    Image.fromarray(np.full((60, 80, 3), 90, np.uint8)).save(folder / "a.png")
    window = open_window(qtbot, tmp_path / "settings.ini", FakePredictor())
    assert window.folders.open_folder(folder)
    wait_ready(qtbot, window)
    assert not window.window_level.dock.isVisible()
    assert not window.window_level.active


@pytest.mark.parametrize(
    "pixels",
    [
        np.full((50, 70), 1234, np.uint16),
        np.where(np.eye(50, 70, dtype=bool), np.nan, np.linspace(0, 1, 70)).astype(np.float32),
        np.full((50, 70), np.nan, np.float32),
    ],
    ids=["constant-16-bit", "float-with-nan", "all-nan"],
)
def test_constant_and_nan_images_window_without_crashing(qtbot, tmp_path, pixels) -> None:
    window, predictor = open_on(qtbot, tmp_path, pixels)
    c, panel = window.controller, window.window_level.panel
    low, high = panel.slider.minimum(), panel.slider.maximum()
    assert high > low and np.isfinite([low, high]).all()
    panel.slider.setValue((low, low + (high - low) / 3))
    qtbot.waitUntil(lambda: c.source.window is not None, timeout=2000)
    assert c.source.display.dtype == np.uint8 and c.source.display.shape == (50, 70, 3)
    qtbot.waitUntil(lambda: len(predictor.encoded) == 2, timeout=3000)


def test_reset_returns_to_the_dicom_files_window_and_auto_to_the_percentiles(
    qtbot, tmp_path: Path
) -> None:
    from tests.io.images_factory import write_dicom

    folder = tmp_path / "images"
    folder.mkdir()
    write_dicom(folder / "ct.dcm", faint_scan(), window=(1200.0, 200.0))
    window = open_window(qtbot, tmp_path / "settings.ini", FakePredictor())
    assert window.folders.open_folder(folder)
    wait_ready(qtbot, window)
    c, panel = window.controller, window.window_level.panel
    assert panel.window == Window(1100.0, 1300.0)  # the file's centre/width is the default
    panel.auto_button.click()
    qtbot.waitUntil(lambda: c.source.window is not None, timeout=2000)
    auto = c.source.window
    assert auto != Window(1100.0, 1300.0) and auto.low < 1010 and auto.high > 1390
    assert panel.window == auto
    panel.reset_button.click()
    qtbot.waitUntil(lambda: c.source.window == Window(1100.0, 1300.0), timeout=2000)
    shown = c.source.display[..., 0]
    assert shown[:, 0].max() == 0 and shown[:, -1].min() == 255  # clipped outside the window
