"""The undoable state of the annotation document: reading, change events, undo/redo, groups.

:class:`DocumentCore` holds the current immutable :class:`~samlabel.core.state.DocumentState`
and turns every committed state into one undoable command (the snapshots before and after).
It knows no editing operation: :class:`samlabel.core.document.Document` owns one core and
makes its edits through :meth:`DocumentCore.commit`, as its category part
(:class:`samlabel.core.document_categories.CategoryEdits`) does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

import numpy as np

from samlabel.core import masks
from samlabel.core.errors import MaskSizeError
from samlabel.core.history import History
from samlabel.core.model import Annotation, Category, ImageRecord
from samlabel.core.state import DocumentChanged, DocumentState, diff_states

Listener = Callable[[DocumentChanged], None]


def _utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def annotation_from_rle(
    annotation_id: int,
    image_id: int,
    category_id: int,
    rle: masks.Rle,
    **fields: Any,
) -> Annotation:
    """An :class:`Annotation` whose bbox and area are computed from ``rle``."""
    return Annotation(
        id=annotation_id,
        image_id=image_id,
        category_id=category_id,
        rle=rle,
        bbox=rle.bbox,
        area=rle.area,
        **fields,
    )


class _StateChange:
    """The command every operation records: the snapshots before and after; ``join`` names
    the run of groups it gathers (see :meth:`DocumentCore.group`), None for others."""

    def __init__(
        self,
        document: DocumentCore,
        label: str,
        before: DocumentState,
        after: DocumentState,
        join: Hashable | None = None,
    ):
        self.document = document
        self.label = label
        self.before = before
        self.after = after
        self.join = join

    def undo(self) -> None:
        self.document._set_state(self.before, "undo", self.label)

    def redo(self) -> None:
        self.document._set_state(self.after, "redo", self.label)


class DocumentCore:
    """State, reading, events, undo/redo and grouping for every document operation.

    Args:
        state: the initial content (empty if None); not validated here (loaders do that).
        history_depth: how many steps can be undone.
        clock: returns the ISO 8601 time stamped on new annotations (tests fix it).
    """

    def __init__(
        self,
        state: DocumentState | None = None,
        history_depth: int = 200,
        clock: Callable[[], str] = _utc_now,
    ) -> None:
        self._state = state if state is not None else DocumentState()
        self.history = History(history_depth)
        self._versioned = (0, self._state)
        self._listeners: list[Listener] = []
        self._clock = clock
        self._group_depth = 0
        self._group_before: DocumentState | None = None

    # ----------------------------------------------------------------- reading
    @property
    def revision(self) -> int:
        """Counts changes (edits, undos, redos); compare it to know whether to save."""
        return self._versioned[0]

    @property
    def versioned_state(self) -> tuple[int, DocumentState]:
        """``(revision, state)`` read together: what a saving thread should write."""
        return self._versioned

    @property
    def state(self) -> DocumentState:
        """The current immutable snapshot (safe to hand to another thread)."""
        return self._state

    @property
    def images(self) -> tuple[ImageRecord, ...]:
        return self._state.images

    @property
    def categories(self) -> tuple[Category, ...]:
        return self._state.categories

    @property
    def annotations(self) -> tuple[Annotation, ...]:
        """All annotations, in draw order."""
        return self._state.annotations

    def image(self, image_id: int) -> ImageRecord:
        try:
            return self._state.image_index[image_id]
        except KeyError:
            raise KeyError(f"no image with id {image_id}") from None

    def image_by_name(self, file_name: str) -> ImageRecord | None:
        return next((i for i in self._state.images if i.file_name == file_name), None)

    def category(self, category_id: int) -> Category:
        try:
            return self._state.category_index[category_id]
        except KeyError:
            raise KeyError(f"no category with id {category_id}") from None

    def annotation(self, annotation_id: int) -> Annotation:
        try:
            return self._state.annotation_index[annotation_id]
        except KeyError:
            raise KeyError(f"no annotation with id {annotation_id}") from None

    def annotations_for_image(self, image_id: int) -> tuple[Annotation, ...]:
        """The image's annotations in draw order (first drawn first, last on top)."""
        return self._state.by_image.get(image_id, ())

    def mask(self, annotation_id: int) -> np.ndarray:
        """The annotation's ``(H, W)`` bool mask, Fortran-ordered, decoded now (not cached)."""
        return self.annotation(annotation_id).rle.decode()

    def mask_cropped(self, annotation_id: int) -> tuple[np.ndarray, tuple[int, int]]:
        """``(crop, (x0, y0))``: the mask cut to its bbox, decoded without the full image.

        ``crop`` is ``(h, w)`` bool, Fortran-ordered; its pixel ``[0, 0]`` is image pixel
        ``(x0, y0)``. Cheaper than :meth:`mask` for drawing small objects on big images.
        """
        return masks.decode_rle_cropped(self.annotation(annotation_id).rle)

    def now(self) -> str:
        """The ISO 8601 time to stamp on a new annotation (the clock given at creation)."""
        return self._clock()

    # --------------------------------------------------------- events, undo
    def subscribe(self, callback: Listener) -> Callable[[], None]:
        """Call ``callback(event)`` after every change; returns a function that unsubscribes."""
        self._listeners.append(callback)

        def unsubscribe() -> None:
            if callback in self._listeners:
                self._listeners.remove(callback)

        return unsubscribe

    @property
    def can_undo(self) -> bool:
        return self.history.can_undo

    @property
    def can_redo(self) -> bool:
        return self.history.can_redo

    def undo(self) -> bool:
        """Undo the last operation; False when there was nothing to undo."""
        return self.history.undo()

    def redo(self) -> bool:
        """Redo the last undone operation; False when there was nothing to redo."""
        return self.history.redo()

    def reset(self, state: DocumentState, label: str = "Reload") -> None:
        """Replace the whole content (not undoable: the history is cleared)."""
        self.history.clear()
        self._set_state(state, "reset", label)

    def _set_state(self, state: DocumentState, reason: str, label: str) -> None:
        before = self._state
        revision = self._versioned[0] + 1
        self._state = state
        self._versioned = (revision, state)  # one assignment: threads never see a torn pair
        event = diff_states(before, state, reason, label, revision)
        for listener in list(self._listeners):
            listener(event)

    @contextlib.contextmanager
    def group(self, label: str, join: Hashable | None = None) -> Iterator[None]:
        """Make every operation inside the ``with`` block one undo step named ``label``.

        E.g. accepting a mask and marking the image done. If the block raises, what it did
        so far still becomes one undoable step. Groups nest (the outermost one counts).

        Groups given the same ``join`` key one after another become one undo step, even when
        the event loop ran between them (a background run adding its results as they arrive):
        the step is extended only while it is the last one and nothing changed the document
        since; after another edit, an undo or a reload, the next group starts a new step.
        """
        if self._group_depth == 0:
            self._group_before = self._state
        self._group_depth += 1
        try:
            yield
        finally:
            self._group_depth -= 1
            if self._group_depth == 0:
                before, self._group_before = self._group_before, None
                if before is not None and before is not self._state:
                    self._record_group(label, before, join)

    def _record_group(self, label: str, before: DocumentState, join: Hashable | None) -> None:
        """Push the group's step, or extend the last step of the same ``join`` with it."""
        after = self._state

        def extend(command: object) -> bool:
            if not (
                join is not None
                and isinstance(command, _StateChange)
                and command.join == join
                and command.after is before  # nothing happened in between
            ):
                return False
            command.after, command.label = after, label
            return True

        if not self.history.extend_last(extend):
            self.history.push(_StateChange(self, label, before, after, join))

    def amend_snapshots(self, change: Callable[[DocumentState], DocumentState]) -> None:
        """Apply ``change`` to every snapshot undo/redo or an open group may restore (for
        what is not an edit, e.g. a folder's images, which must exist in every snapshot)."""
        for command in self.history.commands():
            if isinstance(command, _StateChange):
                command.before = change(command.before)
                command.after = change(command.after)
        if self._group_before is not None:
            self._group_before = change(self._group_before)

    def commit(self, label: str, after: DocumentState, undoable: bool = True) -> None:
        """Make ``after`` the state: one undo step named ``label`` (unless ``undoable`` is
        False or a :meth:`group` is open), and one change event."""
        if undoable and self._group_depth == 0:
            self.history.push(_StateChange(self, label, self._state, after))
        self._set_state(after, "edit", label)

    def with_annotations(self, annotations: Iterable[Annotation], **changes) -> DocumentState:
        """The current state with ``annotations`` (and other fields ``changes``)."""
        return replace(self._state, annotations=tuple(annotations), **changes)

    def replace_annotation(self, new: Annotation) -> DocumentState:
        """The current state with the annotation of ``new.id`` replaced by ``new``."""
        return self.with_annotations(a if a.id != new.id else new for a in self.annotations)

    def check_mask(self, image: ImageRecord, mask: np.ndarray) -> np.ndarray:
        """The mask as bool (a 0/255 uint8 mask is fine too), checked against the image."""
        mask = np.asarray(mask)
        if mask.dtype != bool:
            mask = mask != 0  # keeps the memory order, so Fortran input stays cheap
        _check_size(image, mask.shape)
        return mask

    def mask_rle(self, image: ImageRecord, mask: np.ndarray | masks.Rle) -> masks.Rle:
        """The RLE of ``mask`` (a bool mask, or its RLE already encoded), checked against the
        image. An RLE is taken as it is: no pixel is looked at (the GUI thread's case)."""
        if isinstance(mask, masks.Rle):
            _check_size(image, mask.size)
            return mask
        return masks.encode_mask(self.check_mask(image, mask))


def _check_size(image: ImageRecord, size: tuple[int, ...]) -> None:
    if tuple(size) != image.size:
        # A sentence the window can show: the image file may have changed size on disk.
        raise MaskSizeError(
            f"The mask of {size[1]}x{size[0]} pixels (W x H) does not fit image "
            f"{image.file_name!r}, recorded as {image.width}x{image.height}; it was not "
            "added (if the image file changed size, choose how to treat its annotations first)"
        )
