"""The frame slider under the canvas, and the wheel with a modifier over the canvas.

Shown only while the current row of the image list is a stack. The slider counts frames
from 1 as people do (the COCO records count from 0); dragging it, PgUp/PgDn (the window's
actions) and Ctrl or Alt with the mouse wheel over the canvas all move through
``session.frames``, which reads the frame in the background like an image.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget
from superqt import QLabeledSlider

from samlabel.qt.controller import LabelController

#: Modifiers that turn the wheel over the canvas into frame steps (plain wheel zooms).
FRAME_WHEEL = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier


class FrameSlider(QWidget):
    """``Frame [----o----] 12`` of the current stack; hidden on an ordinary image."""

    def __init__(self, controller: LabelController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("frameSlider")
        self._controller = controller
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 2, 8, 2)
        self.title = QLabel("Frame")
        self.slider = QLabeledSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("frameSliderBar")
        self.slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys stay the window's
        self.count = QLabel("")
        layout.addWidget(self.title)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.count)
        self.slider.valueChanged.connect(self._on_value)
        controller.imageChanged.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        """Follow the current row: its frame, or hidden for an ordinary image."""
        frames = self._controller.session.frames
        stack = frames.stack
        self.setVisible(stack is not None)
        if stack is None:
            return
        blocked = self.slider.blockSignals(True)  # the frame is already shown
        try:
            self.slider.setRange(1, stack.frames)
            self.slider.setValue(frames.frame + 1)
        finally:
            self.slider.blockSignals(blocked)
        self.count.setText(f"of {stack.frames}")

    def _on_value(self, value: int) -> None:
        self._controller.session.frames.go_to_frame(int(value) - 1)

    def step(self, delta: int) -> None:
        """Move ``delta`` frames (PgDn +1, PgUp -1)."""
        self._controller.session.frames.step(delta)


class FrameWheel(QObject):
    """Event filter on the canvas: Ctrl/Alt + wheel steps through a stack's frames."""

    def __init__(self, controller: LabelController, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._controller = controller

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.Wheel or not isinstance(event, QWheelEvent):
            return False
        frames = self._controller.session.frames
        if frames.stack is None or not event.modifiers() & FRAME_WHEEL:
            return False
        # Alt turns the wheel horizontal on some systems: take whichever axis moved.
        delta = event.angleDelta().y() or event.angleDelta().x()
        if delta:
            frames.step(-1 if delta > 0 else 1)  # wheel up goes back, as in DICOM viewers
        event.accept()
        return True


def install_frame_navigation(window) -> FrameSlider:
    """Put the slider under the window's canvas and the wheel filter on it."""
    slider = FrameSlider(window.controller)
    layout = window.canvas.parentWidget().layout()
    layout.insertWidget(layout.indexOf(window.canvas) + 1, slider)
    window.frame_wheel = FrameWheel(window.controller, window)
    window.canvas.installEventFilter(window.frame_wheel)
    return slider
