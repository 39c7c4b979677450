"""A stand-in SAM 2 propagation engine for session tests, where the real memory model would
take seconds per frame.

:class:`ShiftingEngine` carries each object's mask from its nearest conditioning frame
behind the frame being tracked (in the tracking direction), shifted ``SHIFT`` pixels right per
frame of distance: enough to tell which conditioning frame a mask came from. The real model is
driven by the window tests (tests/qt/test_propagation_window.py).
"""

from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np

from samlabel.inference.api import ImageEmbedding
from samlabel.inference.propagation_record import FramePrompt, PropagationRecord
from tests.qt.fakes import FakePredictor

#: Pixels a carried mask moves right per frame.
SHIFT = 2


class FrameResult:
    """What the engine yields for one object on one frame."""

    def __init__(self, mask: np.ndarray) -> None:
        self.mask = mask
        self.visible = bool(mask.any())


class ShiftingEngine:
    """See the module docstring; counts what it was given in ``prompts`` and ``tracked``."""

    def __init__(
        self, num_frames: int, frame_size: tuple[int, int], embed, frame_delay: float = 0.0
    ) -> None:
        self.num_frames, self.frame_size, self.embed = num_frames, frame_size, embed
        self.frame_delay = frame_delay  # seconds of sleep per frame tracked (a slow model)
        self.model = SimpleNamespace(video=SimpleNamespace(num_maskmem=7))  # SAM 2.1's memory
        self.cond: dict[int, dict[int, np.ndarray]] = {}  # object -> frame -> mask
        self.memories: dict[tuple[int, int], np.ndarray] = {}  # (object, frame) -> mask
        self.tracked: dict[int, dict[int, bool]] = {}
        self.prompted: list[tuple[int, int]] = []  # (frame, object) in order

    def add_prompts(self, frame, object_id, points=None, box=None, mask=None):
        self.embed(frame)  # the real engine needs the frame's features
        self.cond.setdefault(object_id, {})[frame] = np.asarray(mask, bool)
        self.prompted.append((frame, object_id))
        return FrameResult(np.asarray(mask, bool))

    def add_tracked_mask(self, frame, object_id, mask, reverse=False):
        self.memories[(object_id, frame)] = np.asarray(mask, bool)
        self.tracked.setdefault(object_id, {})[frame] = reverse

    def propagate(self, start_frame=None, direction="forward", max_frames=None):
        passes = []
        if direction in ("forward", "both"):
            passes.append((range(start_frame, self.num_frames), False))
        if direction in ("backward", "both") and start_frame > 0:  # as the Propagator does
            passes.append((range(start_frame, -1, -1), True))
        for order, reverse in passes:
            for frame in order:
                self.embed(frame)
                time.sleep(self.frame_delay)
                yield (
                    frame,
                    {obj: FrameResult(self._carry(obj, frame, reverse)) for obj in self.cond},
                )

    def _carry(self, obj: int, frame: int, reverse: bool) -> np.ndarray:
        self.tracked.setdefault(obj, {})[frame] = reverse
        frames = self.cond[obj]
        if frame in frames:
            return frames[frame]
        behind = [t for t in frames if (t > frame if reverse else t < frame)]
        source = (min if reverse else max)(behind or frames, key=lambda t: t)
        return np.roll(frames[source], SHIFT * abs(frame - source), axis=1)

    def record(self) -> PropagationRecord:
        prompts = {
            obj: {t: FramePrompt(mask_given=True) for t in frames}
            for obj, frames in self.cond.items()
        }
        return PropagationRecord(prompts, {obj: dict(t) for obj, t in self.tracked.items()})


class PropagatingPredictor(FakePredictor):
    """:class:`FakePredictor` that says it is SAM 2 and propagates with :class:`ShiftingEngine`
    (``engines`` lists the engines made, in order)."""

    family = "sam2"
    model_name = "Fake SAM 2"

    def __init__(self, frame_delay: float = 0.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.source_checkpoint = "fake.pt"
        self.frame_delay = frame_delay
        self.engines: list[ShiftingEngine] = []

    def propagation_engine(self, num_frames, frame_size, embed) -> ShiftingEngine:
        def checked(index: int) -> ImageEmbedding:
            embedding = embed(index)
            assert embedding.original_size == tuple(frame_size)
            return embedding

        self.engines.append(ShiftingEngine(num_frames, frame_size, checked, self.frame_delay))
        return self.engines[-1]
