"""Applies the window/level the user chooses: at once to the screen, debounced to SAM.

Moving the slider redraws the picture on the next event-loop turn (a burst of slider moves
costs one redraw per turn, not one per move). What SAM sees is the same picture, so the
embedding is computed again, but only :data:`REENCODE_DELAY_MS` after the last change: a
drag across the slider costs one encode, not fifty. Both steps are the session's
(``session.image.show_window``, ``session.encode_window``); this adapter only times them.
The encoder keys its caches by the window, so going back to an earlier window is instant.

While the new embedding is computed, prompts stay and are decoded again when it arrives.
Leaving the image forgets its window (it opens again with the default).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QMainWindow

from samlabel.core.windowing import Window
from samlabel.qt.canvas import ImageCanvas
from samlabel.qt.controller import LabelController
from samlabel.qt.window_level import WindowLevelPanel

#: Quiet time after the last window change before SAM encodes the new picture.
REENCODE_DELAY_MS = 600


class WindowLevelSession(QObject):
    """Glue between :class:`WindowLevelPanel`, the session's picture and the canvas.

    Attributes:
        reencode_timer: single-shot :data:`REENCODE_DELAY_MS` timer (tests may shorten it).
    """

    def __init__(
        self,
        controller: LabelController,
        panel: WindowLevelPanel,
        canvas: ImageCanvas,
        dock: QDockWidget | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.controller = controller
        self.panel = panel
        self.canvas = canvas
        self.dock = dock
        self._window: Window | None = None
        self.display_timer = QTimer(self)
        self.display_timer.setSingleShot(True)
        self.display_timer.setInterval(0)
        self.display_timer.timeout.connect(self._redraw)
        self.reencode_timer = QTimer(self)
        self.reencode_timer.setSingleShot(True)
        self.reencode_timer.setInterval(REENCODE_DELAY_MS)
        self.reencode_timer.timeout.connect(self._reencode)
        panel.windowChanged.connect(self.set_window)
        controller.imageChanged.connect(self._on_image_changed)
        controller.imageLoaded.connect(self._on_image_loaded)
        controller.pixelsChanged.connect(self._on_pixels_changed)
        self._show_panel(False)

    @property
    def active(self) -> bool:
        """Whether the current image can be windowed (>8-bit or float, or a DICOM window)."""
        source = self.controller.source
        return source is not None and source.loaded is not None

    def set_window(self, window: Window) -> None:
        """Show the current image through ``window`` now; re-encode after a quiet time."""
        if not self.active:
            return
        self._window = window
        self.display_timer.start()
        if self.controller.predictor is not None:
            self.reencode_timer.start()  # restarting it is the debounce

    def _show_panel(self, visible: bool) -> None:
        self.panel.setEnabled(visible)
        if self.dock is not None:
            self.dock.setVisible(visible)

    def _on_image_changed(self) -> None:
        self.display_timer.stop()
        self.reencode_timer.stop()
        self._window = None

    def _on_image_loaded(self) -> None:
        source = self.controller.source
        if source is None or source.loaded is None:
            self.panel.set_image(None)
            self._show_panel(False)
            return
        self.panel.set_image(source.loaded, source.window)
        self._show_panel(True)

    def _redraw(self) -> None:
        if self._window is not None:
            self.controller.session.image.show_window(self._window)

    def _on_pixels_changed(self) -> None:
        source = self.controller.source
        if source is not None:
            self.canvas.replace_pixels(source.display, self.controller.pyramid)

    def _reencode(self) -> None:
        if self.display_timer.isActive():
            self.display_timer.stop()
            self._redraw()
        self.controller.session.encode_window()


def install_window_level(window: QMainWindow) -> WindowLevelSession:
    """Add the "Window / level" dock (right side, hidden until a >8-bit image is shown) to
    the main ``window`` (which has ``controller`` and ``canvas``) and return its session."""
    panel = WindowLevelPanel()
    dock = QDockWidget("Window / level", window)
    dock.setObjectName("windowLevelDock")
    dock.setWidget(panel)
    dock.setFeatures(
        QDockWidget.DockWidgetFeature.DockWidgetMovable
        | QDockWidget.DockWidgetFeature.DockWidgetFloatable
    )
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    return WindowLevelSession(window.controller, panel, window.canvas, dock, parent=window)
