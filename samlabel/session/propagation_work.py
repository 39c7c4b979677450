"""The work of carrying masks through a stack: the request, the engine it keeps, the runners.

A :class:`PropagateRequest` is immutable and runs on any thread, one at a time: the window's
:class:`~samlabel.qt.propagation_runner.QtPropagationRunner` runs it in a lane of its own,
:class:`SyncPropagationRunner` on the calling thread when asked (tests, commands). Answers go
to the session's :class:`~samlabel.session.propagation.PropagationSession` with the
request's number: one ``on_frame`` per frame as it is computed, then ``on_finished``,
``on_cancelled`` or ``on_failed``.

The engine (SAM 2's memory over one stack, :class:`~samlabel.inference.api.
PropagationEngine`) lives in an :class:`EngineSlot` that only the worker thread touches: the
request carries the conditioning the session wants (every reviewed mask of a track on a frame
of the stack) and the job gives the engine what changed since the last run. A conditioning
mask removed since (an accepted mask deleted) makes the job start a new engine, since a
conditioning frame cannot be taken back out of SAM 2's memory.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from samlabel.core.masks import Rle, encode_mask
from samlabel.inference.api import ImageEmbedding, Predictor, PropagationEngine
from samlabel.inference.propagation_record import PropagationRecord, restore
from samlabel.session.decoding import describe_error

if TYPE_CHECKING:
    from samlabel.session.propagation import PropagationSession

#: ``(track id, frame)``: one object on one frame.
TrackFrame = tuple[int, int]
#: ``frame, {track id: (H, W) bool mask or None (the object is not seen)}, record JSON``.
#: ``(frame, {track: mask RLE or None when not seen}, record JSON)``.
FrameCallback = Callable[[int, dict[int, Rle | None], str], None]


class PropagationCancelled(Exception):
    """Raised inside a propagation run when it was cancelled."""


@dataclass
class EngineSlot:
    """One stack's engine and the conditioning masks it was given (worker thread only)."""

    engine: PropagationEngine | None = None
    given: dict[TrackFrame, str] = field(default_factory=dict)  # RLE counts given


@dataclass(frozen=True, eq=False)
class PropagateRequest:
    """Carry every tracked object of a stack from ``start`` in ``direction``.

    Attributes:
        number: request number, carried by the answers.
        slot: the stack's engine slot.
        num_frames, frame_size: the stack's frames, ``(H, W)``.
        embed: frame index -> the frame's embedding (memory, disk cache or model).
        conditioning: ``{(track, frame): RLE}`` of every reviewed mask on the stack.
        start: the first frame (0-based); ``direction``: forward, backward or both.
        record: the propagation record saved before (resuming a fresh engine), or None.
        tracked: ``{(track, frame): RLE}`` of masks near ``start`` on frames the record says
            were tracked: their memories are rebuilt when the engine is new.
        cancel: set to stop between frames.
    """

    number: int
    slot: EngineSlot
    num_frames: int
    frame_size: tuple[int, int]
    embed: Callable[[int], ImageEmbedding]
    conditioning: Mapping[TrackFrame, Rle]
    start: int
    direction: str
    record: PropagationRecord | None = None
    tracked: Mapping[TrackFrame, Rle] = field(default_factory=dict)
    cancel: threading.Event = field(default_factory=threading.Event)

    @property
    def total(self) -> int:
        """How many frames this run yields."""
        # SAM 2 tracks backward from the start frame only when there is a frame before it.
        forward, backward = self.num_frames - self.start, (self.start + 1 if self.start else 0)
        return {"forward": forward, "backward": backward}.get(self.direction, forward + backward)

    def run(self, predictor: Predictor, on_frame: FrameCallback) -> int:
        """Propagate; ``on_frame`` after each frame. Returns the frames done.

        Raises:
            PropagationCancelled: :attr:`cancel` was set (the frames done were reported).
        """
        engine = self._prepared(predictor)
        frames = engine.propagate(self.start, self.direction)
        done = 0
        try:
            for frame, results in frames:
                # Upsampled and encoded here, in the worker: the GUI thread only adds RLEs.
                masks = {
                    o: (encode_mask(r.mask) if r.visible else None) for o, r in results.items()
                }
                on_frame(frame, masks, engine.record().to_json())
                done += 1
                if self.cancel.is_set():
                    raise PropagationCancelled
        finally:
            frames.close()  # nothing more is computed
        return done

    def _prepared(self, predictor: Predictor) -> PropagationEngine:
        """The slot's engine with the conditioning given (a new one when needed)."""
        slot = self.slot
        if slot.engine is not None and not set(slot.given) <= set(self.conditioning):
            slot.engine, slot.given = None, {}  # a conditioning mask was taken away
        fresh = slot.engine is None
        if fresh:
            slot.engine = predictor.propagation_engine(self.num_frames, self.frame_size, self.embed)
        engine = slot.engine
        try:
            for (track, frame), rle in sorted(self.conditioning.items(), key=lambda i: i[0][1]):
                if slot.given.get((track, frame)) == rle.counts:
                    continue
                if self.cancel.is_set():
                    raise PropagationCancelled
                engine.add_prompts(frame, track, mask=rle.decode())
                slot.given[(track, frame)] = rle.counts
            if fresh and self.record is not None and self.tracked:
                # Only tracked memories: the conditioning came from the document above.
                memories = PropagationRecord({}, self.record.tracked)
                masks = {key: rle.decode() for key, rle in self.tracked.items()}
                restore(engine, memories, masks, self.start, self.direction == "backward")
        except BaseException:
            slot.engine, slot.given = None, {}  # half given: start over next time
            raise
        return engine


class PropagationRunner(Protocol):
    """Runs :class:`PropagateRequest` s; answers ``on_frame`` per frame, then
    ``on_finished``, ``on_cancelled`` or ``on_failed`` of the session's part, later."""

    def propagate(self, request: PropagateRequest) -> None: ...


class SyncPropagationRunner:
    """Keeps requests and runs them on the calling thread in :meth:`run` (tests, commands)."""

    def __init__(self, part: PropagationSession) -> None:
        self.part = part
        self.waiting: list[PropagateRequest] = []

    def propagate(self, request: PropagateRequest) -> None:
        self.waiting.append(request)

    def run(self, stop_after: int | None = None) -> None:
        """Run the waiting requests with the session's model; ``stop_after`` frames cancels
        the run after that many (what a person pressing Esc does)."""
        while self.waiting:
            self._run_one(self.waiting.pop(0), stop_after)

    def _run_one(self, request: PropagateRequest, stop_after: int | None) -> None:
        part, number = self.part, request.number
        predictor = part.predictor()
        if predictor is None:
            part.on_failed(number, "no model is loaded")
            return

        def frame_done(frame: int, masks: dict, record: str) -> None:
            part.on_frame(number, frame, masks, record)
            if stop_after is not None and part.progress[0] >= stop_after:
                part.cancel()

        try:
            done = request.run(predictor, frame_done)
        except PropagationCancelled:
            part.on_cancelled(number)
        except Exception as error:  # reported to the user, never raised into the view
            part.on_failed(number, describe_error(error))
        else:
            part.on_finished(number, done)
