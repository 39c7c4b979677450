"""Crop mode: labelling huge images (orthomosaics, slides) at native resolution.

A huge image (:func:`samlabel.io.images.needs_tiled_view`: a side above 32,767 px, which Qt
cannot draw, or more pixels than the reader's limit) opens as an overview. A click on the
overview chooses where to work: the :data:`~samlabel.inference.crops.CROP_SIDE` px square
around it is read at native resolution (TIFF reads only its tiles), shown, and encoded by
SAM on its own (its embedding cached under a key holding the region); the click becomes the
first prompt, in crop pixels. Accepting maps the mask and prompts back into full-image
pixels (the controller uses ``controller.crop``), so the document stores full-size RLE.
"Back to overview" (or another image) leaves the crop.

The status bar says which mode is active.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QLabel, QMainWindow, QPushButton, QSizePolicy

from samlabel.core.errors import SamlabelError
from samlabel.inference.crops import CROP_SIDE, Crop, crop_around, read_crop
from samlabel.qt.controller import LabelController
from samlabel.qt.overlays import image_pyramid
from samlabel.session.source import SourceImage


class CropMode(QObject):
    """Switches the controller between a huge image's overview and crops of it.

    Attributes:
        side: side of the crop SAM encodes, in image pixels.
        label: status-bar text saying which mode is active ("" for ordinary images).
        back_button: "Back to overview", shown while a crop is open.
    """

    def __init__(
        self,
        controller: LabelController,
        label: QLabel,
        back_button: QPushButton,
        side: int = CROP_SIDE,
        parent: QObject | None = None,
        on_switch: Callable[[], None] | None = None,
    ) -> None:
        """``on_switch()`` runs before another picture of the same image is shown (the
        window forgets overlays prepared for the previous frame)."""
        super().__init__(parent)
        self.controller = controller
        self.label = label
        self.back_button = back_button
        self.side = side
        self._on_switch = on_switch
        self.overview: SourceImage | None = None
        self._overview_pyramid: list = []
        self.label.hide()
        self.back_button.hide()
        self.back_button.clicked.connect(self.back_to_overview)
        controller.imageChanged.connect(self._on_image_changed)
        controller.imageLoaded.connect(self._on_image_loaded)
        controller.on_overview_prompt = self.enter_crop_at

    @property
    def crop(self) -> Crop | None:
        """The crop being labelled, None on the overview or an ordinary image."""
        return self.controller.crop

    def _forget_picture(self) -> None:
        c = self.controller
        if c.worker is not None and self.overview is not None:
            c.worker.set_picture(self.overview.path, None)

    def _on_image_changed(self) -> None:
        if self.controller.crop is not None:
            self.controller._flush_accepts()  # still in the crop's frame: map them now
        self._forget_picture()
        self.controller.crop = None
        self.overview = None
        self._show_state()

    def _on_image_loaded(self) -> None:
        source = self.controller.source
        if source is not None and source.is_overview:
            self.overview = source
            self._overview_pyramid = self.controller.pyramid
        self._show_state()

    def _show_state(self) -> None:
        source, crop = self.controller.source, self.controller.crop
        if source is not None and source.is_overview:
            height, width = source.full_size
            text = (
                f"Huge image {width} x {height}, overview: click to label a {self.side} px "
                "crop around the click at full resolution"
            )
        elif source is not None and crop is not None:
            x0, y0, x1, y1 = crop.region
            text = (
                f"Crop mode: SAM sees {x1 - x0} x {y1 - y0} px from x {x0}, y {y0} at full "
                "resolution"
            )
        else:
            text = ""
        self.label.setText(text)
        self.label.setToolTip(text)
        self.label.setVisible(bool(text))
        self.back_button.setVisible(crop is not None)

    def enter_crop_at(self, x: float, y: float, label: int | None = None) -> bool:
        """Open the crop around overview point ``(x, y)``; with ``label`` (1/0) the click also
        becomes the first prompt there. False (with a message) when the crop cannot be read."""
        c, overview = self.controller, self.overview
        if overview is None or overview.full_size is None:
            return False
        height, width = overview.full_size
        oh, ow = overview.size
        full_x, full_y = x * width / ow, y * height / oh
        crop = crop_around(full_x, full_y, (height, width), self.side)
        window = overview.window or (
            overview.loaded.default_window if overview.loaded is not None else None
        )
        try:
            rgb, loaded = read_crop(overview.path, crop, window)
        except SamlabelError as error:
            c.message.emit("error", str(error))
            return False
        source = SourceImage(
            overview.path,
            rgb,
            f"{loaded.mode}, crop of {width} x {height}",
            loaded if loaded.default_window is not None else None,
            window=overview.window,
            full_size=(height, width),
            region=crop.region,
        )
        self._show_picture(source, crop)
        if label is not None:
            x0, y0 = crop.offset
            c.add_point(full_x - x0, full_y - y0, label)
        return True

    def back_to_overview(self) -> None:
        """Leave the crop; the overview is shown again (prompts are dropped)."""
        if self.overview is None or self.controller.crop is None:
            return
        self._show_picture(self.overview, None, self._overview_pyramid)

    def _show_picture(self, source: SourceImage, crop: Crop | None, pyramid=None) -> None:
        c = self.controller
        # An accept still waiting for its mask belongs to the current crop's frame: add it
        # before the frame changes.
        c._flush_accepts()
        c.session.clear()
        c.crop = crop
        c.source = source
        c.pyramid = pyramid if pyramid is not None else image_pyramid(source.display)
        if c.worker is not None:
            c.worker.set_picture(source.path, source if crop is not None else None)
        if self._on_switch is not None:
            self._on_switch()
        c.imageLoaded.emit()  # the window shows the new picture, fitted
        if c.worker is not None:
            c.refresh_embedding()
        c.promptsChanged.emit()


def install_crop_mode(window: QMainWindow) -> CropMode:
    """Add the crop-mode status text and "Back to overview" button to the main ``window``'s
    status bar and return the :class:`CropMode` of its controller."""
    label = QLabel("")
    label.setObjectName("cropModeLabel")
    # A long sentence must not widen the window: the label takes the room there is.
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    label.setMinimumWidth(120)
    button = QPushButton("Back to overview")
    button.setObjectName("backToOverviewButton")
    button.setFlat(True)
    window.status.addWidget(label, 2)  # more room than the embedding state beside it
    window.status.addWidget(button)
    return CropMode(
        window.controller, label, button, parent=window, on_switch=lambda: window.overlays.clear()
    )
