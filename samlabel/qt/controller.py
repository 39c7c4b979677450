"""The labelling session: which image is open, its embedding, the prompts, and the document.

:class:`LabelController` holds no widgets. The window calls its methods for what the user did
and redraws from its state when it emits a signal. Everything runs on the GUI thread except
image reading, encoding and per-click decoding, which the workers do; their answers carry
request numbers and stale ones are ignored (decoding: :mod:`samlabel.qt.live_decoding`).

Signals:
    imageChanged(): another image is current (its pixels may follow with ``imageLoaded``).
    imageLoaded(): the current image's pixels arrived (``source`` is set) or failed.
    promptsChanged(): prompts, prediction or the selected candidate changed.
    embeddingState(str): ``"encoding"``, ``"ready"``, ``"failed"`` or ``"none"`` (no model).
    documentChanged(): annotations, categories or image statuses changed.
    message(str, str): ``(level, text)`` for the user; level ``"info"``/``"warning"``/``"error"``.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

from samlabel.core.document import Document
from samlabel.core.model import ImageRecord
from samlabel.core.state import DocumentChanged
from samlabel.core.sync import sync_images
from samlabel.inference.api import ImageEmbedding, Predictor
from samlabel.inference.crops import Crop
from samlabel.inference.embedding_cache import EmbeddingCache
from samlabel.qt.document_edits import DocumentEdits
from samlabel.qt.document_models import CategoryListModel, DocumentBridge, LayerListModel
from samlabel.qt.image_list import ImageListModel
from samlabel.qt.live_decoding import LiveDecoding, PendingAccept
from samlabel.qt.workers import EmbeddingWorker, ImageLoader
from samlabel.session.prompts import PromptSession, PromptStep
from samlabel.session.source import SourceImage, image_size, list_images

log = logging.getLogger(__name__)

#: How many images after the current one are encoded ahead.
PREFETCH = 2


def relative_name(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` with forward slashes (COCO ``file_name``)."""
    return Path(os.path.relpath(path, root)).as_posix()


class LabelController(DocumentEdits, QObject):
    """State and operations of one labelling session (see the module docstring)."""

    imageChanged = Signal()
    imageLoaded = Signal()
    promptsChanged = Signal()
    embeddingState = Signal(str)
    documentChanged = Signal()
    message = Signal(str, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.document = Document()
        self.bridge = DocumentBridge(self.document, self)
        self.categories = CategoryListModel(self.bridge, self)
        self.layers = LayerListModel(self.bridge, self)
        self.images = ImageListModel(self)
        self.bridge.changed.connect(self._on_document_changed)
        self.loader = ImageLoader(parent=self)
        self.loader.loaded.connect(self._on_image_loaded)
        self.loader.failed.connect(self._on_image_failed)
        self.worker: EmbeddingWorker | None = None
        self.session = PromptSession()
        #: Huge images (:mod:`samlabel.qt.crop_mode`): the crop whose pixels the prompts and
        #: masks are in (mapped back to the full image on accept), or None.
        self.crop: Crop | None = None
        #: Called with ``(x, y, label)`` for a click on a huge image's overview, which picks
        #: a crop instead of prompting (an overview is not labelled).
        self.on_overview_prompt: Callable[[float, float, int], object] | None = None
        self.decoding = LiveDecoding(self.session, self)
        self.decoding.predictionArrived.connect(self.promptsChanged)
        self.decoding.acceptReady.connect(self._finish_accept)
        self.decoding.failed.connect(lambda text: self.message.emit("error", text))
        self.folder: Path | None = None
        self.annotations_path: Path | None = None
        self.store = None  # the autosaving annotations store, see open_folder
        self.row = -1
        self.source: SourceImage | None = None
        #: The current image's display pyramid, built by the loader thread.
        self.pyramid: list = []
        self.embedding: ImageEmbedding | None = None
        self.embedding_status = "none"
        self.current_category: int | None = None
        self.selected_annotation: int | None = None
        self._image_ids: list[int] = []
        self._load_request = 0
        self._encode_request = 0
        self.encode_started_at = 0.0

    # -- model -------------------------------------------------------------------------
    @property
    def last_decode_ms(self) -> float:
        """How long the decoder took for the last mask that arrived."""
        return self.decoding.last_ms

    @property
    def predictor(self) -> Predictor | None:
        """The model, or None when none is loaded."""
        return self.worker.predictor if self.worker is not None else None

    def set_predictor(
        self, predictor: Predictor | None, model_id: str = "", cache: EmbeddingCache | None = None
    ) -> None:
        """Use ``predictor`` from now on (None: no model). ``model_id`` keys the disk cache."""
        self._flush_accepts()
        self.decoding.set_predictor(predictor)
        if self.worker is not None:
            self.worker.shutdown(timeout=0.5)
            self.worker.deleteLater()
            self.worker = None
        self.embedding = None
        if predictor is not None:
            self.worker = EmbeddingWorker(
                predictor,
                model_id or predictor.describe(),
                cache,
                parent=self,
                images=self.loader.peek,
            )
            self.worker.started.connect(self._on_encode_started)
            self.worker.ready.connect(self._on_embedding_ready)
            self.worker.failed.connect(self._on_embedding_failed)
        if self.row >= 0:
            self._request_embedding()
        else:
            self._set_embedding_status("none" if predictor is None else "ready")

    def _set_embedding_status(self, status: str) -> None:
        self.embedding_status = status
        self.embeddingState.emit(status)

    # -- folder and images -------------------------------------------------------------
    def open_folder(
        self,
        folder: str | Path,
        annotations: str | Path | None = None,
        files: list[Path] | None = None,
    ) -> None:
        """Open the images of ``folder`` (or just ``files``) with their annotations file.

        Raises:
            SamlabelError: the annotations file cannot be read (it is left untouched).
        """
        from samlabel.qt.annotation_store import open_store

        folder = Path(folder).resolve()
        annotations_path = Path(annotations) if annotations else folder / "annotations.json"
        annotations_path = annotations_path.resolve()
        paths = [Path(p).resolve() for p in files] if files else list_images(folder)
        if annotations_path == self.annotations_path:
            self.close_folder()  # our own lock would make the file read-only
        store = open_store(annotations_path, lambda text: self.message.emit("error", text))
        self.close_folder()
        self.store = store
        self.folder, self.annotations_path = folder, annotations_path
        self.bridge.set_document(store.document)
        self.document = store.document
        root = annotations_path.parent
        names = [relative_name(path, root) for path in paths]
        sizes = {name: path for name, path in zip(names, paths, strict=True)}
        report = sync_images(self.document, names, lambda name: image_size(sizes[name]))
        if store.read_only_reason:
            self.message.emit("warning", f"Changes will not be saved: {store.read_only_reason}")
        if report.missing:
            self.message.emit(
                "warning",
                f"{len(report.missing)} image(s) of {annotations_path.name} are not in the "
                "folder; their annotations are kept.",
            )
        self._image_ids = [self.document.image_by_name(name).id for name in names]
        self.images.set_paths(paths)
        for row in range(len(paths)):
            record = self.document.image(self._image_ids[row])
            self.images.set_size(row, record.width, record.height)
            self._update_row(row)
        if not self.document.categories:
            self.current_category = None
        else:
            self.current_category = self.document.categories[0].id
        self.documentChanged.emit()
        if paths:
            self.go_to(0)
        else:
            self.message.emit("warning", f"No images found in {folder}.")
            self.imageChanged.emit()

    def close_folder(self) -> None:
        """Save and close the current annotations file."""
        self._flush_accepts()
        if self.store is not None:
            self.store.close()
            self.store = None
        self.row = -1
        self.source = None
        self.embedding = None
        self.session.clear()
        self.decoding.update(None)
        self.selected_annotation = None

    @property
    def paths(self) -> list[Path]:
        """The images, in list order."""
        return self.images.paths

    @property
    def image_id(self) -> int | None:
        """Document id of the current image."""
        return self._image_ids[self.row] if 0 <= self.row < len(self._image_ids) else None

    @property
    def image_record(self) -> ImageRecord | None:
        """The current image's record."""
        image_id = self.image_id
        return self.document.image(image_id) if image_id is not None else None

    def _update_row(self, row: int) -> None:
        image_id = self._image_ids[row]
        record = self.document.image(image_id)
        count = len(self.document.annotations_for_image(image_id))
        self.images.set_progress(row, count, record.status)

    def go_to(self, row: int) -> None:
        """Make image ``row`` current: its pixels and embedding are requested in the background."""
        if not 0 <= row < len(self._image_ids) or row == self.row:
            return
        self.row = row
        self.session.clear()
        self.selected_annotation = None
        self.source = None
        self.embedding = None
        self.decoding.update(None)  # a mask still decoding for the image left is dropped
        path = self.paths[row]
        self._load_request = self.loader.request(path)
        self.layers.set_image(self.image_id)
        self._request_embedding()
        self.imageChanged.emit()
        self.promptsChanged.emit()

    def next_image(self) -> None:
        """Go to the next image (stays on the last)."""
        self.go_to(min(self.row + 1, len(self._image_ids) - 1))

    def previous_image(self) -> None:
        """Go to the previous image (stays on the first)."""
        self.go_to(max(self.row - 1, 0))

    def _on_image_loaded(
        self, request_id: int, path: str, image: SourceImage, pyramid: list
    ) -> None:
        if request_id != self._load_request:
            return  # an answer for an image the user already left
        self.source = image
        self.pyramid = pyramid
        self.imageLoaded.emit()

    def _on_image_failed(self, request_id: int, path: str, text: str) -> None:
        if request_id != self._load_request:
            return
        self.source = None
        self.message.emit("error", text)
        self.imageLoaded.emit()

    # -- embeddings --------------------------------------------------------------------
    def refresh_embedding(self) -> None:
        """Ask again for the current image's embedding (after what SAM sees changed, e.g. a
        new window/level); prompts are decoded again when it arrives."""
        self.embedding = None
        self._request_embedding()

    def _request_embedding(self) -> None:
        if self.worker is None or self.row < 0:
            self._set_embedding_status("none")
            return
        path = self.paths[self.row]
        ahead = self.paths[self.row + 1 : self.row + 1 + PREFETCH]
        cached = self.worker.cached(path)
        self._encode_request = self.worker.request(path, ahead)
        if cached is not None:
            self._use_embedding(cached)
        else:
            self._set_embedding_status("encoding")
            self.encode_started_at = time.monotonic()

    def _on_encode_started(self, request_id: int, path: str) -> None:
        if request_id == self._encode_request:
            self.encode_started_at = time.monotonic()

    def _on_embedding_ready(self, request_id: int, path: str, embedding: ImageEmbedding) -> None:
        if self.row < 0 or Path(path) != self.paths[self.row] or self.embedding is not None:
            return
        if request_id != self._encode_request:
            return  # an older picture of this image (another window/level)
        self._use_embedding(embedding)

    def _use_embedding(self, embedding: ImageEmbedding) -> None:
        self.embedding = embedding
        self._set_embedding_status("ready")
        self._decode()

    def _on_embedding_failed(self, request_id: int, path: str, text: str) -> None:
        if request_id != self._encode_request:
            return
        self._set_embedding_status("failed")
        self.message.emit("error", f"Could not compute the embedding of {Path(path).name}: {text}")

    def _decode(self) -> None:
        """Redraw the prompts now; their mask is decoded in the background and follows with
        another ``promptsChanged`` (the previous mask stays shown meanwhile)."""
        self.decoding.update(self.embedding)
        self.promptsChanged.emit()

    # -- prompts -----------------------------------------------------------------------
    def add_point(self, x: float, y: float, label: int) -> None:
        """Include (1) or exclude (0) image point ``(x, y)``; its mask is decoded in the
        background once the embedding is ready."""
        if self.row < 0:
            return
        if self.source is not None and self.source.is_overview:
            if self.on_overview_prompt is not None:
                self.on_overview_prompt(x, y, label)
            return
        self.session.add_point(x, y, label)
        self._after_prompt()

    def set_box(self, x0: float, y0: float, x1: float, y1: float) -> None:
        """Use the box ``(x0, y0, x1, y1)`` (image pixels) as a prompt."""
        if self.row < 0:
            return
        if self.source is not None and self.source.is_overview:
            if self.on_overview_prompt is not None:  # a crop around the box's centre
                self.on_overview_prompt((x0 + x1) / 2, (y0 + y1) / 2, 1)
            return
        self.session.set_box((x0, y0, x1, y1))
        self._after_prompt()

    def _after_prompt(self) -> None:
        if self.predictor is None:
            self.message.emit("warning", "Choose a model (File ▸ Choose Model…) to get masks.")
        self._decode() if self.embedding is not None else self.promptsChanged.emit()

    def choose_candidate(self, index: int) -> None:
        """Select candidate ``index`` (0-based)."""
        if self.session.select(index):
            self.promptsChanged.emit()

    def next_candidate(self) -> None:
        """Select the next candidate of the shown prediction, wrapping around."""
        shown = self.session.shown_step()
        prediction = shown.prediction if shown is not None else None
        if prediction is not None:
            self.choose_candidate((self.session.selected + 1) % len(prediction.scores))

    def discard_prompts(self) -> None:
        """Forget the prompts and their mask."""
        if not self.session.is_empty():
            self.session.clear()
            self._decode()

    def accept(self) -> int | None:
        """Add the selected candidate as an annotation of the current category.

        Returns the new annotation's id, or None when nothing was added now. When the mask of
        the current prompts is still being decoded, the accept is queued instead of waiting
        with a frozen window: the prompts are cleared at once (the user can go on with the
        next object) and the annotation is added, with the best candidate, when the mask
        arrives (``documentChanged``).
        """
        step = self.session.current
        image_id = self.image_id
        if step is None or image_id is None:
            return None
        if step.prediction is None:
            if self.decoding.worker is None or self.embedding is None:
                return None  # no model, or the embedding is still being computed
            job = PendingAccept(
                image_id, self.ensure_category(), tuple(self.session.steps), self.embedding
            )
            self.decoding.queue_accept(job)
            self.session.clear()
            self._decode()
            return None
        annotation_id = self._add_annotation(image_id, None, step)
        if annotation_id is not None:
            self.session.clear()
            self._decode()
        return annotation_id

    def _add_annotation(self, image_id: int, category: int | None, step: PromptStep) -> int | None:
        """Add the selected candidate of decoded ``step`` on ``image_id`` under ``category``
        (None: the current one); None if the mask is empty."""
        mask = step.prediction.masks[step.selected]
        if not mask.any():
            self.message.emit("warning", "The mask is empty: add an include point.")
            return None
        if category is None:
            category = self.ensure_category()
        points, box = step.points, step.box
        crop = self.crop  # a huge image's crop: mask and prompts back to full-image pixels
        if crop is not None:
            mask = crop.mask_to_full(mask)
            points = crop.points_to_full(points)
            box = crop.box_to_full(box) if box is not None else None
        prompts = {"points": [list(p) for p in points]}
        if box is not None:
            prompts["box"] = list(box)
        score = float(step.prediction.scores[step.selected])
        annotation = self.document.add_annotation(
            image_id, category, np.asfortranarray(mask), score=score, prompts=prompts
        )
        if image_id == self.image_id:  # a queued accept may land after an image switch
            self.selected_annotation = annotation.id
        self.documentChanged.emit()
        return annotation.id

    def _finish_accept(self, job: PendingAccept) -> None:
        """A queued accept's mask arrived: add it (its category may have gone meanwhile)."""
        if job.image_id not in self.document.state.image_index:
            return  # another annotations file was opened meanwhile
        category = job.category
        if category not in self.document.state.category_index:
            category = None  # deleted meanwhile: the current one
        self._add_annotation(job.image_id, category, job.step)

    def _flush_accepts(self) -> None:
        """Add the queued accepts now (before closing the file or changing the model)."""
        for job in self.decoding.flush():
            self._finish_accept(job)

    # -- undo --------------------------------------------------------------------------
    def undo(self) -> None:
        """Remove the last prompt; without prompts, undo the last document change."""
        if self.session.undo():
            if self.embedding is not None:
                self._decode()
            else:
                self.promptsChanged.emit()
            return
        if not self.document.undo():
            self.message.emit("info", "Nothing to undo.")

    def redo(self) -> None:
        """Redo the last undone document change."""
        if not self.document.redo():
            self.message.emit("info", "Nothing to redo.")

    # -- document events ---------------------------------------------------------------
    def _on_document_changed(self, event: DocumentChanged) -> None:
        if event.reason == "reset":
            return
        rows = {image_id: row for row, image_id in enumerate(self._image_ids)}
        for image_id in event.image_ids:
            if image_id in rows:
                self._update_row(rows[image_id])
        state = self.document.state
        if self.selected_annotation not in state.annotation_index:
            self.selected_annotation = None
        if event.categories_changed and self.current_category not in state.category_index:
            categories = self.document.categories
            self.current_category = categories[0].id if categories else None
        self.documentChanged.emit()

    def is_saved(self) -> bool:
        """Whether everything is on disk."""
        return self.store is None or self.store.is_saved()

    def shutdown(self) -> None:
        """Save, stop the threads (call before the app quits)."""
        self.close_folder()
        self.loader.shutdown()
        self.decoding.shutdown()
        if self.worker is not None:
            self.worker.shutdown()
