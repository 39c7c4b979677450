"""Crop mode's face in the status bar: which picture of a huge image is shown, and a way back.

The states (overview, crop) belong to the session (:mod:`samlabel.session.current_image`);
this view only says which one is active and offers "Back to overview" while a crop is open.
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QLabel, QMainWindow, QPushButton, QSizePolicy

from samlabel.qt.controller import LabelController


class CropModeView(QObject):
    """Status text and "Back to overview" button over the controller's picture state.

    Attributes:
        label: status-bar text saying which mode is active ("" for ordinary images).
        back_button: "Back to overview", shown while a crop is open.
    """

    def __init__(
        self,
        controller: LabelController,
        label: QLabel,
        back_button: QPushButton,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.controller = controller
        self.label = label
        self.back_button = back_button
        self.label.hide()
        self.back_button.hide()
        self.back_button.clicked.connect(controller.session.back_to_overview)
        controller.imageChanged.connect(self._show_state)
        controller.imageLoaded.connect(self._show_state)

    def _show_state(self) -> None:
        source, crop = self.controller.source, self.controller.crop
        if source is not None and source.is_overview:
            height, width = source.full_size
            side = self.controller.session.crop_side
            text = (
                f"Huge image {width} x {height}, overview: click to label a {side} px "
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


def install_crop_mode(window: QMainWindow) -> CropModeView:
    """Add the crop-mode status text and "Back to overview" button to the main ``window``'s
    status bar and return their view."""
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
    return CropModeView(window.controller, label, button, parent=window)
