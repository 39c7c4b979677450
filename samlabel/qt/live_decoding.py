"""Keeps the prompt session's masks coming from the background decoder.

:class:`LiveDecoding` sits between the controller's :class:`PromptSession` and a
:class:`DecodeWorker`. It has at most one request in flight: the step whose mask the user
waits for. A step created while another decodes is sent when that one lands, so a click that
refines a mask gets the previous mask's logits fed back exactly as a synchronous decode would,
and a burst of clicks costs at most one extra decode (the steps in between are never decoded).

Answers for prompts that no longer exist (undo, Esc, another image, another embedding) are
dropped. An accept pressed before its mask arrived is queued as a :class:`PendingAccept`,
decoded first, and handed back by ``acceptReady``; it survives Esc and image switches because
the user already confirmed it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, Signal

from samlabel.inference.api import ImageEmbedding, Prediction, Predictor
from samlabel.qt.decode_worker import DecodeWorker
from samlabel.qt.workers import describe_error
from samlabel.session.prompts import PromptSession, PromptStep, feedback_logits

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class PendingAccept:
    """An accept whose mask was still being decoded.

    Attributes:
        image_id: document id of the image the prompts were made on.
        category: category id chosen when the user accepted.
        steps: the prompt steps at that moment; the last one is accepted.
        embedding: that image's embedding.
    """

    image_id: int
    category: int
    steps: tuple[PromptStep, ...]
    embedding: ImageEmbedding

    @property
    def step(self) -> PromptStep:
        """The accepted step (its ``prediction`` is set once ``acceptReady`` fires)."""
        return self.steps[-1]


@dataclass(frozen=True, eq=False)
class _Flight:
    """The request in the decoder: which step it answers, with which inputs."""

    number: int
    step: PromptStep
    embedding: ImageEmbedding
    mask_input: np.ndarray | None


class LiveDecoding(QObject):
    """Decodes the session's newest step (and queued accepts) in the background.

    Signals:
        predictionArrived(): a step of the session got its prediction (redraw the mask).
        acceptReady(PendingAccept): a queued accept's step has its prediction; add it now.
        failed(str): the decoder failed; a message for the user.
    """

    predictionArrived = Signal()
    acceptReady = Signal(object)
    failed = Signal(str)

    def __init__(self, session: PromptSession, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._session = session
        self._worker: DecodeWorker | None = None
        self._embedding: ImageEmbedding | None = None
        self._flight: _Flight | None = None
        self._accepts: list[PendingAccept] = []
        #: A session step whose decode failed: not retried until the prompts change.
        self._failed_step: PromptStep | None = None
        #: Milliseconds the decoder took for the last prediction that arrived.
        self.last_ms = 0.0

    @property
    def worker(self) -> DecodeWorker | None:
        """The background decoder (None without a model)."""
        return self._worker

    def set_predictor(self, predictor: Predictor | None) -> None:
        """Decode with ``predictor`` from now on; queued accepts must be flushed first."""
        if self._worker is not None:
            self._worker.shutdown(timeout=0.5)
            self._worker.deleteLater()
            self._worker = None
        self._flight = None
        self._accepts.clear()
        if predictor is not None:
            self._worker = DecodeWorker(predictor, self)
            self._worker.decoded.connect(self._on_decoded)
            self._worker.failed.connect(self._on_failed)

    # -- requests ------------------------------------------------------------------------
    def update(self, embedding: ImageEmbedding | None) -> None:
        """The session or the current image's ``embedding`` changed: drop a decode nobody
        waits for any more, and start the one now needed."""
        self._embedding = embedding
        flight = self._flight
        if flight is not None and not self._wanted(flight.step, flight.embedding):
            self._flight = None
            if self._worker is not None:
                self._worker.cancel()
        self._start_next()

    def queue_accept(self, job: PendingAccept) -> None:
        """Accept ``job.step`` as soon as its prediction arrives (``acceptReady``)."""
        self._accepts.append(job)
        self._start_next()

    def has_pending_accepts(self) -> bool:
        """Whether accepted prompts still wait for their mask."""
        return bool(self._accepts)

    def is_idle(self) -> bool:
        """Whether nothing is being decoded or waits to be (the shown mask is final)."""
        return self._flight is None and self._next_target() is None

    def _wanted(self, step: PromptStep, embedding: ImageEmbedding) -> bool:
        """Whether an answer for ``step`` is still of use: a step of a queued accept, or of
        the session on the same embedding."""
        if any(any(s is step for s in job.steps) for job in self._accepts):
            return True
        return embedding is self._embedding and self._session.contains(step)

    def _next_target(self) -> tuple[tuple[PromptStep, ...], ImageEmbedding] | None:
        """The steps whose last one to decode next, and on which embedding; queued accepts
        come first, then the session's newest step."""
        if self._worker is None:
            return None
        if self._accepts:
            job = self._accepts[0]
            return job.steps, job.embedding
        step = self._session.current
        if step is None or step.prediction is not None or self._embedding is None:
            return None
        if step is self._failed_step:
            return None
        return tuple(self._session.steps), self._embedding

    def _start_next(self) -> None:
        if self._flight is not None:
            return  # one at a time: the next step may need this one's logits fed back
        target = self._next_target()
        if target is None or self._worker is None:
            return
        steps, embedding = target
        step = steps[-1]
        mask_input = feedback_logits(steps)
        number = self._worker.submit(embedding, step.points, step.box, mask_input)
        self._flight = _Flight(number, step, embedding, mask_input)

    def _job_of(self, step: PromptStep) -> PendingAccept | None:
        return next((job for job in self._accepts if job.step is step), None)

    # -- answers -------------------------------------------------------------------------
    def _on_decoded(self, number: int, prediction: Prediction, elapsed_ms: float) -> None:
        flight = self._flight
        if flight is None or flight.number != number:
            return  # cancelled: the prompts or the image changed while it ran
        self._flight = None
        step = flight.step
        shown = False
        if self._wanted(step, flight.embedding):
            step.set_prediction(prediction, flight.mask_input)
            self.last_ms = elapsed_ms
            shown = self._session.contains(step)
        job = self._job_of(step)
        if job is not None:
            self._accepts.remove(job)
        self._start_next()
        if job is not None:
            self.acceptReady.emit(job)
        if shown:
            self.predictionArrived.emit()

    def _on_failed(self, number: int, text: str) -> None:
        flight = self._flight
        if flight is None or flight.number != number:
            return
        self._flight = None
        job = self._job_of(flight.step)
        if job is not None:
            self._accepts.remove(job)
            self.failed.emit(f"Could not compute the mask to accept: {text}")
        else:
            self._failed_step = flight.step
            self.failed.emit(f"Could not compute the mask: {text}")
        self._start_next()

    # -- closing -------------------------------------------------------------------------
    def flush(self) -> list[PendingAccept]:
        """Decode the queued accepts now, on the calling thread, and hand them back.

        For closing a folder or changing the model, where waiting for the background would
        lose the user's accept. Accepts whose decode fails are reported and left out.
        """
        jobs, self._accepts = self._accepts, []
        if self._flight is not None and not self._wanted(self._flight.step, self._flight.embedding):
            self._flight = None
            if self._worker is not None:
                self._worker.cancel()
        done: list[PendingAccept] = []
        for job in jobs:
            step = job.step
            if step.prediction is None and self._worker is not None:
                mask_input = feedback_logits(job.steps)
                try:
                    prediction = self._worker.predictor.decode(
                        job.embedding,
                        points=list(step.points) or None,
                        box=step.box,
                        mask_input=mask_input,
                    )
                except Exception as error:  # reported, the other accepts still go through
                    log.exception("decoding an accepted prompt set failed")
                    self.failed.emit(
                        f"Could not compute the mask to accept: {describe_error(error)}"
                    )
                    continue
                step.set_prediction(prediction, mask_input)
            if step.prediction is not None:
                done.append(job)
        return done

    def shutdown(self) -> None:
        """Stop the decoder thread, letting a decode in progress finish (call after
        :meth:`flush`)."""
        if self._worker is not None:
            self._worker.shutdown(timeout=10.0)
        self.set_predictor(None)
