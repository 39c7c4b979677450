"""The canvas on its own: coordinates, the live mask at screen resolution, zoom and pan."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt

from samlabel.qt.canvas import ImageCanvas
from samlabel.qt.live_mask import LiveMaskFeed
from samlabel.qt.overlays import build_mask_overlay
from tests.qt.fakes import FakePredictor
from tests.qt.images import make_image


def _shown_canvas(qtbot, size: tuple[int, int], rgb: np.ndarray) -> ImageCanvas:
    """A shown canvas of ``size`` (width, height) with ``rgb`` fitted in it."""
    widget = ImageCanvas()
    qtbot.addWidget(widget)
    widget.resize(*size)
    widget.show()
    qtbot.waitExposed(widget)
    widget.set_image(rgb)
    widget.fit()
    return widget


@pytest.fixture
def canvas(qtbot) -> ImageCanvas:
    return _shown_canvas(qtbot, (640, 480), make_image(300, 400, 1))


def _sample(mask: np.ndarray, region, shape) -> np.ndarray:
    x0, y0, x1, y1 = region
    height, width = shape
    cols = (x0 + (np.arange(width) + 0.5) * (x1 - x0) / width).astype(int)
    rows = (y0 + (np.arange(height) + 0.5) * (y1 - y0) / height).astype(int)
    return mask[np.ix_(np.clip(rows, 0, mask.shape[0] - 1), np.clip(cols, 0, mask.shape[1] - 1))]


@pytest.mark.parametrize("zoom", [1.0, 3.0, 0.5])
def test_live_mask_on_screen_matches_the_full_size_mask(canvas, zoom: float) -> None:
    predictor = FakePredictor()
    embedding = predictor.encode(make_image(300, 400, 1))
    prediction = predictor.decode(embedding, points=[(150.0, 120.0, 1), (190.0, 120.0, 0)])
    canvas.zoom_by(zoom, canvas.image_to_widget(150, 120))
    LiveMaskFeed(canvas).show(prediction, 2)
    shown, region = canvas.live_mask_view()
    full = prediction.masks[2]
    agreement = (_sample(full, region, shown.shape) == shown).mean()
    assert agreement > 0.99
    assert shown.any() and not shown.all()


def test_clicks_report_image_coordinates(qtbot, canvas) -> None:
    points = []
    canvas.pointClicked.connect(lambda x, y, label: points.append((x, y, label)))
    pos = canvas.image_to_widget(100.5, 50.5).toPoint()
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=pos)
    qtbot.mouseClick(canvas, Qt.MouseButton.RightButton, pos=pos)
    assert [p[2] for p in points] == [1, 0]
    assert points[0][0] == pytest.approx(100.5, abs=1 / canvas.scale)
    # Outside the image: nothing.
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=QPoint(2, 2))
    assert len(points) == 2


def test_zoom_keeps_the_point_under_the_cursor(canvas) -> None:
    anchor = QPointF(200, 150)
    before = canvas.widget_to_image(anchor)
    canvas.zoom_by(2.0, anchor)
    after = canvas.widget_to_image(anchor)
    assert after == pytest.approx(before)


def test_space_tap_accepts_but_space_drag_pans(qtbot, canvas) -> None:
    taps = []
    canvas.spaceTapped.connect(lambda: taps.append(1))
    qtbot.keyPress(canvas, Qt.Key.Key_Space)
    qtbot.keyRelease(canvas, Qt.Key.Key_Space)
    assert taps == [1]
    offset = canvas.offset
    qtbot.keyPress(canvas, Qt.Key.Key_Space)
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=canvas.rect().center())
    qtbot.mouseMove(canvas, canvas.rect().center() + canvas.rect().center() / 4)
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=canvas.rect().center())
    qtbot.keyRelease(canvas, Qt.Key.Key_Space)
    assert taps == [1] and canvas.offset != offset


def test_large_image_pyramid_and_paint_are_fast(qtbot) -> None:
    """A 12 MP image: pan/zoom repaints stay well under a frame budget."""
    import time

    widget = _shown_canvas(qtbot, (1200, 800), np.full((3000, 4000, 3), 90, np.uint8))
    mask = np.zeros((3000, 4000), bool)
    mask[1000:2000, 1500:2600] = True
    from PySide6.QtGui import QColor

    from samlabel.qt.canvas import AnnotationView

    widget.set_annotations(
        [AnnotationView(1, build_mask_overlay(mask, QColor("#e6194b")), QColor("#e6194b"))]
    )
    widget.fit()
    widget.repaint()
    times = []
    for step in range(10):
        widget.zoom_by(1.15 if step < 5 else 1 / 1.15)
        widget.pan_by(7, 3)
        start = time.perf_counter()
        widget.repaint()
        times.append(time.perf_counter() - start)
    assert np.median(times) < 0.05, f"median repaint {np.median(times) * 1000:.0f} ms"


def test_wheel_zooms_around_the_cursor(qtbot, canvas) -> None:
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    anchor = QPointF(300, 200)
    before_scale, before_point = canvas.scale, canvas.widget_to_image(anchor)
    event = QWheelEvent(
        anchor,
        canvas.mapToGlobal(anchor),
        QPoint(0, 0),
        QPoint(0, 240),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(canvas, event)
    assert canvas.scale == pytest.approx(before_scale * 1.25**2)
    assert canvas.widget_to_image(anchor) == pytest.approx(before_point)


def test_ragged_masks_repaint_fast(qtbot, canvas) -> None:
    """Masks with thousands of islands (what random-weight models draw) cost one picture."""
    import time

    from PySide6.QtGui import QColor, QPixmap

    from samlabel.qt.canvas import AnnotationView

    ys, xs = np.mgrid[0:300, 0:400]
    views = []
    for index in range(10):
        ragged = ((xs // 3 + ys // 3 + index) % 2 == 0) & (xs > index * 10)
        views.append(
            AnnotationView(
                index,
                build_mask_overlay(ragged, QColor("#3cb44b")),
                QColor("#3cb44b"),
                selected=index == 3,
            )
        )
    canvas.set_annotations(views)
    target = QPixmap(canvas.size())
    times = []
    for _ in range(5):
        canvas.pan_by(2, 1)
        start = time.perf_counter()
        canvas.render(target)
        times.append(time.perf_counter() - start)
    assert np.median(times) < 0.1, f"median repaint {np.median(times) * 1000:.0f} ms"
    assert canvas.annotation_at(1, 1) == 0  # island pixel of the first mask


def test_an_unreviewed_mask_is_drawn_dashed_and_hatched(qtbot) -> None:
    """The same rectangle, reviewed on the left, unreviewed on the right: the left one's top
    edge is solid in its colour, the right one's has gaps every few pixels, and its fill is
    striped and lighter (closer to the plain grey image below)."""
    from PySide6.QtGui import QColor

    from samlabel.qt.canvas import AnnotationView
    from tests.qt.outline_pixels import gaps, top_edge

    widget = _shown_canvas(qtbot, (640, 480), np.full((60, 80, 3), 100, np.uint8))
    assert widget.scale >= 2  # drawn without smoothing: picture pixels keep their colours
    color = QColor("#e6194b")
    views = []
    for key, (x0, reviewed) in enumerate(((6, True), (44, False))):
        mask = np.zeros((60, 80), bool)
        mask[10:50, x0 : x0 + 30] = True
        views.append(AnnotationView(key, build_mask_overlay(mask, color, reviewed=reviewed), color))
    widget.set_annotations(views)

    solid = top_edge(widget, 10, range(6, 36), [color])
    dashed = top_edge(widget, 10, range(44, 74), [color])
    assert all(solid)
    assert gaps(dashed) >= 2 and 0.3 < sum(dashed) / len(dashed) < 0.8

    shot = widget.grab().toImage()

    def inside(x0: int) -> list[int]:
        return [
            shot.pixelColor(widget.image_to_widget(x + 0.5, 30.5).toPoint()).red()
            for x in range(x0 + 3, x0 + 27)
        ]

    plain, hatched = inside(6), inside(44)
    assert len(set(plain)) == 1 and len(set(hatched)) == 2  # stripes of two opacities
    assert np.mean(hatched) < plain[0]  # lighter: less of the red over the grey

    # Selected, the unreviewed mask keeps its dashes (in the emphasised line colour).
    views[1].selected = True
    widget.set_annotations(views)
    assert gaps(top_edge(widget, 10, range(44, 74), [color.lighter(140)])) >= 2
