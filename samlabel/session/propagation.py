"""Propagate: SAM 2 carries the accepted masks of a stack through its frames (no Qt).

A part of :class:`~samlabel.session.session.LabellingSession` (``session.propagation``).
The objects are the stack's tracks (``track_id``); every *reviewed* mask of a track on a
frame (accepted, corrected, or confirmed with R) is a conditioning frame of SAM 2's memory,
given as that mask (Meta's ``add_new_mask``: what the person accepted is exactly what the
memory holds, brush edits included). "Propagate" runs from the frame shown, forward,
backward or both, in the background (:mod:`samlabel.session.propagation_work`); each
frame's masks become annotations as they arrive (shown and saved at once): one per object,
with its track id and ``"samlabel_reviewed": false``, replacing that object's earlier
unreviewed mask on the frame but never a reviewed one. Cancelling stops between frames; what
arrived stays. A run is one undo step, however many frames it brought (the frames join one
step, :meth:`~samlabel.core.document.Document.group` with a key of the run); an edit made
while it runs splits it there, and undoing the run's step while it runs stops it first.

Correcting a frame (clicks and Enter on a frame holding a propagated mask) replaces that
object's unreviewed mask by the accepted one (:meth:`PropagationSession.stale_masks`), which
becomes a conditioning frame of the next run: propagating again from there carries it on.

Resuming: after each frame the engine's small record (:class:`~samlabel.inference.
propagation_record.PropagationRecord`) is written beside the annotations file
(``<name>.propagation.json``). A new engine (after a crash, a reopened folder or another
model) is given the reviewed masks from the document and, from the record, the masks of the
frames tracked just before the start, so propagating on continues as before.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from samlabel.core.errors import SamlabelError
from samlabel.core.masks import Rle
from samlabel.core.stack_frames import (
    add_frame_annotation,
    is_reviewed,
    track_id_of,
    unreviewed_frames,
)
from samlabel.core.state import DocumentState
from samlabel.inference.api import ImageEmbedding, Predictor
from samlabel.inference.propagation_record import PropagationRecord
from samlabel.io.background_writer import BackgroundWriter
from samlabel.session.encoding import Encoder
from samlabel.session.events import Event
from samlabel.session.propagation_work import (
    EngineSlot,
    PropagateRequest,
    PropagationRunner,
    SyncPropagationRunner,
    TrackFrame,
)
from samlabel.session.review import mark_reviewed, unreviewed_ids
from samlabel.session.stack_items import StackRow

if TYPE_CHECKING:
    from samlabel.session.session import LabellingSession

DIRECTIONS = ("forward", "backward", "both")
#: Frames before the start whose masks rebuild a new engine's memory (SAM 2.1 keeps 6).
RESUME_WINDOW = 6


#: How long opening a folder waits for records still on their way to the disk (a dead
#: network share must not hang the window; past it, the older record is read).
RECORD_FLUSH_SECONDS = 5.0
#: One writer for the process: a folder opened again (by this session or a new one) first
#: waits for the records still on their way to it.
RECORD_WRITER = BackgroundWriter("samlabel-propagation-record")


def record_path(annotations: Path) -> Path:
    """Where the propagation records of ``annotations`` are kept."""
    return annotations.with_name(annotations.stem + ".propagation.json")


@dataclass(eq=False)
class _Run:
    """The stack and the categories of the run in flight; ``step`` keys its undo step,
    ``last_state`` is the document as the run's last change left it."""

    request: PropagateRequest
    stack: StackRow
    categories: dict[int, int]  # track -> category of its propagated masks
    step: object = field(default_factory=object)
    last_state: DocumentState | None = None


class PropagationSession:
    """Propagation over the stacks of the open folder (see the module docstring).

    Attributes:
        changed: event ``()``: a run started, advanced, ended, or the direction changed.
        direction: the direction of the next run.
        progress: ``(done, total)`` frames of the run in flight.
    """

    def __init__(self, session: LabellingSession) -> None:
        self._session = session
        self.runner: PropagationRunner = SyncPropagationRunner(self)
        self.changed = Event("propagation_changed")
        self.direction = "forward"
        self.progress = (0, 0)
        self._run: _Run | None = None
        self._number = 0
        self._slots: dict[str, EngineSlot] = {}  # stack uri -> its engine
        self._records: dict[str, Any] = {}  # stack uri -> record (JSON value)
        self._model: tuple[str, object] = ("", None)  # model id and disk cache
        self._encoder: Encoder | None = None
        session.events.folder_opened.subscribe(self._on_folder_opened)

    def predictor(self) -> Predictor | None:
        """The session's model."""
        return self._session.predictor

    def _message(self, level: str, text: str) -> None:
        self._session.events.message.emit(level, text)

    def set_model(self, model_id: str, cache: object) -> None:
        """Another model: engines start anew (their features were the old model's)."""
        self.cancel(quiet=True)
        self._slots.clear()
        self._model, self._encoder = (model_id, cache), None

    # -- state -------------------------------------------------------------------------
    def is_running(self) -> bool:
        """Whether a run is in flight."""
        return self._run is not None

    def unavailable(self) -> str | None:
        """Why Propagate cannot run here now (one sentence), None when it can."""
        session = self._session
        if session.predictor is None:
            return "Choose a SAM 2 model (File ▸ Choose Model…) to propagate masks."
        reason = session.predictor.propagation_unavailable()
        if reason is not None:
            return reason
        if session.frames.stack is None:
            return "Propagation carries masks through a stack: choose a volume, video or frames."
        return None

    def progress_text(self) -> str:
        """What the run in flight does, e.g. ``"Propagating forward from frame 12: 3 of 40
        frames"`` (frames counted from 1, as the slider does); empty when none runs."""
        if self._run is None:
            return ""
        request, (done, total) = self._run.request, self.progress
        way = {"both": "both ways"}.get(request.direction, request.direction)
        return f"Propagating {way} from frame {request.start + 1}: {done} of {total} frames"

    def set_direction(self, direction: str) -> None:
        """``"forward"``, ``"backward"`` or ``"both"`` for the next run."""
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}.")
        if direction != self.direction:
            self.direction = direction
            self.changed.emit()

    # -- running -----------------------------------------------------------------------
    def propagate(self, direction: str | None = None) -> bool:
        """Propagate the stack's objects from the frame shown; while a run is in flight,
        cancel it. False (with a message) when it cannot start."""
        if self._run is not None:
            self.cancel()
            return False
        reason = self.unavailable()
        if reason is not None:
            self._message("warning", reason)
            return False
        session = self._session
        session.flush_accepts()  # the mask just accepted is a prompt of this run
        stack = session.frames.stack
        if stack is None:  # the accepts flushed just now cannot change the row; for typing
            return False
        conditioning, categories = self._conditioning(stack)
        if not conditioning:
            self._message("info", "Accept a mask of the object on a frame, then propagate.")
            return False
        start, direction = session.frames.frame, direction or self.direction
        record = self._record(stack.uri)
        self._number += 1
        request = PropagateRequest(
            self._number,
            self._slots.setdefault(stack.uri, EngineSlot()),
            stack.frames,
            self._frame_size(stack),
            self._embedder(stack),
            conditioning,
            start,
            direction,
            record,
            self._tracked_near(stack, record, start, direction) if record else {},
        )
        self._run = _Run(request, stack, categories)
        self.progress = (0, request.total)
        self.runner.propagate(request)
        self.changed.emit()
        return True

    def stop_before_undo(self) -> None:
        """Stop the run in flight when the undo about to happen takes back its frames (the
        document's last step is the run's: nothing changed since its last frame arrived)."""
        run = self._run
        if run is not None and run.last_state is self._session.document.state:
            self.cancel(quiet=True)
            self._message("info", "Propagation stopped; the frames it added are undone.")

    def cancel(self, quiet: bool = False) -> None:
        """Stop the run in flight between frames; the frames done stay."""
        if self._run is None:
            return
        self._run.request.cancel.set()
        self._run = None
        if not quiet:
            self._message("info", "Propagation cancelled; the frames done stay.")
        self.changed.emit()

    def _answer(self, number: int) -> _Run | None:
        run = self._run
        return run if run is not None and run.request.number == number else None

    def on_frame(self, number: int, frame: int, masks: dict[int, Any], record: str) -> None:
        """Frame ``frame``'s masks arrived (``{track: mask RLE, or None where the object is
        not seen}``, encoded by the runner)."""
        run = self._answer(number)
        if run is None:
            return
        before = self._session.document.state
        self._add_frame(run, frame, masks)
        if self._session.document.state is not before:
            run.last_state = self._session.document.state
        self._records[run.stack.uri] = json.loads(record)
        self._save_records()
        self.progress = (self.progress[0] + 1, self.progress[1])
        self.changed.emit()

    def on_finished(self, number: int, done: int) -> None:
        run = self._answer(number)
        if run is not None:
            self._run = None
            count = len(unreviewed_frames(self._session.document, run.stack.uri))
            if count:
                text = (
                    f"Propagation done: {count} frame{'s' if count > 1 else ''} to review "
                    "(orange under the slider): R confirms a frame."
                )
            else:
                text = "Propagation done: the model did not find the objects on other frames."
            self._message("info", text)
            self.changed.emit()

    def on_cancelled(self, number: int) -> None:
        if self._answer(number) is not None:
            self._run = None
            self.changed.emit()

    def on_failed(self, number: int, text: str) -> None:
        run = self._answer(number)
        if run is not None:
            self._run = None
            self._message("error", f"Could not propagate: {text}")
            self.changed.emit()

    # -- the document ----------------------------------------------------------------------
    def _conditioning(self, stack: StackRow) -> tuple[dict[TrackFrame, Rle], dict[int, int]]:
        """Every reviewed mask of a track on the stack, and each track's category (that of
        its mask nearest the frame shown)."""
        document, shown = self._session.document, self._session.frames.frame
        masks: dict[TrackFrame, Rle] = {}
        nearest: dict[int, tuple[int, int]] = {}  # track -> (distance, category)
        for frame, image_id in enumerate(stack.frame_ids):
            for annotation in document.annotations_for_image(image_id):
                track = track_id_of(annotation)
                if track is None or not is_reviewed(annotation):
                    continue
                masks[(track, frame)] = annotation.rle
                candidate = (abs(frame - shown), annotation.category_id)
                nearest[track] = min(nearest.get(track, candidate), candidate)
        return masks, {track: category for track, (_d, category) in nearest.items()}

    def _add_frame(self, run: _Run, frame: int, masks: dict[int, Any]) -> None:
        """Each object's new mask on ``frame`` (unreviewed), in place of its earlier
        unreviewed one; a frame where a person reviewed the object is left alone. Part of
        the run's one undo step."""
        document = self._session.document
        image_id = run.stack.frame_ids[frame]
        if image_id not in document.state.image_index:
            return
        with document.group("Propagate", join=run.step):
            for track, mask in masks.items():
                mine = [
                    a for a in document.annotations_for_image(image_id) if track_id_of(a) == track
                ]
                if any(is_reviewed(a) for a in mine):
                    continue
                if mine:
                    document.delete_annotations([a.id for a in mine])
                category = run.categories.get(track)
                if mask is None or mask.area == 0 or category not in document.state.category_index:
                    continue
                add_frame_annotation(document, image_id, category, mask, track, reviewed=False)

    def stale_masks(self, image_id: int, extra: dict | None) -> list[int]:
        """Ids of the unreviewed masks an accept with ``extra`` (its ``track_id``) on
        ``image_id`` replaces: a correction takes the propagated mask's place."""
        track = (extra or {}).get("track_id")
        if track is None or image_id not in self._session.document.state.image_index:
            return []
        return [
            a.id
            for a in self._session.document.annotations_for_image(image_id)
            if track_id_of(a) == track and not is_reviewed(a)
        ]

    def mark_frame_reviewed(self) -> bool:
        """Confirm every unreviewed mask of the frame shown (one undo step); False when
        there was none."""
        image_id = self._session.image_id
        if image_id is None:
            return False
        document = self._session.document
        return mark_reviewed(document, unreviewed_ids(document, image_id), "Mark frame reviewed")

    # -- frames and records ------------------------------------------------------------
    def _frame_size(self, stack: StackRow) -> tuple[int, int]:
        record = self._session.document.image(stack.frame_ids[0])
        return (record.height, record.width)

    def _embedder(self, stack: StackRow):
        """Frame index -> embedding: the window's memory first, then the disk cache (which
        every frame propagated also fills), then the model."""
        session = self._session
        if self._encoder is None or self._encoder.predictor is not session.predictor:
            model_id, cache = self._model
            model_id = model_id or session.predictor.describe()
            self._encoder = Encoder(session.predictor, model_id, cache)  # type: ignore[arg-type]
        encoder, runner = self._encoder, session.runner

        def embed(index: int) -> ImageEmbedding:
            path = stack.frame_path(index)
            embedding = runner.cached_embedding(path, None) or encoder.encode(path)
            if embedding is None:
                raise SamlabelError(f"{path}: the frame could not be encoded.")
            return embedding

        return embed

    def _tracked_near(
        self, stack: StackRow, record: PropagationRecord, start: int, direction: str
    ) -> dict[TrackFrame, Rle]:
        """The document's masks of the frames tracked just before ``start``."""
        step = 1 if direction == "backward" else -1
        near = {start + step * d for d in range(1, RESUME_WINDOW + 1)}
        document, masks = self._session.document, {}
        for track, frames in record.tracked.items():
            for frame in near & set(frames):
                if not 0 <= frame < stack.frames:
                    continue
                for annotation in document.annotations_for_image(stack.frame_ids[frame]):
                    if track_id_of(annotation) == track and not is_reviewed(annotation):
                        masks[(track, frame)] = annotation.rle
        return masks

    def _record(self, uri: str) -> PropagationRecord | None:
        value = self._records.get(uri)
        if value is None:
            return None
        try:
            return PropagationRecord.from_json(json.dumps(value))
        except ValueError:
            return None  # a damaged record: propagation starts from the accepted masks

    def _on_folder_opened(self) -> None:
        self.cancel(quiet=True)
        self._slots.clear()
        self._records = {}
        self.flush_records(RECORD_FLUSH_SECONDS)  # the same folder again: the last record
        path = self._session.annotations_path
        if path is None or not record_path(path).exists():
            return
        try:
            data = json.loads(record_path(path).read_text("utf-8"))
            self._records = dict(data["stacks"])
        except (OSError, ValueError, KeyError, TypeError):
            self._message(
                "warning",
                f"{record_path(path)}: the propagation record is damaged; propagating again "
                "starts from the accepted masks.",
            )

    def _save_records(self) -> None:
        """Written after every frame, off the GUI thread (an fsync per frame would stall the
        window on a slow disk); a read-only folder is said by the annotations file's save.
        Each stack's record is replaced whole, never changed in place, so a shallow copy is
        a snapshot the writer may serialise later."""
        path = self._session.annotations_path
        if path is None:
            return
        records = dict(self._records)
        RECORD_WRITER.write(
            record_path(path),
            lambda: json.dumps({"version": 1, "stacks": records}).encode("utf-8"),
        )

    def flush_records(self, timeout: float | None = None) -> bool:
        """Wait until the records handed to the writer are on disk (opening a folder,
        tests); False if ``timeout`` ran out."""
        return RECORD_WRITER.flush(timeout)
