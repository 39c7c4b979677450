"""Accepted candidates on their way to full size: the mask is made by the runner, in order.

Accepting must not make the user wait: the chosen candidate is upsampled to the image's full
size (and placed into the whole image for a huge image's crop) off the GUI thread, through a
:class:`~samlabel.session.work.MaskRequest`. Every accept lands (none supersedes another), in
the order they were sent; closing the folder or changing the model makes the ones still on
their way on the calling thread (:meth:`AcceptPipeline.flush`).
"""

from __future__ import annotations

from samlabel.core.document import Document
from samlabel.core.masks import Rle
from samlabel.core.model import Annotation
from samlabel.inference.api import Prediction
from samlabel.session.decoding import PendingAccept
from samlabel.session.work import MaskRequest, WorkRunner, full_size_rle


class AcceptPipeline:
    """Accepts whose step has a prediction, waiting for their full-size mask."""

    def __init__(self, runner: WorkRunner) -> None:
        self._runner = runner
        self._number = 0
        self._waiting: dict[int, tuple[PendingAccept, MaskRequest]] = {}

    def submit(self, job: PendingAccept) -> None:
        """Ask the runner for ``job``'s mask (its step must have a prediction)."""
        step = job.step
        if step.prediction is None:
            raise ValueError("an accept is sent for its mask only once decoded")
        self._number += 1
        request = MaskRequest(self._number, step.prediction, step.selected, job.crop)
        self._waiting[self._number] = (job, request)
        self._runner.mask(request)

    def take(self, number: int) -> PendingAccept | None:
        """The accept answered by mask request ``number`` (None: flushed or forgotten)."""
        entry = self._waiting.pop(number, None)
        return entry[0] if entry is not None else None

    def is_idle(self) -> bool:
        """Whether no mask is on its way."""
        return not self._waiting

    def flush(self, undecoded: list[PendingAccept] = ()) -> list[tuple[PendingAccept, Rle]]:
        """Make the masks still on their way now, on the calling thread, in order, then those
        of ``undecoded`` (accepts whose mask was decoded just now); the runner's later
        answers to them are ignored."""
        waiting, self._waiting = self._waiting, {}
        made = [(job, request.run()) for _, (job, request) in sorted(waiting.items())]
        for job in undecoded:
            step = job.step
            made.append((job, full_size_rle(step.prediction, step.selected, job.crop)))
        return made


def add_accepted(
    document: Document,
    job: PendingAccept,
    mask: Rle,
    category: int,
    extra: dict | None = None,
    replaces: list[int] | None = None,
) -> Annotation:
    """Add ``job``'s full-size ``mask`` (RLE in whole-image pixels) to ``document``
    under ``category``, with its score and its prompts in whole-image pixels (one undoable
    operation); ``extra`` holds more COCO fields (a stack frame's ``track_id``);
    ``replaces`` are annotations it corrects (propagated masks), deleted in the same step."""
    if replaces:
        with document.group("Correct propagated mask"):
            annotation = add_accepted(document, job, mask, category, extra)
            document.delete_annotations(replaces)
        return annotation
    step, crop = job.step, job.crop
    points, box = list(step.points), step.box
    if crop is not None:  # a huge image's crop: prompts back to whole-image pixels
        points = crop.points_to_full(points)
        box = crop.box_to_full(box) if box is not None else None
    prompts: dict = {"points": [list(p) for p in points]}
    if box is not None:
        prompts["box"] = list(box)
    score = float(step.prediction.scores[step.selected])
    return document.add_annotation(job.image_id, category, mask, score, prompts, extra)


def surely_empty(prediction: Prediction, index: int) -> bool:
    """Whether candidate ``index`` is empty at any size: no low-res logit is positive, so no
    bilinear upsampling of them is (cheap on the GUI thread; a mask whose only positive
    logits lie in the padding is caught when it is made)."""
    return not bool((prediction.low_res_logits[index] > 0).any())
