"""Runs propagation requests (SAM 2 carrying masks through a stack) in a lane of their own.

:class:`QtPropagationRunner` implements :class:`samlabel.session.propagation_work.
PropagationRunner`: a run takes seconds per frame, so it has its own lane and never holds up
the decoder's clicks or the encoder. Each frame's masks cross to the GUI thread by a queued
signal as soon as they are computed, so they are shown while the run goes on; a cancelled run
stops between frames (the request's ``cancel`` flag).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from samlabel.inference.api import Predictor
from samlabel.qt.background import Lane, submit_cancellable
from samlabel.session.propagation import PropagationSession
from samlabel.session.propagation_work import PropagateRequest, PropagationCancelled


class QtPropagationRunner(QObject):
    """Answers ``part.on_*`` on the GUI thread.

    Signals:
        frameDone(number, frame, masks, record): emitted from the lane's thread per frame;
            ``masks`` is ``{track: (H, W) bool or None}``.
    """

    frameDone = Signal(int, int, object, str)

    def __init__(
        self,
        part: PropagationSession,
        predictor: Callable[[], Predictor | None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.part = part
        self._predictor = predictor
        self.lane = Lane("samlabel-propagation", newest_wins=False, parent=self)
        self.frameDone.connect(part.on_frame)

    def propagate(self, request: PropagateRequest) -> None:
        predictor, number = self._predictor(), request.number
        if predictor is None:
            self.part.on_failed(number, "no model is loaded")
            return
        emit = self.frameDone.emit
        submit_cancellable(
            self.lane,
            lambda: request.run(predictor, lambda f, masks, rec: emit(number, f, masks, rec)),
            PropagationCancelled,
            lambda frames: self.part.on_finished(number, frames),
            lambda: self.part.on_cancelled(number),
            lambda text: self.part.on_failed(number, text),
        )

    def shutdown(self) -> None:
        """Stop: a run in flight is cancelled at its next frame and waited for."""
        self.part.cancel(quiet=True)
        self.lane.shutdown(timeout=120.0)
