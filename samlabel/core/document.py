"""The annotation document: images, categories and annotations, with undo and change events.

Qt-free: the GUI subscribes with :meth:`Document.subscribe` and adapts the
:class:`~samlabel.core.state.DocumentChanged` events to Qt signals. Every operation is one
undoable command; undo and redo are changes like any other (they bump :attr:`revision`, so
they are autosaved).

Masks are ``(H, W)`` bool arrays in image pixels (x right, y down); pass them
Fortran-ordered (see :func:`samlabel.core.masks.empty_mask`) to avoid a copy when they are
encoded. They are held as compressed COCO RLE and decoded on demand by :meth:`Document.mask`.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

import numpy as np

from samlabel.core import masks
from samlabel.core.history import History
from samlabel.core.jsonsafe import check_json_safe
from samlabel.core.model import (
    PALETTE,
    Annotation,
    Category,
    ImageRecord,
    ImageStatus,
    normalize_color,
)
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
    """The command every operation records: the snapshots before and after."""

    def __init__(self, document: Document, label: str, before: DocumentState, after: DocumentState):
        self.document = document
        self.label = label
        self.before = before
        self.after = after

    def undo(self) -> None:
        self.document._set_state(self.before, "undo", self.label)

    def redo(self) -> None:
        self.document._set_state(self.after, "redo", self.label)


class Document:
    """A set of images with their categories and annotations.

    Build an empty one with ``Document()`` or a loaded one from a state
    (``Document(DocumentState(...))``, see :func:`samlabel.io.coco.load_coco`).
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
    def group(self, label: str) -> Iterator[None]:
        """Make every operation inside the ``with`` block one undo step named ``label``.

        E.g. accepting a mask and marking the image done. If the block raises, what it did
        so far still becomes one undoable step. Groups nest (the outermost one counts).
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
                    self.history.push(_StateChange(self, label, before, self._state))

    def _commit(self, label: str, after: DocumentState, undoable: bool = True) -> None:
        if undoable and self._group_depth == 0:
            self.history.push(_StateChange(self, label, self._state, after))
        self._set_state(after, "edit", label)

    def _with_annotations(self, annotations: Iterable[Annotation], **changes) -> DocumentState:
        return replace(self._state, annotations=tuple(annotations), **changes)

    def _replace_annotation(self, new: Annotation) -> DocumentState:
        return self._with_annotations(a if a.id != new.id else new for a in self.annotations)

    # ----------------------------------------------------------------- images
    def add_images(
        self, records: Sequence[tuple[str, int, int]], undoable: bool = True
    ) -> list[ImageRecord]:
        """Add images given as ``(file_name, width, height)``; returns their records.

        ``undoable=False`` is for opening a folder, which is not an edit to undo.
        """
        next_id = self._state.next_image_id
        new = []
        for file_name, width, height in records:
            if width < 1 or height < 1:
                raise ValueError(f"image {file_name!r} has an empty size {width}x{height}")
            new.append(ImageRecord(next_id, file_name, int(width), int(height)))
            next_id += 1
        if not new:
            return []
        added = tuple(new)

        def with_images(state: DocumentState) -> DocumentState:
            return replace(
                state,
                images=state.images + added,
                next_image_id=max(state.next_image_id, next_id),
            )

        if not undoable:
            # Not an edit: the images must also exist in every snapshot undo/redo restores.
            for command in self.history.commands():
                if isinstance(command, _StateChange):
                    command.before = with_images(command.before)
                    command.after = with_images(command.after)
            if self._group_before is not None:
                self._group_before = with_images(self._group_before)
        self._commit("Add images", with_images(self._state), undoable)
        return new

    def add_image(self, file_name: str, width: int, height: int) -> ImageRecord:
        """Add one image of ``width`` x ``height`` pixels."""
        return self.add_images([(file_name, width, height)])[0]

    def set_image_status(self, image_id: int, status: ImageStatus | str) -> None:
        image = self.image(image_id)
        status = ImageStatus(status)
        if image.status is status:
            return
        new = replace(image, status=status)
        images = tuple(new if i.id == image_id else i for i in self.images)
        self._commit("Set image status", replace(self._state, images=images))

    # ------------------------------------------------------------- categories
    def add_category(
        self, name: str, color: str | None = None, supercategory: str | None = None
    ) -> Category:
        """Add a category; without ``color`` the next palette colour is used."""
        name = name.strip()
        if not name:
            raise ValueError("a category needs a name")
        if any(c.name == name for c in self.categories):
            raise ValueError(f"a category named {name!r} already exists")
        color = normalize_color(color) if color else PALETTE[len(self.categories) % len(PALETTE)]
        category = Category(self._state.next_category_id, name, color, supercategory)
        state = replace(
            self._state,
            categories=(*self.categories, category),
            next_category_id=category.id + 1,
        )
        self._commit("Add category", state)
        return category

    def _update_category(self, label: str, category: Category) -> None:
        categories = tuple(category if c.id == category.id else c for c in self.categories)
        self._commit(label, replace(self._state, categories=categories))

    def rename_category(self, category_id: int, name: str) -> None:
        name = name.strip()
        if not name:
            raise ValueError("a category needs a name")
        if any(c.name == name and c.id != category_id for c in self.categories):
            raise ValueError(f"a category named {name!r} already exists")
        self._update_category("Rename category", replace(self.category(category_id), name=name))

    def recolour_category(self, category_id: int, color: str) -> None:
        category = replace(self.category(category_id), color=normalize_color(color))
        self._update_category("Change category colour", category)

    def set_supercategory(self, category_id: int, supercategory: str | None) -> None:
        category = replace(self.category(category_id), supercategory=supercategory or None)
        self._update_category("Change supercategory", category)

    def delete_category(self, category_id: int, reassign_to: int | None = None) -> None:
        """Delete a category; its annotations move to ``reassign_to`` or are deleted with it."""
        self.category(category_id)
        if reassign_to is not None:
            self.category(reassign_to)
            if reassign_to == category_id:
                raise ValueError("cannot reassign a category's annotations to itself")
            annotations = (
                replace(a, category_id=reassign_to) if a.category_id == category_id else a
                for a in self.annotations
            )
        else:
            annotations = (a for a in self.annotations if a.category_id != category_id)
        state = self._with_annotations(
            annotations, categories=tuple(c for c in self.categories if c.id != category_id)
        )
        self._commit("Delete category", state)

    # ------------------------------------------------------------ annotations
    def _check_mask(self, image: ImageRecord, mask: np.ndarray) -> np.ndarray:
        """The mask as bool (a 0/255 uint8 mask is fine too), checked against the image."""
        mask = np.asarray(mask)
        if mask.dtype != bool:
            mask = mask != 0  # keeps the memory order, so Fortran input stays cheap
        if mask.shape != image.size:
            raise ValueError(
                f"mask of shape {mask.shape} does not fit image {image.file_name!r} "
                f"of size (H, W) = {image.size}"
            )
        return mask

    def add_annotation(
        self,
        image_id: int,
        category_id: int,
        mask: np.ndarray,
        score: float | None = None,
        prompts: Mapping[str, Any] | None = None,
    ) -> Annotation:
        """Add a mask on top of the image's others; an unlabelled image becomes in progress.

        Args:
            mask: ``(H, W)`` bool of the image's size, preferably Fortran-ordered.
            score: the model's predicted IoU, if the mask came from the model.
            prompts: JSON-compatible description of the prompts (points, box) behind it.
        """
        image = self.image(image_id)
        self.category(category_id)
        mask = self._check_mask(image, mask)
        if score is not None and not math.isfinite(score):
            raise ValueError(f"the mask's score must be a finite number, got {score}")
        if prompts is not None:
            # Refuse here what the file could not hold, rather than fail every later save.
            check_json_safe(dict(prompts), "prompts")
        if not mask.any():
            raise ValueError("cannot add an empty mask")
        annotation = annotation_from_rle(
            self._state.next_annotation_id,
            image_id,
            category_id,
            masks.encode_mask(mask),
            score=None if score is None else float(score),
            prompts=prompts,
            created=self._clock(),
        )
        changes: dict[str, Any] = {"next_annotation_id": annotation.id + 1}
        if image.status is ImageStatus.UNLABELLED:
            changes["images"] = tuple(
                replace(i, status=ImageStatus.IN_PROGRESS) if i.id == image_id else i
                for i in self.images
            )
        self._commit(
            "Add annotation", self._with_annotations((*self.annotations, annotation), **changes)
        )
        return annotation

    def delete_annotation(self, annotation_id: int) -> None:
        self.delete_annotations([annotation_id])

    def delete_annotations(self, annotation_ids: Iterable[int]) -> None:
        """Delete several annotations as one undoable step."""
        ids = set(annotation_ids)
        for annotation_id in ids:
            self.annotation(annotation_id)
        if ids:
            label = "Delete annotation" if len(ids) == 1 else "Delete annotations"
            self._commit(
                label, self._with_annotations(a for a in self.annotations if a.id not in ids)
            )

    def set_category(self, annotation_id: int, category_id: int) -> None:
        annotation = self.annotation(annotation_id)
        self.category(category_id)
        if annotation.category_id != category_id:
            new = replace(annotation, category_id=category_id)
            self._commit("Change category", self._replace_annotation(new))

    def reorder(self, annotation_id: int, index: int) -> None:
        """Move an annotation to position ``index`` of its image's draw order (0 = bottom).

        Negative indices count from the top, as in Python (-1 = drawn last, on top).
        """
        annotation = self.annotation(annotation_id)
        group = [a for a in self.annotations_for_image(annotation.image_id)]
        old = group.index(annotation)
        if index < 0:
            index += len(group)
        if not 0 <= index < len(group):
            raise IndexError(f"draw position {index} is outside 0..{len(group) - 1}")
        if index == old:
            return
        group.insert(index, group.pop(old))
        # The image's annotations keep their slots in the global tuple, filled in the new order.
        refill = iter(group)
        annotations = (
            next(refill) if a.image_id == annotation.image_id else a for a in self.annotations
        )
        self._commit("Reorder annotation", self._with_annotations(annotations))

    def set_mask(self, annotation_id: int, mask: np.ndarray, label: str = "Edit mask") -> None:
        """Replace an annotation's mask (an empty mask deletes the annotation)."""
        annotation = self.annotation(annotation_id)
        mask = self._check_mask(self.image(annotation.image_id), mask)
        self._set_rle(annotation, masks.encode_mask(mask), label)

    def _set_rle(self, annotation: Annotation, rle: masks.Rle, label: str) -> Annotation | None:
        if rle.area == 0:
            self._commit(
                label, self._with_annotations(a for a in self.annotations if a.id != annotation.id)
            )
            return None
        if rle == annotation.rle:
            return annotation
        new = replace(annotation, rle=rle, bbox=rle.bbox, area=rle.area)
        self._commit(label, self._replace_annotation(new))
        return new

    def merge(self, target_id: int, other_id: int) -> Annotation:
        """Union ``other`` into ``target`` and delete ``other``, as one step; returns target."""
        target = self.annotation(target_id)
        other = self.annotation(other_id)
        if target_id == other_id:
            raise ValueError("cannot merge an annotation with itself")
        if target.image_id != other.image_id:
            raise ValueError("cannot merge annotations of different images")
        rle = masks.union(target.rle, other.rle)
        new = replace(target, rle=rle, bbox=rle.bbox, area=rle.area)
        annotations = (
            new if a.id == target_id else a for a in self.annotations if a.id != other_id
        )
        self._commit("Merge annotations", self._with_annotations(annotations))
        return new

    def subtract(self, target_id: int, other_id: int) -> Annotation | None:
        """Remove ``other``'s pixels from ``target`` (``other`` stays).

        Returns the new target, or None when nothing was left and it was deleted.
        """
        target = self.annotation(target_id)
        other = self.annotation(other_id)
        if target_id == other_id:
            raise ValueError("cannot subtract an annotation from itself")
        if target.image_id != other.image_id:
            raise ValueError("cannot subtract annotations of different images")
        return self._set_rle(target, masks.difference(target.rle, other.rle), "Subtract mask")

    def brush_stroke(
        self,
        annotation_id: int,
        points: Sequence[tuple[float, float]],
        radius: float,
        erase: bool = False,
    ) -> Annotation | None:
        """Paint (or erase) a disk of ``radius`` pixels dragged along ``points`` ``[(x, y)]``.

        Returns the edited annotation, or None if erasing left nothing and it was deleted.
        """
        annotation = self.annotation(annotation_id)
        mask = annotation.rle.decode().copy(order="F")  # decoded arrays may be read-only views
        masks.paint_stroke(mask, list(points), radius, value=not erase)
        label = "Erase" if erase else "Brush"
        return self._set_rle(annotation, masks.encode_mask(mask), label)

    def clear_image(self, image_id: int) -> None:
        """Delete every annotation of one image, as one step."""
        self.image(image_id)
        if self.annotations_for_image(image_id):
            remaining = (a for a in self.annotations if a.image_id != image_id)
            self._commit("Clear image", self._with_annotations(remaining))
