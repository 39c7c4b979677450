"""The work of proposing objects: the generator's settings, the request, the runners' interface.

A :class:`ProposeRequest` is immutable and runs on any thread; the window's
:class:`~samlabel.qt.proposal_runner.QtProposalRunner` runs it in a lane of its own,
:class:`SyncProposalRunner` on the calling thread when asked (tests, commands). Answers go to
the session's :class:`~samlabel.session.proposals.ProposalSession` with the request's number.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np

from samlabel.inference.api import ImageEmbedding, Predictor
from samlabel.inference.automatic import AutomaticMaskGenerator, GeneratedMask

if TYPE_CHECKING:
    from samlabel.session.proposals import ProposalSession


@dataclass(frozen=True)
class ProposalSettings:
    """The generator's parameters (Meta's names and defaults); one crop layer only, since the
    picture's own embedding is reused."""

    points_per_side: int = 32
    points_per_batch: int = 64
    pred_iou_thresh: float = 0.88
    stability_score_thresh: float = 0.95
    box_nms_thresh: float = 0.7
    min_mask_region_area: int = 0


class ProposalsCancelled(Exception):
    """Raised inside a proposal run when it was cancelled."""


@dataclass(frozen=True, eq=False)
class ProposeRequest:
    """Segment everything on one embedding (any thread).

    Attributes:
        number: request number, carried by the answer.
        embedding: the picture's embedding (an immutable value).
        settings: the generator's parameters.
        cancel: set to stop the run at the next batch of points.
    """

    number: int
    embedding: ImageEmbedding
    settings: ProposalSettings
    cancel: threading.Event = field(default_factory=threading.Event)

    def run(
        self, predictor: Predictor, progress: Callable[[int, int], None] | None = None
    ) -> list[GeneratedMask]:
        """The generator's masks; ``progress(done, total)`` after each batch of points.

        Raises:
            ProposalsCancelled: :attr:`cancel` was set.
        """
        height, width = self.embedding.original_size
        # The generator only slices the image for ``encode``: a zero-byte stand-in will do.
        image = np.broadcast_to(np.zeros((1, 1), np.uint8), (height, width))
        generator = AutomaticMaskGenerator(predictor, **asdict(self.settings))

        def report(done: int, total: int) -> None:
            if self.cancel.is_set():
                raise ProposalsCancelled
            if progress is not None:
                progress(done, total)

        if self.cancel.is_set():
            raise ProposalsCancelled
        return generator.generate_masks(
            image, encode=lambda crop, box: self.embedding, progress=report
        )


class ProposalRunner(Protocol):
    """Runs :class:`ProposeRequest` s; answers ``session.proposals.on_progress``,
    ``on_proposed``, ``on_failed`` or ``on_cancelled`` with the request's number, later."""

    def propose(self, request: ProposeRequest) -> None: ...


class SyncProposalRunner:
    """Keeps requests and runs them on the calling thread in :meth:`run` (tests, commands)."""

    def __init__(self, proposals: ProposalSession) -> None:
        self.proposals = proposals
        self.waiting: list[ProposeRequest] = []

    def propose(self, request: ProposeRequest) -> None:
        self.waiting.append(request)

    def run(self) -> None:
        """Run the waiting requests with the session's model."""
        while self.waiting:
            self._run_one(self.waiting.pop(0))

    def _run_one(self, request: ProposeRequest) -> None:
        number = request.number
        predictor = self.proposals.predictor()
        if predictor is None:
            self.proposals.on_failed(number, "no model is loaded")
            return
        try:
            masks = request.run(predictor, lambda d, t: self.proposals.on_progress(number, d, t))
        except ProposalsCancelled:
            self.proposals.on_cancelled(number)
        except Exception as error:  # reported to the user, never raised into the view
            self.proposals.on_failed(number, str(error))
        else:
            self.proposals.on_proposed(number, masks)
