"""The status bar: what the model is doing, which model, where the cursor is, the zoom."""

from __future__ import annotations

import time

from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar, QWidget


class LabelStatusBar(QStatusBar):
    """Embedding progress (busy bar + seconds), decode time, model, cursor and zoom."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statusBar")
        self.state_label = QLabel("")
        self.state_label.setObjectName("embeddingState")
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)  # busy: the encoder gives no progress of its own
        self.progress.setFixedWidth(120)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.decode_label = QLabel("")
        self.position_label = QLabel("")
        self.zoom_label = QLabel("")
        self.model_label = QLabel("No model")
        self.model_label.setObjectName("modelLabel")
        self.addWidget(self.progress)
        self.addWidget(self.state_label, 1)
        for label in (self.decode_label, self.position_label, self.zoom_label, self.model_label):
            self.addPermanentWidget(label)
        self._started_at: float | None = None
        self._name = ""

    def show_busy(self, what: str, started_at: float) -> None:
        """Show ``what`` is going on since ``started_at`` (``time.monotonic()``) with a busy bar
        and the seconds elapsed, e.g. ``"Computing the embedding of a.jpg"``."""
        self._name, self._started_at = what, started_at
        self.progress.setRange(0, 0)
        self.progress.show()
        self.tick()

    def show_progress(self, what: str, fraction: float) -> None:
        """A determinate bar at ``fraction`` (0..1) with ``what`` beside it, e.g. the ONNX
        export of a first model load; the elapsed seconds keep ticking if busy before."""
        self._name = what
        self.progress.setRange(0, 1000)
        self.progress.setValue(round(1000 * min(max(fraction, 0.0), 1.0)))
        self.progress.show()
        if self._started_at is None:
            self.state_label.setText(what)
        else:
            self.tick()

    def tick(self) -> None:
        """Refresh the elapsed seconds (called by a timer while encoding)."""
        if self._started_at is None:
            return
        elapsed = time.monotonic() - self._started_at
        self.state_label.setText(f"{self._name}… {elapsed:.1f} s")

    def show_state(self, text: str) -> None:
        """A steady state line (ready, failed, no model)."""
        self._started_at = None
        self.progress.hide()
        self.state_label.setText(text)

    @property
    def encoding(self) -> bool:
        """Whether the busy indicator shows."""
        return self._started_at is not None
