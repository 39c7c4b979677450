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

import copy
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from samlabel.core import masks
from samlabel.core.document_categories import CategoryEditing
from samlabel.core.document_core import DocumentCore, Listener, _StateChange, annotation_from_rle
from samlabel.core.jsonsafe import check_json_safe
from samlabel.core.model import Annotation, ImageRecord, ImageStatus
from samlabel.core.state import DocumentState

__all__ = ["Document", "DocumentCore", "Listener", "annotation_from_rle"]


class Document(CategoryEditing):
    """A set of images with their categories and annotations.

    Build an empty one with ``Document()`` or a loaded one from a state
    (``Document(DocumentState(...))``, see :func:`samlabel.io.coco.load_coco`).
    Reading, events, undo/redo and :meth:`group` come from
    :class:`~samlabel.core.document_core.DocumentCore`; category operations from
    :class:`~samlabel.core.document_categories.CategoryEditing`.
    """

    # ----------------------------------------------------------------- images
    def add_images(
        self, records: Sequence[tuple[str, int, int]], undoable: bool = True
    ) -> list[ImageRecord]:
        """Add images given as ``(file_name, width, height)``; returns their records.

        ``undoable=False`` is for opening a folder, which is not an edit to undo.
        """
        next_id = self._state.next_image_id
        new = []
        names = {image.file_name for image in self.images}
        for file_name, width, height in records:
            if file_name in names:
                raise ValueError(f"image {file_name!r} is already in the document")
            names.add(file_name)
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
        self._commit("Set image field", replace(self._state, images=images))

    def set_image_status(self, image_id: int, status: ImageStatus | str) -> None:
        image = self.image(image_id)
        status = ImageStatus(status)
        if image.status is status:
            return
        new = replace(image, status=status)
        images = tuple(new if i.id == image_id else i for i in self.images)
        self._commit("Set image status", replace(self._state, images=images))

    # ------------------------------------------------------------ annotations
    def add_annotation(
        self,
        image_id: int,
        category_id: int,
        mask: np.ndarray,
        score: float | None = None,
        prompts: Mapping[str, Any] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Annotation:
        """Add a mask on top of the image's others; an unlabelled image becomes in progress.

        Args:
            mask: ``(H, W)`` bool of the image's size, preferably Fortran-ordered.
            score: the model's predicted IoU, if the mask came from the model.
            prompts: JSON-compatible description of the prompts (points, box) behind it.
            extra: more JSON-compatible fields of the annotation in the file (e.g.
                ``{"samlabel_reviewed": False}`` for a proposal of ``samlabel auto``).
        """
        if extra is not None:
            check_json_safe(dict(extra), "extra")
        image = self.image(image_id)
        self.category(category_id)
        mask = self._check_mask(image, mask)
        if score is not None and not math.isfinite(score):
            raise ValueError(f"the mask's score must be a finite number, got {score}")
        if prompts is not None:
            # Refuse here what the file could not hold, rather than fail every later save;
            # keep a copy, so the caller changing its dict later cannot rewrite history.
            check_json_safe(dict(prompts), "prompts")
        if not mask.any():
            raise ValueError("cannot add an empty mask")
        annotation = annotation_from_rle(
            self._state.next_annotation_id,
            image_id,
            category_id,
            masks.encode_mask(mask),
            score=None if score is None else float(score),
            prompts=copy.deepcopy(dict(prompts)) if prompts is not None else None,
            created=self._clock(),
            extra=copy.deepcopy(dict(extra)) if extra else {},
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
