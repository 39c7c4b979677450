"""The open image against its record: a part of the session that notices a replaced file.

Another tool may rotate or resize an image after it was labelled, keeping its name. The
record (and every mask of the image) then has the old size, the file the new one: old masks
would be drawn misaligned and every accept would fail. :class:`ImageSizeGuard` reads the
header of each image the session opens (a stack frame's size from its stack) and compares it
with the image's record (:func:`samlabel.io.image_record.compare_image_size`). On a mismatch:

- an image without annotations simply takes the new size (one undoable step, said);
- otherwise a lasting notice (key :data:`NOTICE_KEY`) names the file and both sizes and
  offers the two choices, :meth:`ImageSizeGuard.rescale` and
  :meth:`ImageSizeGuard.set_aside` (each one undoable document step). Until one is made the
  annotations are kept as they are (and not drawn: the views draw only masks of the
  picture's size), and the session refuses an accept on the image
  (:meth:`ImageSizeGuard.refuses` tells the user why).

The comparison is made again after every document change (an undo of the choice, a reload
of the file), against the size read when the image was opened.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from samlabel.core.errors import SamlabelError
from samlabel.io.image_record import (
    ImageSizeChange,
    adopt_size_and_rescale,
    compare_image_size,
    set_aside_as_stale,
)
from samlabel.session.source import image_size

if TYPE_CHECKING:
    from samlabel.session.session import LabellingSession

#: The key of the lasting notice (``SessionEvents.notice``).
NOTICE_KEY = "image_size"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def notice_text(change: ImageSizeChange) -> str:
    """What changed and what the user can do, for the bar: ``"photo.jpg is now 3000×4000;
    its 5 annotations were made on 4000×3000 ..."`` (sizes W×H)."""
    (rh, rw), (dh, dw) = change.recorded, change.on_disk
    how = "rotated" if change.rotated else "replaced by an image of another size"
    its = _plural(change.annotations, "annotation")
    were = "was" if change.annotations == 1 else "were"
    return (
        f"{change.file_name} is now {dw}×{dh}; its {its} {were} made on {rw}×{rh} (the file "
        f"was probably {how}). They are kept but not drawn, and no mask can be added to this "
        "image until you rescale them to the new size"
        + (" (they will not line up with a rotated image)" if change.rotated else "")
        + " or set them aside as stale (kept in the file, left out of exports)."
    )


class ImageSizeGuard:
    """Checks each image the session opens against its record (see the module docstring).

    Attributes:
        change: the current image's size change still waiting for the user's choice, or None.
    """

    def __init__(self, session: LabellingSession) -> None:
        self._session = session
        self._on_disk: tuple[int, int] | None = None  # the open image's size, read at open
        self.change: ImageSizeChange | None = None
        session.events.image_changed.subscribe(self._on_image_changed)
        session.events.document_changed.subscribe(self.refresh)
        session.edits.refuses = self.refuses  # a brush stroke would land misplaced too

    def _message(self, level: str, text: str) -> None:
        self._session.events.message.emit(level, text)

    def _on_image_changed(self) -> None:
        """Another image (or the same after a reload) is current: read its header."""
        s = self._session
        self._on_disk = None
        if s.image_id is not None:
            # When unreadable, the picture's read that follows says what is wrong with it.
            with contextlib.suppress(SamlabelError, OSError):
                self._on_disk = image_size(s.images.paths[s.row])
        change = self._compare()
        if change is not None and change.annotations == 0:
            self._adopt(change)  # nothing drawn on the old size: only the record changes
            return
        self.refresh()

    def _compare(self) -> ImageSizeChange | None:
        s = self._session
        image_id = s.image_id
        if self._on_disk is None or image_id is None:
            return None
        if image_id not in s.document.state.image_index:
            return None
        return compare_image_size(s.document, image_id, self._on_disk)

    def refresh(self) -> None:
        """Compare again (after any document change) and show or clear the notice."""
        change = self._compare()
        if change == self.change:
            return
        self.change = change
        self._publish()

    def _publish(self) -> None:
        guard = self._session.file
        if self.change is None:
            guard.resolve(NOTICE_KEY)
        else:
            guard.notice(NOTICE_KEY, "warning", notice_text(self.change), ("rescale", "set_aside"))

    def refuses(self, image_id: int) -> bool:
        """Whether a mask cannot be added to ``image_id`` now; if so the user is told why
        (a warning) and the notice with its choices is shown again (it may have been
        dismissed)."""
        change = self.change
        if change is None or change.image_id != image_id:
            return False
        self._publish()
        (rh, rw), (dh, dw) = change.recorded, change.on_disk
        self._message(
            "warning",
            f"Not added: {change.file_name} is now {dw}×{dh} but its annotations were made "
            f"on {rw}×{rh}. Choose first: rescale them, or set them aside as stale.",
        )
        return True

    def rescale(self) -> bool:
        """The record takes the file's size and the image's masks are rescaled (undoable);
        False when there is nothing to choose."""
        change = self.change
        if change is None:
            return False
        count = adopt_size_and_rescale(self._session.document, change)
        stale = change.annotations - count
        (dh, dw) = change.on_disk
        text = f"{_plural(count, 'annotation')} of {change.file_name} rescaled to {dw}×{dh}"
        if stale:
            text += f"; {stale} too thin to survive it set aside as stale"
        self._message("info", text + " (Undo puts them back).")
        return True

    def set_aside(self) -> bool:
        """The record takes the file's size and its annotations move, unchanged, into the
        record's stale field (undoable); False when there is nothing to choose."""
        change = self.change
        if change is None:
            return False
        count = set_aside_as_stale(self._session.document, change)
        self._message(
            "info",
            f"{_plural(count, 'annotation')} of {change.file_name} set aside as stale; they "
            "stay in the annotations file (Undo puts them back).",
        )
        return True

    def _adopt(self, change: ImageSizeChange) -> None:
        adopt_size_and_rescale(self._session.document, change)  # refreshes: no change left
        (rh, rw), (dh, dw) = change.recorded, change.on_disk
        self._message(
            "info",
            f"{change.file_name} is now {dw}×{dh} (it was {rw}×{rh}); it had no annotations, "
            "so its record takes the new size.",
        )
