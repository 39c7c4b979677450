"""The labelling session as the window sees it: Qt signals and item models over the session.

:class:`LabelController` adapts a :class:`samlabel.session.LabellingSession` (which owns all
the state and decides what to compute) to Qt: it turns the session's plain events into
signals, keeps the Qt item models (images, categories, layers) in step with the document, and
runs the session's requests in background threads (:class:`~samlabel.qt.work_runner.
QtWorkRunner`). It holds no state of its own beyond those models: every other attribute reads
the session, and every command is the session's.

Signals:
    imageChanged(): another image is current (its pixels may follow with ``imageLoaded``).
    imageLoaded(): the current picture arrived (``source`` is set) or failed; also after a
        switch between a huge image's overview and a crop.
    pixelsChanged(): the same picture with other pixels (a new window/level).
    promptsChanged(): prompts, prediction or the selected candidate changed.
    embeddingState(str): ``"encoding"``, ``"ready"``, ``"failed"`` or ``"none"`` (no model).
    documentChanged(): annotations, categories, image statuses or the selection changed.
    message(str, str): ``(level, text)`` for the user; level ``"info"``/``"warning"``/``"error"``.
    notice(str, str, str, object): ``(key, level, text, offers)`` a lasting problem ("" text:
        resolved); see ``SessionEvents.notice``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, Signal

from samlabel.core.document import Document
from samlabel.core.model import ImageRecord
from samlabel.core.stack_frames import unreviewed_frames
from samlabel.core.state import DocumentChanged
from samlabel.inference.api import ImageEmbedding, Predictor
from samlabel.qt.annotation_store import open_store
from samlabel.qt.document_models import CategoryListModel, DocumentBridge, LayerListModel
from samlabel.qt.image_list import ImageListModel
from samlabel.qt.overlays import image_pyramid
from samlabel.qt.work_runner import QtWorkRunner
from samlabel.session.decoding import PendingAccept
from samlabel.session.prompts import PromptSession
from samlabel.session.session import LabellingSession
from samlabel.session.source import SourceImage
from samlabel.session.stack_items import stack_progress

if TYPE_CHECKING:  # annotations only: the window reaches models through inference.api
    from samlabel.inference.crops import Crop
    from samlabel.inference.embedding_cache import EmbeddingCache


class LabelController(QObject):
    """Qt face of one labelling session (see the module docstring).

    Attributes:
        session: the session (the one owner of the state).
        runner: runs its requests in background threads.
        bridge, categories, layers, images: Qt models of the document and the image list.
    """

    imageChanged = Signal()
    imageLoaded = Signal()
    pixelsChanged = Signal()
    promptsChanged = Signal()
    embeddingState = Signal(str)
    documentChanged = Signal()
    message = Signal(str, str)
    notice = Signal(str, str, str, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runner = QtWorkRunner(self)
        self.session = LabellingSession(self.runner, open_store, image_pyramid)
        self.runner.attach(self.session)
        self.bridge = DocumentBridge(self.session.document, self)
        self.categories = CategoryListModel(self.bridge, self)
        self.layers = LayerListModel(self.bridge, self)
        self.images = ImageListModel(self)
        self.bridge.changed.connect(self._update_rows)
        events = self.session.events
        events.folder_opened.subscribe(self._on_folder_opened)
        events.image_changed.subscribe(self._on_image_changed)
        events.image_loaded.subscribe(self.imageLoaded.emit)
        events.pixels_changed.subscribe(self._on_pixels_changed)
        events.prompts_changed.subscribe(self.promptsChanged.emit)
        events.embedding_state.subscribe(self.embeddingState.emit)
        events.document_changed.subscribe(self.documentChanged.emit)
        events.message.subscribe(self.message.emit)
        events.notice.subscribe(self.notice.emit)

    # -- reading the session -----------------------------------------------------------
    @property
    def document(self) -> Document:
        """The open document."""
        return self.session.document

    @property
    def store(self):
        """The open annotations file with its autosave, or None."""
        return self.session.store

    @property
    def folder(self) -> Path | None:
        """The open folder."""
        return self.session.folder

    @property
    def annotations_path(self) -> Path | None:
        """The open annotations file."""
        return self.session.annotations_path

    @property
    def row(self) -> int:
        """Row of the current image in the list, -1 for none."""
        return self.session.row

    @property
    def paths(self) -> list[Path]:
        """The images, in list order."""
        return list(self.session.images.paths)

    @property
    def image_id(self) -> int | None:
        """Document id of the current image."""
        return self.session.image_id

    @property
    def image_record(self) -> ImageRecord | None:
        """The current image's record."""
        return self.session.image_record

    @property
    def source(self) -> SourceImage | None:
        """The current picture (None until read)."""
        return self.session.image.source

    @property
    def pyramid(self) -> list:
        """The current picture's display pyramid (QImages)."""
        return self.session.image.pyramid

    @property
    def crop(self) -> Crop | None:
        """The huge image's crop being labelled, or None."""
        return self.session.image.crop

    @property
    def embedding(self) -> ImageEmbedding | None:
        """The current picture's embedding, None until computed."""
        return self.session.image.embedding

    @property
    def embedding_status(self) -> str:
        """``"encoding"``, ``"ready"``, ``"failed"`` or ``"none"``."""
        return self.session.image.status

    @property
    def encode_started_at(self) -> float:
        """``time.monotonic()`` when the current encode started."""
        return self.session.image.encode_started_at

    @property
    def predictor(self) -> Predictor | None:
        """The model, or None when none is loaded."""
        return self.session.predictor

    @property
    def prompts(self) -> PromptSession:
        """The prompt steps on the current picture."""
        return self.session.prompts

    @property
    def last_decode_ms(self) -> float:
        """How long the decoder took for the last mask that arrived."""
        return self.session.decoding.last_ms

    @property
    def current_category(self) -> int | None:
        """The category accepted masks go to."""
        return self.session.edits.current_category

    @property
    def selected_annotation(self) -> int | None:
        """The highlighted annotation."""
        return self.session.edits.selected_annotation

    def is_idle(self) -> bool:
        """Whether no mask is being decoded or made (tests wait on it)."""
        return self.session.is_idle()

    def is_saved(self) -> bool:
        """Whether everything is on disk."""
        return self.session.is_saved()

    # -- commands: the session's -------------------------------------------------------
    def set_predictor(
        self, predictor: Predictor | None, model_id: str = "", cache: EmbeddingCache | None = None
    ) -> None:
        """Use ``predictor`` from now on (None: no model). ``model_id`` keys the disk cache."""
        self.session.set_predictor(predictor, model_id, cache)

    def open_folder(
        self, folder: str | Path, annotations: str | Path | None = None, files=None
    ) -> None:
        """See :meth:`LabellingSession.open_folder` (raises SamlabelError)."""
        self.session.open_folder(folder, annotations, files)

    def start_opening_folder(
        self, folder: Path, annotations: Path | None = None, files: list[Path] | None = None
    ) -> int:
        """See :meth:`LabellingSession.start_opening_folder`: listed in the runner's folder
        lane; the session's ``folder_opened`` follows, or a message. Returns its number."""
        return self.session.start_opening_folder(folder, annotations, files)

    def close_folder(self) -> None:
        """Add the accepts on their way, save and close the annotations file."""
        self.session.close_folder()

    def go_to(self, row: int) -> None:
        """Make image ``row`` current."""
        self.session.go_to(row)

    def next_image(self) -> None:
        """Go to the next image."""
        self.session.next_image()

    def previous_image(self) -> None:
        """Go to the previous image."""
        self.session.previous_image()

    def add_point(self, x: float, y: float, label: int) -> None:
        """Include (1) or exclude (0) picture point ``(x, y)``."""
        self.session.add_point(x, y, label)

    def set_box(self, x0: float, y0: float, x1: float, y1: float) -> None:
        """Use the box ``(x0, y0, x1, y1)`` (picture pixels) as a prompt."""
        self.session.set_box(x0, y0, x1, y1)

    def choose_candidate(self, index: int) -> None:
        """Select candidate ``index`` (0-based)."""
        self.session.choose_candidate(index)

    def next_candidate(self) -> None:
        """Select the next candidate, wrapping around."""
        self.session.next_candidate()

    def discard_prompts(self) -> None:
        """Forget the prompts and their mask."""
        self.session.discard_prompts()

    def accept(self) -> PendingAccept | None:
        """Accept the selected candidate (added when its full-size mask is made)."""
        return self.session.accept()

    def undo(self) -> None:
        """Remove the last prompt; without prompts, undo the last document change."""
        self.session.undo()

    def redo(self) -> None:
        """Redo the last undone document change."""
        self.session.redo()

    def ensure_category(self) -> int:
        """The current category id, creating a first category when there is none."""
        return self.session.edits.ensure_category()

    def select_annotation(self, annotation_id: int | None) -> None:
        """Highlight an annotation (the target of brush and eraser)."""
        self.session.edits.select_annotation(annotation_id)

    def delete_annotation(self, annotation_id: int) -> None:
        """Delete one annotation (undoable)."""
        self.session.edits.delete_annotation(annotation_id)

    def move_annotation(self, annotation_id: int, delta: int) -> None:
        """Move in the drawing order: +1 towards the top, -1 towards the bottom."""
        self.session.edits.move_annotation(annotation_id, delta)

    def set_annotation_category(self, annotation_id: int, category_id: int) -> None:
        """Change the category of an annotation."""
        self.session.edits.set_annotation_category(annotation_id, category_id)

    def brush(self, points: np.ndarray, radius: float, erase: bool) -> None:
        """Paint or erase the selected annotation along ``points`` ``(N, 2)`` image pixels."""
        self.session.edits.brush(points, radius, erase)

    def toggle_done(self) -> None:
        """Mark the current image done, or back to in progress."""
        self.session.edits.toggle_done()

    def add_category(self, name: str, color: str | None = None) -> int:
        """Add a category and make it current; returns its id."""
        return self.session.edits.add_category(name, color)

    def set_current_category(self, category_id: int) -> None:
        """Accepted masks go to ``category_id`` from now on."""
        self.session.edits.set_current_category(category_id)

    def choose_category_number(self, number: int) -> None:
        """Make the ``number``-th category (1-based) current."""
        self.session.edits.choose_category_number(number)

    def delete_category(self, category_id: int) -> None:
        """Delete a category and its annotations (undoable)."""
        self.session.edits.delete_category(category_id)

    def shutdown(self) -> None:
        """Save, stop the threads (call before the app quits)."""
        self.session.shutdown()

    # -- session events to Qt ----------------------------------------------------------
    def _on_image_changed(self) -> None:
        folder, row = self.session.images, self.session.row
        if row in folder.stacks:  # another frame of a stack row
            self.images.set_stack(row, folder.paths[row], folder.stacks[row].frames)
        self.layers.set_image(self.session.image_id)
        self.imageChanged.emit()

    def _on_pixels_changed(self) -> None:
        self.pixelsChanged.emit()
        self.promptsChanged.emit()  # candidate thumbnails show the new picture

    def _on_folder_opened(self) -> None:
        """Another document: the models follow it and the image list is rebuilt."""
        self.bridge.set_document(self.session.document)
        folder = self.session.images
        self.images.set_paths(list(folder.paths))
        for row, image_id in enumerate(folder.image_ids):
            if image_id is None:
                self.images.set_broken(row, folder.broken.get(row, "cannot be read"))
                continue
            record = self.document.image(image_id)
            self.images.set_size(row, record.width, record.height)
        for row, stack in folder.stacks.items():
            self.images.set_stack(row, folder.paths[row], stack.frames)
        self._update_rows(None)

    def _update_rows(self, event: DocumentChanged | None) -> None:
        """Progress of the listed images the change touched (all of them for None)."""
        folder = self.session.images
        if event is not None and event.reason == "reset":
            return
        ids = folder.image_ids if event is None else event.image_ids
        for row, count, status in stack_progress(self.document, folder, ids):
            self.images.set_progress(row, count, status)
            self.images.set_review(
                row, len(unreviewed_frames(self.document, folder.stacks[row].uri))
            )
        for image_id in ids:
            row = folder.row_of(image_id) if image_id is not None else None
            if row is None or row in folder.stacks:  # not listed, broken, or a stack's frame
                continue
            record = self.document.image(image_id)
            count = len(self.document.annotations_for_image(image_id))
            self.images.set_progress(row, count, record.status)
