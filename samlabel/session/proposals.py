"""Proposals to review: segment everything on the current image, as a state of the session.

"Propose objects" runs SAM's automatic mask generator
(:class:`~samlabel.inference.automatic.AutomaticMaskGenerator`) on the current picture's
embedding, in the background through a :class:`ProposalRunner`. Its masks become
:class:`Proposal` s, best first; they are never part of the document until accepted. A
proposal that overlaps an annotation of the image (mask IoU > :data:`OVERLAP_IOU`) is hidden,
so an accepted proposal disappears from the proposals and comes back when its accept is
undone. Accepting one or many is one undoable document step; rejecting the rest clears the
proposals and is not undoable (they are not the user's work: propose again to get them back).

Clicks while proposals are shown (and no prompt is being made): an include click on a proposal
accepts it; an exclude click on one refines it through the normal prompt flow (its low-res
logits become the prompt's mask input, its point the first include prompt, the click the
second). Other clicks are ordinary prompts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from samlabel.core.masks import Rle
from samlabel.inference.api import Predictor
from samlabel.inference.automatic import GeneratedMask
from samlabel.session.events import Event
from samlabel.session.proposal_refine import proposal_prediction
from samlabel.session.proposal_work import (
    ProposalRunner,
    ProposalSettings,
    ProposeRequest,
    SyncProposalRunner,
)

if TYPE_CHECKING:
    from samlabel.session.session import LabellingSession

#: A proposal overlapping an annotation of the image more than this (mask IoU) is hidden.
OVERLAP_IOU = 0.5


@dataclass(frozen=True, eq=False)
class Proposal:
    """One proposed mask in the picture's pixels: RLE, predicted IoU, stability, its point."""

    rle: Rle
    score: float
    stability: float
    point: tuple[float, float]
    box: tuple[float, float, float, float]  # XYXY inclusive pixel indices

    def contains(self, x: float, y: float) -> bool:
        """Whether pixel ``(x, y)`` is in the mask."""
        col, row = int(x), int(y)
        x0, y0, x1, y1 = self.box
        if not (x0 <= col <= x1 and y0 <= row <= y1):
            return False
        return bool(self.rle.decode()[row, col])


def _proposal(mask: GeneratedMask) -> Proposal:
    box = tuple(float(v) for v in mask.box)
    return Proposal(
        mask.rle, float(mask.predicted_iou), float(mask.stability_score), mask.point, box
    )


class ProposalSession:
    """The proposals of the current picture: a part of :class:`LabellingSession`.

    Attributes:
        changed: event ``()``: proposals, their visibility, the highlighted one or the
            progress changed.
        progress: ``(done, total)`` batches of points of the run in flight.
        current: index in :meth:`visible` of the highlighted proposal (Tab), or -1.
    """

    def __init__(self, session: LabellingSession) -> None:
        self._session = session
        self.runner: ProposalRunner = SyncProposalRunner(self)
        self.settings = ProposalSettings()
        self.changed = Event("proposals_changed")
        self.proposals: list[Proposal] = []
        self.running: ProposeRequest | None = None
        self.progress = (0, 0)
        self.current = -1
        self._number = 0
        self._visible: tuple[int, list[Proposal]] | None = None
        for event in (
            session.events.image_changed,
            session.events.image_loaded,
            session.events.folder_opened,
        ):
            event.subscribe(self.clear)
        session.events.document_changed.subscribe(self._on_document_changed)

    def predictor(self) -> Predictor | None:
        """The session's model."""
        return self._session.predictor

    def _message(self, level: str, text: str) -> None:
        self._session.events.message.emit(level, text)

    # -- running -----------------------------------------------------------------------
    def is_running(self) -> bool:
        """Whether a proposal run is in flight."""
        return self.running is not None

    def propose(self) -> bool:
        """Propose objects on the current picture; while a run is in flight, cancel it.
        False (with a message) when it cannot start."""
        if self.running is not None:
            self.cancel()
            return False
        session = self._session
        source, embedding = session.image.source, session.image.embedding
        if session.predictor is None:
            self._message("warning", "Choose a model (File ▸ Choose Model…) to propose objects.")
            return False
        if source is None or embedding is None:
            self._message("info", "Wait for the embedding of this image, then propose again.")
            return False
        if source.is_overview or source.region is not None:
            self._message("warning", "Propose objects works on whole images, not huge ones.")
            return False
        self._number += 1
        self.running = ProposeRequest(self._number, embedding, self.settings)
        self.progress = (0, 0)
        self.runner.propose(self.running)
        self.changed.emit()
        return True

    def cancel(self) -> None:
        """Stop the run in flight (its answer is dropped)."""
        if self.running is None:
            return
        self.running.cancel.set()
        self.running = None
        self._message("info", "Proposing objects cancelled.")
        self.changed.emit()

    def _answer(self, number: int) -> bool:
        return self.running is not None and self.running.number == number

    def on_progress(self, number: int, done: int, total: int) -> None:
        if self._answer(number):
            self.progress = (done, total)
            self.changed.emit()

    def on_proposed(self, number: int, masks: list[GeneratedMask]) -> None:
        if not self._answer(number):
            return
        self.running = None
        order = sorted(masks, key=lambda m: (-m.predicted_iou, -m.stability_score))
        self.proposals = [_proposal(m) for m in order if m.rle.area > 0]
        self._visible = None
        self.current = 0 if self.visible() else -1
        shown = len(self.visible())
        text = f"{shown} objects proposed" if shown else "No objects proposed"
        self._message(
            "info", text + (": click one to accept it, Esc rejects the rest." if shown else ".")
        )
        self.changed.emit()

    def on_failed(self, number: int, text: str) -> None:
        if self._answer(number):
            self.running = None
            self._message("error", f"Could not propose objects: {text}")
            self.changed.emit()

    def on_cancelled(self, number: int) -> None:
        if self._answer(number):
            self.running = None
            self.changed.emit()

    # -- what is shown -----------------------------------------------------------------
    def visible(self) -> list[Proposal]:
        """The proposals not hidden by an annotation of the image, best first."""
        revision = self._session.document.revision
        if self._visible is not None and self._visible[0] == revision:
            return self._visible[1]
        shown = self.proposals
        image_id = self._session.image_id
        if shown and image_id is not None:
            theirs = [a.rle for a in self._session.document.annotations_for_image(image_id)]
            shown = [p for p in shown if not _overlaps(p.rle, theirs)]
        self._visible = (revision, shown)
        return shown

    def _on_document_changed(self) -> None:
        if self.proposals:
            self._visible = None
            count = len(self.visible())
            self.current = min(self.current, count - 1) if count else -1
            if self.current < 0 and count:
                self.current = 0
            self.changed.emit()

    def clear(self) -> None:
        """Forget the proposals and cancel a run (another image or picture is current)."""
        if self.running is not None:
            self.running.cancel.set()
            self.running = None
        had = bool(self.proposals)
        self.proposals, self._visible, self.current = [], None, -1
        if had:
            self.changed.emit()

    def proposal_at(self, x: float, y: float) -> int | None:
        """Index in :meth:`visible` of the best proposal containing ``(x, y)``."""
        for index, proposal in enumerate(self.visible()):
            if proposal.contains(x, y):
                return index
        return None

    # -- commands ----------------------------------------------------------------------
    def next(self) -> bool:
        """Highlight the next visible proposal (wrapping); False when there is none."""
        count = len(self.visible())
        if not count:
            return False
        self.current = (self.current + 1) % count
        self.changed.emit()
        return True

    def accept(self, indices: list[int]) -> list[int]:
        """Accept the visible proposals ``indices`` under the current category, one undoable
        step; returns the new annotation ids."""
        session = self._session
        image_id = session.image_id
        shown = self.visible()
        chosen = [shown[i] for i in indices if 0 <= i < len(shown)]
        if image_id is None or not chosen:
            return []
        category = session.edits.ensure_category()
        label = "Accept proposal" if len(chosen) == 1 else f"Accept {len(chosen)} proposals"
        added = []
        with session.document.group(label):
            for proposal in chosen:
                annotation = session.document.add_annotation(
                    image_id,
                    category,
                    proposal.rle.decode(),
                    score=proposal.score,
                    prompts={"points": [[proposal.point[0], proposal.point[1], 1]]},
                )
                added.append(annotation.id)
        session.edits.selected_annotation = added[-1]
        session.events.document_changed.emit()
        return added

    def accept_current(self) -> bool:
        """Accept the highlighted proposal (Enter without prompts)."""
        return bool(self.current >= 0 and self.accept([self.current]))

    def accept_above(self, score: float) -> int:
        """Accept every visible proposal scored at least ``score``; returns how many."""
        shown = self.visible()
        return len(self.accept([i for i, p in enumerate(shown) if p.score >= score]))

    def reject_rest(self) -> bool:
        """Drop the proposals not accepted (not undoable; a run in flight is cancelled)."""
        if self.running is not None:
            self.cancel()
            return True
        if not self.proposals:
            return False
        self.clear()
        return True

    def take_click(self, x: float, y: float, label: int) -> bool:
        """Route a click while proposals are shown and no prompt is being made: include on a
        proposal accepts it, exclude refines it. False when the click is an ordinary prompt."""
        if not self.proposals or not self._session.prompts.is_empty():
            return False
        index = self.proposal_at(x, y)
        if index is None:
            return False
        if label == 1:
            self.accept([index])
        else:
            self.refine(index, x, y, label)
        return True

    def refine(self, index: int, x: float, y: float, label: int) -> None:
        """Make proposal ``index`` the prompt: its point first, its mask the mask input, then
        the click ``(x, y, label)``; decoded through the normal prompt flow."""
        session = self._session
        proposal = self.visible()[index]
        embedding = session.image.embedding
        if embedding is None:
            return
        step = session.prompts.add_point(proposal.point[0], proposal.point[1], 1)
        mask = proposal.rle.decode()
        step.set_prediction(proposal_prediction(mask, proposal.score, embedding), None)
        session.add_point(x, y, label)


def _overlaps(rle: Rle, others: list[Rle]) -> bool:
    """Whether ``rle`` overlaps one of ``others`` with mask IoU > :data:`OVERLAP_IOU`."""
    from pycocotools import mask as mask_utils

    if not others:
        return False
    theirs = [{"size": list(o.size), "counts": o.counts} for o in others if o.size == rle.size]
    if not theirs:
        return False
    ours = [{"size": list(rle.size), "counts": rle.counts}]
    overlap = np.asarray(mask_utils.iou(ours, theirs, [0] * len(theirs)))
    return bool((overlap > OVERLAP_IOU).any())
