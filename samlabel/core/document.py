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
import copy
import math
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from samlabel.core import masks
from samlabel.core.document_categories import CategoryEdits
from samlabel.core.document_core import DocumentCore, Listener, _utc_now, annotation_from_rle
from samlabel.core.history import History
from samlabel.core.jsonsafe import check_json_safe
from samlabel.core.model import Annotation, Category, ImageRecord, ImageStatus
from samlabel.core.state import DocumentState

__all__ = ["Document", "DocumentCore", "Listener", "annotation_from_rle"]


class Document:
    """A set of images with their categories and annotations.

    Build an empty one with ``Document()`` or a loaded one from a state
    (``Document(DocumentState(...))``, see :func:`samlabel.io.coco.load_coco`).
    It owns a :class:`~samlabel.core.document_core.DocumentCore` (the state, reading, events,
    undo/redo and :meth:`group`, which the members below hand on to) and makes its image and
    annotation edits here; category edits are its
    :class:`~samlabel.core.document_categories.CategoryEdits`.

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
        self._core = DocumentCore(state, history_depth, clock)
        self._categories = CategoryEdits(self._core)

    # --------------------------------------------------- reading (the core's)
    @property
    def revision(self) -> int:
        """Counts changes (edits, undos, redos); compare it to know whether to save."""
        return self._core.revision

    @property
    def versioned_state(self) -> tuple[int, DocumentState]:
        """``(revision, state)`` read together: what a saving thread should write."""
        return self._core.versioned_state

    @property
    def state(self) -> DocumentState:
        """The current immutable snapshot (safe to hand to another thread)."""
        return self._core.state

    @property
    def images(self) -> tuple[ImageRecord, ...]:
        return self._core.images

    @property
    def categories(self) -> tuple[Category, ...]:
        return self._core.categories

    @property
    def annotations(self) -> tuple[Annotation, ...]:
        return self._core.annotations

    def image(self, image_id: int) -> ImageRecord:
        return self._core.image(image_id)

    def image_by_name(self, file_name: str) -> ImageRecord | None:
        return self._core.image_by_name(file_name)

    def category(self, category_id: int) -> Category:
        return self._core.category(category_id)

    def annotation(self, annotation_id: int) -> Annotation:
        return self._core.annotation(annotation_id)

    def annotations_for_image(self, image_id: int) -> tuple[Annotation, ...]:
        return self._core.annotations_for_image(image_id)

    def mask(self, annotation_id: int) -> np.ndarray:
        """The annotation's ``(H, W)`` bool mask (see :meth:`DocumentCore.mask`)."""
        return self._core.mask(annotation_id)

    def mask_cropped(self, annotation_id: int) -> tuple[np.ndarray, tuple[int, int]]:
        """``(crop, (x0, y0))``: the mask cut to its bbox (:meth:`DocumentCore.mask_cropped`)."""
        return self._core.mask_cropped(annotation_id)

    # ------------------------------------------------ events, undo (the core's)
    @property
    def history(self) -> History:
        return self._core.history

    def subscribe(self, callback: Listener) -> Callable[[], None]:
        """Call ``callback(event)`` after every change; returns a function that unsubscribes."""
        return self._core.subscribe(callback)

    @property
    def can_undo(self) -> bool:
        return self._core.can_undo

    @property
    def can_redo(self) -> bool:
        return self._core.can_redo

    def undo(self) -> bool:
        """Undo the last operation; False when there was nothing to undo."""
        return self._core.undo()

    def redo(self) -> bool:
        """Redo the last undone operation; False when there was nothing to redo."""
        return self._core.redo()

    def reset(self, state: DocumentState, label: str = "Reload") -> None:
        """Replace the whole content (not undoable: the history is cleared)."""
        self._core.reset(state, label)

    def group(
        self, label: str, join: Hashable | None = None
    ) -> contextlib.AbstractContextManager[None]:
        """Make every operation inside the ``with`` block one undo step named ``label``;
        consecutive groups of one ``join`` key make one step (see :meth:`DocumentCore.group`)."""
        return self._core.group(label, join)

    # ------------------------------------------- categories (CategoryEdits')
    def add_category(
        self, name: str, color: str | None = None, supercategory: str | None = None
    ) -> Category:
        """Add a category; without ``color`` the next palette colour is used."""
        return self._categories.add_category(name, color, supercategory)

    def rename_category(self, category_id: int, name: str) -> None:
        self._categories.rename_category(category_id, name)

    def recolour_category(self, category_id: int, color: str) -> None:
        self._categories.recolour_category(category_id, color)

    def set_supercategory(self, category_id: int, supercategory: str | None) -> None:
        self._categories.set_supercategory(category_id, supercategory)

    def delete_category(self, category_id: int, reassign_to: int | None = None) -> None:
        """Delete a category; its annotations move to ``reassign_to`` or are deleted with it."""
        self._categories.delete_category(category_id, reassign_to)

    # ----------------------------------------------------------------- images
    def add_images(
        self,
        records: Sequence[tuple[str, int, int] | tuple[str, int, int, Mapping[str, Any]]],
        undoable: bool = True,
    ) -> list[ImageRecord]:
        """Add images given as ``(file_name, width, height)``, or with a fourth item, the
        record's extra COCO fields (e.g. a stack frame's ``samlabel_stack``); returns them.

        ``undoable=False`` is for opening a folder, which is not an edit to undo.
        """
        next_id = self._core.state.next_image_id
        new = []
        names = {image.file_name for image in self.images}
        for file_name, width, height, *rest in records:
            extra = dict(rest[0]) if rest else {}
            check_json_safe(extra, "image fields")
            if file_name in names:
                raise ValueError(f"image {file_name!r} is already in the document")
            names.add(file_name)
            if width < 1 or height < 1:
                raise ValueError(f"image {file_name!r} has an empty size {width}x{height}")
            new.append(ImageRecord(next_id, file_name, int(width), int(height), extra=extra))
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
            self._core.amend_snapshots(with_images)
        self._core.commit("Add images", with_images(self._core.state), undoable)
        return new

    def add_image(self, file_name: str, width: int, height: int) -> ImageRecord:
        """Add one image of ``width`` x ``height`` pixels."""
        return self.add_images([(file_name, width, height)])[0]

    def set_image_extra(self, image_id: int, key: str, value: Any) -> None:
        """Set (or, with ``value`` None, remove) a field of the image's record in the file.

        For fields samlabel's tools keep per image (e.g. ``samlabel_auto``); ``value`` must be
        JSON-compatible.
        """
        image = self.image(image_id)
        extra = dict(image.extra)
        if value is None:
            extra.pop(key, None)
        else:
            check_json_safe(value, key)
            extra[key] = copy.deepcopy(value)
        new = replace(image, extra=extra)
        images = tuple(new if i.id == image_id else i for i in self.images)
        self._core.commit("Set image field", replace(self._core.state, images=images))

    def set_image_status(self, image_id: int, status: ImageStatus | str) -> None:
        image = self.image(image_id)
        status = ImageStatus(status)
        if image.status is status:
            return
        new = replace(image, status=status)
        images = tuple(new if i.id == image_id else i for i in self.images)
        self._core.commit("Set image status", replace(self._core.state, images=images))

    def replace_image(
        self, image: ImageRecord, annotations: Iterable[Annotation], label: str
    ) -> None:
        """Replace the record of ``image.id`` and all of that image's annotations: one undo step.

        For changes that touch an image and its masks together (the image file was replaced
        by one of another size and its masks are rescaled or set aside).
        """
        self.image(image.id)  # raises KeyError for an unknown image
        images = tuple(image if i.id == image.id else i for i in self.images)
        kept = tuple(annotations)
        if any(a.image_id != image.id for a in kept):
            raise ValueError(f"annotations given for image {image.id} belong to another image")
        merged: list[Annotation] = []
        placed = False
        for annotation in self.annotations:  # the image's masks keep their place in the order
            if annotation.image_id != image.id:
                merged.append(annotation)
            elif not placed:
                merged.extend(kept)
                placed = True
        if not placed:
            merged.extend(kept)
        state = replace(self._core.state, images=images, annotations=tuple(merged))
        self._core.commit(label, state)

    # ------------------------------------------------------------ annotations
    def add_annotation(
        self,
        image_id: int,
        category_id: int,
        mask: np.ndarray | masks.Rle,
        score: float | None = None,
        prompts: Mapping[str, Any] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Annotation:
        """Add a mask on top of the image's others; an unlabelled image becomes in progress.

        Args:
            mask: ``(H, W)`` bool of the image's size, preferably Fortran-ordered; or its RLE,
                encoded already (by a worker thread: then no pixel is looked at here).
            score: the model's predicted IoU, if the mask came from the model.
            prompts: JSON-compatible description of the prompts (points, box) behind it.
            extra: further JSON-compatible COCO fields of the annotation (e.g. a stack's
                ``track_id``, or ``{"samlabel_reviewed": False}`` for a proposal of
                ``samlabel auto``).
        """
        image = self.image(image_id)
        self.category(category_id)
        rle = self._core.mask_rle(image, mask)
        if score is not None and not math.isfinite(score):
            raise ValueError(f"the mask's score must be a finite number, got {score}")
        if prompts is not None:
            # Refuse here what the file could not hold, rather than fail every later save;
            # keep a copy, so the caller changing its dict later cannot rewrite history.
            check_json_safe(dict(prompts), "prompts")
        if extra is not None:
            check_json_safe(dict(extra), "annotation fields")
        if rle.area == 0:
            raise ValueError("cannot add an empty mask")
        annotation = annotation_from_rle(
            self._core.state.next_annotation_id,
            image_id,
            category_id,
            rle,
            score=None if score is None else float(score),
            prompts=copy.deepcopy(dict(prompts)) if prompts is not None else None,
            created=self._core.now(),
            extra=copy.deepcopy(dict(extra)) if extra is not None else {},
        )
        changes: dict[str, Any] = {"next_annotation_id": annotation.id + 1}
        if image.status is ImageStatus.UNLABELLED:
            changes["images"] = tuple(
                replace(i, status=ImageStatus.IN_PROGRESS) if i.id == image_id else i
                for i in self.images
            )
        state = self._core.with_annotations((*self.annotations, annotation), **changes)
        self._core.commit("Add annotation", state)
        return annotation

    def update_annotation_fields(
        self, annotation_ids: Iterable[int], fields: Mapping[str, Any], label: str
    ) -> None:
        """Set extra COCO fields (e.g. ``samlabel_reviewed``) on annotations, one undo step."""
        check_json_safe(dict(fields), "annotation fields")
        ids = {self.annotation(i).id for i in annotation_ids}
        new = copy.deepcopy(dict(fields))
        changing = {a.id for a in self.annotations if a.id in ids and {**a.extra, **new} != a.extra}
        if changing:  # nothing to change is no undo step
            edited = (
                replace(a, extra={**a.extra, **new}) if a.id in changing else a
                for a in self.annotations
            )
            self._core.commit(label, self._core.with_annotations(edited))

    def delete_annotation(self, annotation_id: int) -> None:
        self.delete_annotations([annotation_id])

    def delete_annotations(self, annotation_ids: Iterable[int]) -> None:
        """Delete several annotations as one undoable step."""
        ids = set(annotation_ids)
        for annotation_id in ids:
            self.annotation(annotation_id)
        if ids:
            label = "Delete annotation" if len(ids) == 1 else "Delete annotations"
            self._core.commit(
                label, self._core.with_annotations(a for a in self.annotations if a.id not in ids)
            )

    def set_category(self, annotation_id: int, category_id: int) -> None:
        annotation = self.annotation(annotation_id)
        self.category(category_id)
        if annotation.category_id != category_id:
            new = replace(annotation, category_id=category_id)
            self._core.commit("Change category", self._core.replace_annotation(new))

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
        self._core.commit("Reorder annotation", self._core.with_annotations(annotations))

    def set_mask(self, annotation_id: int, mask: np.ndarray, label: str = "Edit mask") -> None:
        """Replace an annotation's mask (an empty mask deletes the annotation)."""
        annotation = self.annotation(annotation_id)
        mask = self._core.check_mask(self.image(annotation.image_id), mask)
        self._set_rle(annotation, masks.encode_mask(mask), label)

    def _set_rle(self, annotation: Annotation, rle: masks.Rle, label: str) -> Annotation | None:
        if rle.area == 0:
            kept = (a for a in self.annotations if a.id != annotation.id)
            self._core.commit(label, self._core.with_annotations(kept))
            return None
        if rle == annotation.rle:
            return annotation
        new = replace(annotation, rle=rle, bbox=rle.bbox, area=rle.area)
        self._core.commit(label, self._core.replace_annotation(new))
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
        self._core.commit("Merge annotations", self._core.with_annotations(annotations))
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
            self._core.commit("Clear image", self._core.with_annotations(remaining))
