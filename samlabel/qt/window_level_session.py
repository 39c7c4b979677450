"""Applies the window/level the user chooses: at once to the screen, debounced to SAM.

Moving the slider redraws the picture on the next event-loop turn (a burst of slider moves
costs one redraw per turn, not one per move). What SAM sees is the same picture, so the
embedding is computed again, but only :data:`REENCODE_DELAY_MS` after the last change: a
drag across the slider costs one encode, not fifty. The embedding worker keys both of its
caches by the window, so going back to an earlier window of the same image is instant.

While the new embedding is computed, prompts stay and are decoded again when it arrives.
Leaving the image forgets its window (it opens again with the default).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QMainWindow

from samlabel.core.windowing import Window
from samlabel.io.images import to_display_rgb
from samlabel.qt.canvas import ImageCanvas
from samlabel.qt.controller import LabelController
from samlabel.qt.overlays import image_pyramid
from samlabel.qt.window_level import WindowLevelPanel

#: Quiet time after the last window change before SAM encodes the new picture.
REENCODE_DELAY_MS = 600


class WindowLevelSession(QObject):
    """Glue between :class:`WindowLevelPanel`, the controller's image and the canvas.

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
        self._encoded_path: str | None = None
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
        if self.controller.worker is not None:
            self.reencode_timer.start()  # restarting it is the debounce

    def _show_panel(self, visible: bool) -> None:
        self.panel.setEnabled(visible)
        if self.dock is not None:
            self.dock.setVisible(visible)

    def _on_image_changed(self) -> None:
        self.display_timer.stop()
        self.reencode_timer.stop()
        self._window = None
        worker = self.controller.worker
        if self._encoded_path is not None and worker is not None:
            worker.set_picture(self._encoded_path, None)
        self._encoded_path = None

    def _on_image_loaded(self) -> None:
        source = self.controller.source
        if source is None or source.loaded is None:
            self.panel.set_image(None)
            self._show_panel(False)
            return
        self.panel.set_image(source.loaded, source.window)
        self._show_panel(True)

    def _redraw(self) -> None:
        source, window = self.controller.source, self._window
        if source is None or source.loaded is None or window is None:
            return
        if source.window == window:
            return
        rgb = to_display_rgb(source.loaded, window)
        pyramid = image_pyramid(rgb)
        self.controller.source = replace(source, display=rgb, window=window)
        self.controller.pyramid = pyramid
        self.canvas.replace_pixels(rgb, pyramid)
        self.controller.promptsChanged.emit()  # candidate thumbnails show the new picture

    def _reencode(self) -> None:
        c = self.controller
        if self.display_timer.isActive():
            self.display_timer.stop()
            self._redraw()
        source, worker = c.source, c.worker
        if source is None or source.window is None or worker is None or c.row < 0:
            return
        if source.is_overview:
            return  # a huge image's overview is not encoded; its crops follow its window
        path = str(c.paths[c.row])
        if Path(path) != source.path:
            return
        default = source.loaded is not None and source.window == source.loaded.default_window
        if default and source.region is None:
            worker.set_picture(path, None)  # the file's own picture and cache keys
        else:
            worker.set_picture(path, source)  # keyed by its window (and crop region)
        self._encoded_path = path
        for step in c.session.steps:  # decoded again against the new embedding
            step.prediction = None
        c.embedding = None
        c.refresh_embedding()
        c.promptsChanged.emit()


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
