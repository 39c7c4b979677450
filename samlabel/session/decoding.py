"""Newest-request-wins decoding of the prompts, and the accepts that wait for their mask.

:class:`DecodeScheduler` decides which prompt set the decoder works on; a
:class:`~samlabel.session.work.WorkRunner` runs it. At most one request is in flight: the step
whose mask the user waits for. A step created while another decodes is sent when that one
lands, so a click that refines a mask gets the previous mask's logits fed back exactly as a
synchronous decode would, and a burst of clicks costs at most one extra decode (the steps in
between are never decoded).

Answers for prompts that no longer exist (undo, Esc, another image, another embedding) are
dropped. An accept pressed before its mask arrived is queued as a :class:`PendingAccept`,
decoded first, and handed on (``on_accept_decoded``); it survives Esc and image switches
because the user already confirmed it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from samlabel.core.errors import SamlabelError
from samlabel.inference.api import ImageEmbedding, Prediction, Predictor
from samlabel.inference.crops import Crop
from samlabel.session.prompts import PromptSession, PromptStep, feedback_logits
from samlabel.session.work import DecodeRequest, WorkRunner, private_logits

log = logging.getLogger(__name__)


def describe_error(error: BaseException) -> str:
    """A sentence for the user: SamlabelError messages as they are, others with their type."""
    if isinstance(error, SamlabelError):
        return str(error)
    return f"{type(error).__name__}: {error}"


@dataclass(frozen=True, eq=False)
class PendingAccept:
    """An accepted prompt set on its way into the document.

    Attributes:
        image_id: document id of the image the prompts were made on.
        category: category id chosen when the user accepted.
        steps: the prompt steps at that moment; the last one is accepted.
        embedding: that image's embedding (to decode the step if it has no prediction yet).
        crop: the huge image's crop the prompts are in (mapped back on adding), or None.
    """

    image_id: int
    category: int
    steps: tuple[PromptStep, ...]
    embedding: ImageEmbedding | None
    crop: Crop | None = None

    @property
    def step(self) -> PromptStep:
        """The accepted step (its ``prediction`` is set once decoded)."""
        return self.steps[-1]


@dataclass(frozen=True, eq=False)
class _Flight:
    """The request in the decoder: which step it answers, with which inputs."""

    number: int
    step: PromptStep
    embedding: ImageEmbedding
    mask_input: np.ndarray | None


class DecodeScheduler:
    """Decodes the session's newest step (and queued accepts first) through a runner.

    Args:
        prompts: the session's prompt steps.
        runner: does the decoding.
        on_shown: ``()`` a step of ``prompts`` got its prediction (redraw the mask).
        on_accept_decoded: ``(PendingAccept)`` a queued accept's step has its prediction.
        on_failed: ``(text)`` the decoder failed; a sentence for the user.
    """

    def __init__(
        self,
        prompts: PromptSession,
        runner: WorkRunner,
        on_shown: Callable[[], None],
        on_accept_decoded: Callable[[PendingAccept], None],
        on_failed: Callable[[str], None],
    ) -> None:
        self._prompts = prompts
        self._runner = runner
        self._on_shown = on_shown
        self._on_accept_decoded = on_accept_decoded
        self._on_failed = on_failed
        self._enabled = False
        self._embedding: ImageEmbedding | None = None
        self._flight: _Flight | None = None
        self._accepts: list[PendingAccept] = []
        self._number = 0
        #: A session step whose decode failed: not retried until the prompts change.
        self._failed_step: PromptStep | None = None
        #: Milliseconds the decoder took for the last prediction that arrived.
        self.last_ms = 0.0

    def set_enabled(self, enabled: bool) -> None:
        """Whether there is a decoder (a model); queued accepts must be flushed first."""
        if self._flight is not None:
            self._runner.cancel_decode()
        self._enabled = enabled
        self._flight = None
        self._accepts.clear()
        self._failed_step = None

    # -- requests ------------------------------------------------------------------------
    def update(self, embedding: ImageEmbedding | None) -> None:
        """The prompts or the current image's ``embedding`` changed: drop a decode nobody
        waits for any more, and start the one now needed."""
        self._embedding = embedding
        flight = self._flight
        if flight is not None and not self._wanted(flight.step, flight.embedding):
            self._flight = None
            self._runner.cancel_decode()
        self._start_next()

    def queue_accept(self, job: PendingAccept) -> None:
        """Decode ``job.step`` before anything else and hand it on when it has its mask."""
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
        the prompts on the same embedding."""
        if any(any(s is step for s in job.steps) for job in self._accepts):
            return True
        return embedding is self._embedding and self._prompts.contains(step)

    def _next_target(self) -> tuple[tuple[PromptStep, ...], ImageEmbedding] | None:
        """The steps whose last one to decode next, and on which embedding; queued accepts
        come first, then the newest prompt step."""
        if not self._enabled:
            return None
        if self._accepts:
            job = self._accepts[0]
            return job.steps, job.embedding
        step = self._prompts.current
        if step is None or step.prediction is not None or self._embedding is None:
            return None
        if step is self._failed_step:
            return None
        return tuple(self._prompts.steps), self._embedding

    def _start_next(self) -> None:
        if self._flight is not None:
            return  # one at a time: the next step may need this one's logits fed back
        target = self._next_target()
        if target is None:
            return
        steps, embedding = target
        step = steps[-1]
        mask_input = private_logits(feedback_logits(steps))
        self._number += 1
        self._flight = _Flight(self._number, step, embedding, mask_input)
        self._runner.decode(
            DecodeRequest(self._number, embedding, step.points, step.box, mask_input)
        )

    def _job_of(self, step: PromptStep) -> PendingAccept | None:
        return next((job for job in self._accepts if job.step is step), None)

    # -- answers -------------------------------------------------------------------------
    def on_decoded(self, number: int, prediction: Prediction, elapsed_ms: float) -> None:
        """The runner's answer to request ``number``."""
        flight = self._flight
        if flight is None or flight.number != number:
            return  # cancelled: the prompts or the image changed while it ran
        self._flight = None
        step = flight.step
        shown = False
        if self._wanted(step, flight.embedding):
            step.set_prediction(prediction, flight.mask_input)
            self.last_ms = elapsed_ms
            shown = self._prompts.contains(step)
        job = self._job_of(step)
        if job is not None:
            self._accepts.remove(job)
        self._start_next()
        if job is not None:
            self._on_accept_decoded(job)
        if shown:
            self._on_shown()

    def on_failed(self, number: int, text: str) -> None:
        """The runner could not decode request ``number``."""
        flight = self._flight
        if flight is None or flight.number != number:
            return
        self._flight = None
        job = self._job_of(flight.step)
        if job is not None:
            self._accepts.remove(job)
            self._on_failed(f"Could not compute the mask to accept: {text}")
        else:
            self._failed_step = flight.step
            self._on_failed(f"Could not compute the mask: {text}")
        self._start_next()

    # -- closing -------------------------------------------------------------------------
    def flush(self, predictor: Predictor | None) -> list[PendingAccept]:
        """Decode the queued accepts now, on the calling thread, and hand them back.

        For closing a folder or changing the model, where waiting for the background would
        lose the user's accept. Accepts whose decode fails are reported and left out.
        """
        jobs, self._accepts = self._accepts, []
        flight = self._flight
        if flight is not None and not self._wanted(flight.step, flight.embedding):
            self._flight = None
            self._runner.cancel_decode()
        done: list[PendingAccept] = []
        for job in jobs:
            step = job.step
            if step.prediction is None and predictor is not None and job.embedding is not None:
                mask_input = private_logits(feedback_logits(job.steps))
                request = DecodeRequest(0, job.embedding, step.points, step.box, mask_input)
                try:
                    prediction = request.run(predictor)
                except Exception as error:  # reported; the other accepts still go through
                    log.exception("decoding an accepted prompt set failed")
                    self._on_failed(
                        f"Could not compute the mask to accept: {describe_error(error)}"
                    )
                    continue
                step.set_prediction(prediction, mask_input)
            if step.prediction is not None:
                done.append(job)
        return done
