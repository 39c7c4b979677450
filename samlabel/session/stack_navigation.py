"""Moving through the frames of a stack row, a part of the labelling session (no Qt).

A stack is one row of the image list; the row's path and document id are those of the frame
shown (:class:`~samlabel.session.images.FolderImages`). Moving to another frame swaps them and
opens that frame as the session opens an image: read and encoded in the background, with
its own prompts and its own image record. Each stack row remembers its frame.

A window/level chosen on one frame stays for the stack's other frames (one window for the
whole volume): the next frame is shown and encoded through it once it is read.

Tracks: every mask accepted on a frame carries a ``track_id``. The rule: the stack's *active
track* is the object accepted last (or the annotation selected last on the stack, e.g. in the
layer panel). An accept continues the active track when the frame has no mask of that track
yet, and starts a new track otherwise. So labelling one object frame after frame (accept,
PgDn, click, accept) keeps one track id, and a second object on the same frame gets its own;
to continue an older object, select one of its masks first.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from samlabel.core.stack_frames import (
    TRACK_FIELD,
    is_reviewed,
    next_track_id,
    stack_frame,
    track_id_of,
)
from samlabel.core.windowing import Window
from samlabel.session.stack_items import StackRow

if TYPE_CHECKING:
    from samlabel.session.session import LabellingSession


class StackNavigation:
    """The frame of each stack row, and the moves between frames."""

    def __init__(self, session: LabellingSession) -> None:
        self._session = session
        self._frames: dict[int, int] = {}  # row -> frame shown
        self._window: Window | None = None  # chosen on a frame, applied to the next
        self._tracks: dict[str, int] = {}  # stack uri -> active track id
        session.events.image_loaded.subscribe(self._on_loaded)
        session.events.folder_opened.subscribe(self._on_folder_opened)
        session.events.document_changed.subscribe(self._on_document_changed)

    def _on_folder_opened(self) -> None:
        self._frames.clear()
        self._tracks.clear()
        self._window = None

    @property
    def stack(self) -> StackRow | None:
        """The current row's stack, None for an image."""
        return self._session.images.stacks.get(self._session.row)

    @property
    def frame(self) -> int:
        """The frame shown of the current stack (0 for an image)."""
        return self._frames.get(self._session.row, 0)

    def go_to_frame(self, frame: int) -> None:
        """Show ``frame`` (clamped) of the current stack; nothing on an image."""
        session, stack = self._session, self.stack
        if stack is None:
            return
        frame = min(max(int(frame), 0), stack.frames - 1)
        if frame == self.frame:
            return
        source = session.image.source
        self._window = source.window if source is not None else self._window
        row = session.row
        self._frames[row] = frame
        paths, ids = list(session.images.paths), list(session.images.image_ids)
        paths[row], ids[row] = stack.frame_path(frame), stack.frame_ids[frame]
        session.images = replace(session.images, paths=tuple(paths), image_ids=tuple(ids))
        session.row = -1  # the row stays; the session opens it again as a new image
        session.go_to(row)

    def ahead(self, count: int) -> tuple[Path, ...]:
        """What to encode ahead: the frame paths after the shown one on a stack row, else
        the paths of the next rows."""
        session, stack = self._session, self.stack
        if stack is None:
            row, paths = session.row, session.images.paths
            return tuple(paths[row + 1 : row + 1 + count]) if row >= 0 else ()
        last = min(self.frame + 1 + count, stack.frames)
        return tuple(stack.frame_path(k) for k in range(self.frame + 1, last))

    def step(self, delta: int) -> None:
        """Move ``delta`` frames (negative: back)."""
        self.go_to_frame(self.frame + delta)

    def _on_loaded(self) -> None:
        """A frame was read: show and encode it through the window chosen on the stack."""
        session, window = self._session, self._window
        source = session.image.source
        if self.stack is None or window is None or source is None or source.window == window:
            return
        if session.image.show_window(window):
            session.encode_window()

    # -- tracks ----------------------------------------------------------------------------
    def track_extra(self, image_id: int) -> dict | None:
        """The ``track_id`` field of a mask about to be accepted on ``image_id`` (see the
        module docstring); None for an ordinary image."""
        document = self._session.document
        if image_id not in document.state.image_index:
            return None
        where = stack_frame(document.image(image_id))
        if where is None:
            return None
        active = self._tracks.get(where.uri)
        # A propagated mask nobody reviewed yet does not take its track: accepting there
        # corrects it (the session replaces it).
        taken = {track_id_of(a) for a in document.annotations_for_image(image_id) if is_reviewed(a)}
        track = active if active is not None and active not in taken else next_track_id(document)
        self._tracks[where.uri] = track
        return {TRACK_FIELD: track}

    def _on_document_changed(self) -> None:
        """A selected mask of a stack frame makes its track the active one."""
        session = self._session
        selected = session.edits.selected_annotation
        record = session.image_record
        if selected is None or record is None or (where := stack_frame(record)) is None:
            return
        for annotation in session.document.annotations_for_image(record.id):
            if annotation.id == selected and (track := track_id_of(annotation)) is not None:
                self._tracks[where.uri] = track
