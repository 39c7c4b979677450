"""The window/level (brightness/contrast) control for high-bit-depth and float images.

A labelled range slider picks the stored values shown black (low) and white (high); "Auto"
takes the automatic percentile window, "Reset" the image's own default (the DICOM file's
centre/width, else the automatic one). The panel only reports the chosen
:class:`~samlabel.core.windowing.Window`; :mod:`samlabel.qt.window_level_session` applies it
to the screen and to what SAM encodes.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget
from superqt import QLabeledDoubleRangeSlider

from samlabel.core.windowing import Window, auto_window
from samlabel.io.images import LoadedImage

#: Values sampled (strided) to find the slider's range on a large image.
_RANGE_SAMPLES = 1_000_000


def value_range(
    loaded: LoadedImage, window: Window | None, auto: Window | None = None
) -> tuple[float, float]:
    """``(low, high)`` the slider spans: the finite stored values of the colour bands, widened
    to include ``window``; never empty (a constant image spans one unit around its value).

    With ``auto`` (the automatic window) the span is at most two of its widths either side of
    it, so a few extreme pixels (a metal clip at 60,000 in a scan of values near 2,000) do not
    squeeze the useful range into a few slider pixels. NaN and infinities are ignored; an
    image with no finite value spans ``(0, 1)``.
    """
    pixels = loaded.pixels
    if loaded.has_alpha and pixels.ndim == 3:
        pixels = pixels[..., :-1]
    flat = pixels.reshape(-1)
    sample = flat[:: max(1, flat.size // _RANGE_SAMPLES)]
    if np.issubdtype(sample.dtype, np.floating):
        sample = sample[np.isfinite(sample)]
    low, high = (float(sample.min()), float(sample.max())) if sample.size else (0.0, 1.0)
    if auto is not None:
        low, high = max(low, auto.low - 2 * auto.width), min(high, auto.high + 2 * auto.width)
    if window is not None:
        low, high = min(low, window.low), max(high, window.high)
    if high <= low:
        low, high = low - 0.5, high + 0.5
    return low, high


def _decimals(low: float, high: float) -> int:
    """Decimals worth showing for a span: 0 for >= 100 units, more for small float ranges."""
    span = high - low
    if span >= 100:
        return 0
    return min(6, max(1, 2 - math.floor(math.log10(span))))


class WindowLevelPanel(QWidget):
    """Low/high range slider with Auto and Reset buttons.

    Signals:
        windowChanged(Window): the user moved the slider or pressed a button.
    """

    windowChanged = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("windowLevelPanel")
        self.slider = QLabeledDoubleRangeSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("windowLevelSlider")
        self.slider.setToolTip("Stored values shown black (left handle) and white (right handle)")
        self.auto_button = QPushButton("Auto")
        self.auto_button.setToolTip("Clip the darkest and brightest 0.5 % of the pixels")
        self.reset_button = QPushButton("Reset")
        self.reset_button.setToolTip("The image's own window (the file's, else Auto)")
        self.info = QLabel("")
        self.info.setObjectName("windowLevelInfo")
        self.info.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.auto_button)
        buttons.addWidget(self.reset_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.slider)
        layout.addLayout(buttons)
        layout.addWidget(self.info)
        self._loaded: LoadedImage | None = None
        self._default: Window | None = None
        self._auto: Window | None = None
        self._quiet = False
        self.slider.valueChanged.connect(self._slider_moved)
        self.auto_button.clicked.connect(lambda: self._choose(self._auto))
        self.reset_button.clicked.connect(lambda: self._choose(self._default))

    @property
    def window(self) -> Window | None:
        """The window the slider shows now (None without an image)."""
        if self._loaded is None:
            return None
        low, high = self.slider.value()
        return Window(float(min(low, high)), float(max(low, high)))

    def set_image(self, loaded: LoadedImage | None, window: Window | None = None) -> None:
        """Show the controls for ``loaded`` (None: nothing to window) at ``window`` (None: the
        image's default). Emits nothing."""
        self._loaded = loaded
        if loaded is None:
            self._default = self._auto = None
            self.info.setText("")
            return
        pixels = loaded.pixels
        colour = pixels[..., :-1] if loaded.has_alpha and pixels.ndim == 3 else pixels
        self._auto = auto_window(colour)
        self._default = loaded.default_window or self._auto
        shown = window or self._default
        low, high = value_range(loaded, shown, self._auto)
        self._quiet = True
        try:
            self.slider.setDecimals(_decimals(low, high))
            self.slider.setRange(low, high)
            self.slider.setSingleStep(max((high - low) / 1000.0, 10.0 ** -_decimals(low, high)))
            self.slider.setValue((shown.low, shown.high))
        finally:
            self._quiet = False
        self.info.setText(f"{loaded.mode} · slider {low:g} … {high:g}")

    def set_window(self, window: Window) -> None:
        """Move the handles to ``window`` as if the user did (emits ``windowChanged``)."""
        self._choose(window)

    def _choose(self, window: Window | None) -> None:
        if window is None or self._loaded is None:
            return
        self._quiet = True
        try:
            self.slider.setValue((window.low, window.high))
        finally:
            self._quiet = False
        self.windowChanged.emit(window)

    def _slider_moved(self, _value: tuple[float, float]) -> None:
        if not self._quiet and self._loaded is not None:
            self.windowChanged.emit(self.window)
