"""Runs proposal requests (segment everything) in a background lane of their own.

:class:`QtProposalRunner` implements :class:`samlabel.session.proposals.ProposalRunner`: the
run takes seconds to minutes, so it has its own newest-wins :class:`~samlabel.qt.background.
Lane` and never holds up the decoder lane's clicks; it reuses the picture's embedding from the
request. Progress crosses to the GUI thread by a queued signal; a cancelled run stops at its
next batch of points (the request's ``cancel`` flag).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from samlabel.inference.api import Predictor
from samlabel.qt.background import Lane, submit_cancellable
from samlabel.session.proposal_work import ProposalsCancelled, ProposeRequest
from samlabel.session.proposals import ProposalSession


class QtProposalRunner(QObject):
    """Answers ``proposals.on_*`` on the GUI thread.

    Signals:
        progressed(number, done, total): emitted from the lane's thread after each batch.
    """

    progressed = Signal(int, int, int)

    def __init__(
        self,
        proposals: ProposalSession,
        predictor: Callable[[], Predictor | None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.proposals = proposals
        self._predictor = predictor
        self.lane = Lane("samlabel-proposals", newest_wins=True, parent=self)
        self.progressed.connect(proposals.on_progress)

    def propose(self, request: ProposeRequest) -> None:
        predictor, number = self._predictor(), request.number
        if predictor is None:
            self.proposals.on_failed(number, "no model is loaded")
            return
        emit = self.progressed.emit
        submit_cancellable(
            self.lane,
            lambda: request.run(predictor, lambda done, total: emit(number, done, total)),
            ProposalsCancelled,
            lambda masks: self.proposals.on_proposed(number, masks),
            lambda: self.proposals.on_cancelled(number),
            lambda text: self.proposals.on_failed(number, text),
        )

    def shutdown(self) -> None:
        """Stop: a run in flight is cancelled at its next batch and waited for."""
        if self.proposals.running is not None:
            self.proposals.running.cancel.set()
        self.lane.shutdown()
