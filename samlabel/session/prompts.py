"""The prompts on the current image and the masks they produced (pure Python, no Qt).

Every click or box is a step. Each step remembers the prompt set after it, the prediction for
that set and which of the candidates is selected, so undoing a prompt restores the previous
mask instantly, without decoding again. Prompts made before the embedding is ready are kept
as steps without a prediction and decoded when it arrives.

Feeding back: when a point is added to a prompt set that already produced a mask, the selected
candidate's low-res logits go back in as ``mask_input`` (as SAM's interactive demo does), which
keeps the mask stable while refining. A box or the first point starts from no mask input.

Decoding is scheduled by :mod:`samlabel.session.decoding` and runs off the GUI thread, so the
newest step may wait for its mask for a while; meanwhile :meth:`PromptSession.shown_step` is
the latest step that has one, which the window keeps showing and the candidate keys act on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from samlabel.inference.api import Box, Point, Prediction


@dataclass
class PromptStep:
    """The prompt set after one user action and what the decoder made of it.

    Attributes:
        points: ``(x, y, label)`` in original image pixels; label 1 include, 0 exclude.
        box: ``(x0, y0, x1, y1)`` in original image pixels, or None.
        prediction: the decoder's answer, None until decoded.
        selected: index of the chosen candidate in ``prediction``.
        mask_input: the ``(256, 256)`` logits fed to the decoder for this step, if any.
    """

    points: tuple[Point, ...]
    box: Box | None
    prediction: Prediction | None = None
    selected: int = 0
    mask_input: np.ndarray | None = field(default=None, repr=False)

    def set_prediction(self, prediction: Prediction, mask_input: np.ndarray | None) -> None:
        """Store the decoder's answer for this step (made with ``mask_input``); the best
        scoring candidate is selected."""
        self.prediction = prediction
        self.mask_input = mask_input
        self.selected = prediction.best_index()


def feedback_logits(steps: Sequence[PromptStep]) -> np.ndarray | None:
    """The ``(256, 256)`` logits to feed back when decoding the last of ``steps``: the
    previous step's selected candidate when the last step only adds a point to it, else None."""
    if len(steps) < 2:
        return None
    previous, step = steps[-2], steps[-1]
    if previous.prediction is None or step.box != previous.box:
        return None
    if len(step.points) != len(previous.points) + 1:
        return None
    return previous.prediction.low_res_logits[previous.selected]


class PromptSession:
    """The stack of prompt steps on one image."""

    def __init__(self) -> None:
        self.steps: list[PromptStep] = []

    # -- reading -----------------------------------------------------------------------
    @property
    def current(self) -> PromptStep | None:
        """The last step, or None when there are no prompts."""
        return self.steps[-1] if self.steps else None

    @property
    def points(self) -> tuple[Point, ...]:
        """The current points (empty without prompts)."""
        return self.current.points if self.current else ()

    @property
    def box(self) -> Box | None:
        """The current box."""
        return self.current.box if self.current else None

    @property
    def prediction(self) -> Prediction | None:
        """The prediction of the current prompt set, None before decoding."""
        return self.current.prediction if self.current else None

    @property
    def selected(self) -> int:
        """Index of the selected candidate (0 without a prediction)."""
        return self.current.selected if self.current else 0

    def shown_step(self) -> PromptStep | None:
        """The latest step that has a prediction: the current one, or while its mask is
        being decoded, the nearest earlier one (None when no step has a prediction)."""
        for step in reversed(self.steps):
            if step.prediction is not None:
                return step
        return None

    def contains(self, step: PromptStep) -> bool:
        """Whether ``step`` (this very object) is one of the steps."""
        return any(s is step for s in self.steps)

    def is_empty(self) -> bool:
        """Whether there are no prompts."""
        return not self.steps

    # -- editing -----------------------------------------------------------------------
    def add_point(self, x: float, y: float, label: int) -> PromptStep:
        """Add an include (1) or exclude (0) point at image pixel ``(x, y)``."""
        step = PromptStep((*self.points, (float(x), float(y), int(label))), self.box)
        self.steps.append(step)
        return step

    def set_box(self, box: Box) -> PromptStep:
        """Replace the box by ``(x0, y0, x1, y1)`` (normalised so x0 <= x1, y0 <= y1)."""
        x0, y0, x1, y1 = box
        normal = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
        step = PromptStep(self.points, normal)
        self.steps.append(step)
        return step

    def undo(self) -> bool:
        """Remove the last prompt; False when there was none."""
        if not self.steps:
            return False
        self.steps.pop()
        return True

    def clear(self) -> None:
        """Forget all prompts."""
        self.steps.clear()

    def select(self, index: int) -> bool:
        """Choose candidate ``index`` of the shown prediction; False when it does not exist."""
        step = self.shown_step()
        if step is None or step.prediction is None:
            return False
        if not 0 <= index < len(step.prediction.scores):
            return False
        step.selected = index
        return True
