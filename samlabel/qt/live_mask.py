"""The live mask the canvas draws, made outside the canvas.

:class:`LiveMaskFeed` turns the prediction being shown into what the canvas draws: the chosen
candidate resampled at the screen resolution of the visible region (so a 12 MP image costs
what the screen shows, not what the file holds), outlined, as a QImage. It is made again when
the prediction, the candidate or the view changes; the canvas itself only draws the image it
is given (:meth:`ImageCanvas.set_live_mask`) and never touches a :class:`Prediction`.
"""

from __future__ import annotations

from PySide6.QtGui import QColor

from samlabel.inference.api import Prediction
from samlabel.qt.canvas import ImageCanvas, LiveMaskImage
from samlabel.qt.canvas_painting import LIVE_COLOR
from samlabel.qt.overlays import outlined_mask_image

#: Opacity (0-255) of the live mask's fill.
LIVE_ALPHA = 135


class LiveMaskFeed:
    """Keeps ``canvas``'s live mask in step with a prediction and the view."""

    def __init__(self, canvas: ImageCanvas) -> None:
        self.canvas = canvas
        self._prediction: Prediction | None = None
        self._index = 0
        self._color = QColor(LIVE_COLOR)
        self._key: tuple | None = None
        canvas.viewChanged.connect(self.refresh)

    def show(
        self, prediction: Prediction | None, index: int = 0, color: QColor | None = None
    ) -> None:
        """Show candidate ``index`` of ``prediction`` (None hides the live mask)."""
        self._prediction, self._index = prediction, index
        if color is not None and QColor(color) != self._color:
            self._color = QColor(color)
            self._key = None
        self.refresh()

    def refresh(self) -> None:
        """Make the mask for the current view again if anything it depends on changed."""
        prediction, canvas = self._prediction, self.canvas
        visible = canvas.visible_region() if prediction is not None else None
        if visible is None:
            self._key = None
            canvas.set_live_mask(None)
            return
        region, view_size = visible
        key = (id(prediction), self._index, region, view_size, canvas.devicePixelRatioF())
        if key == self._key and canvas.live_mask_view() is not None:
            return
        mask = prediction.mask_logits_for_view(self._index, view_size, region) > 0.0
        image = outlined_mask_image(mask, self._color, LIVE_ALPHA)
        image.setDevicePixelRatio(canvas.devicePixelRatioF())
        self._key = key
        canvas.set_live_mask(LiveMaskImage(image, mask, region))
