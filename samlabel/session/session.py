"""The labelling session: the one owner of what is being labelled, without Qt.

:class:`LabellingSession` holds the open folder and annotations file, the current image and
its picture, the embedding, the prompt steps and the accepts on their way, and is the only
writer of that state; each of its parts (``image``, ``prompts``, ``decoding``, ``accepts``,
``edits``, ``file``, ``frames``, ``sizes``, ...) owns one piece (docs/architecture.md). Views
call its methods for what the user did and redraw when it publishes an event
(:class:`~samlabel.session.events.SessionEvents`). It never runs a network or reads an image:
a :class:`~samlabel.session.work.WorkRunner` answers its numbered requests through
``image.on_*``, ``decoding.on_*`` and ``on_mask*``, which drop answers nobody waits for.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from samlabel.core.document import Document
from samlabel.core.errors import MaskSizeError, SamlabelError
from samlabel.core.masks import Rle
from samlabel.core.model import ImageRecord
from samlabel.core.state import DocumentChanged
from samlabel.inference.api import Predictor
from samlabel.inference.crops import CROP_SIDE
from samlabel.session.accepts import AcceptPipeline, add_accepted, surely_empty
from samlabel.session.current_image import CurrentImage
from samlabel.session.decoding import DecodeScheduler, PendingAccept
from samlabel.session.edits import DocumentEdits
from samlabel.session.events import SessionEvents
from samlabel.session.file_guard import FileGuard
from samlabel.session.folder_switch import FolderSwitching
from samlabel.session.image_size_guard import ImageSizeGuard
from samlabel.session.images import AnnotationFile, FolderImages, StoreOpener
from samlabel.session.prompts import PromptSession
from samlabel.session.propagation import PropagationSession
from samlabel.session.proposals import ProposalSession
from samlabel.session.stack_navigation import StackNavigation
from samlabel.session.work import WorkRunner

#: How many images after the current one are encoded ahead.
PREFETCH = 2


class LabellingSession:
    """State and operations of one labelling session (see the module docstring).

    Args:
        runner: does the reading, encoding, decoding and mask making.
        open_store: opens an annotations file with its autosave.
        pyramid_of: ``(H, W, 3)`` uint8 RGB -> the display pyramid views draw from (the window
            passes QImages; opaque here). Used for pictures made on this thread (crops,
            windows); the runner builds the pyramid of a loaded file.
        crop_side: side of the crop SAM encodes on a huge image, in image pixels.
    """

    def __init__(
        self,
        runner: WorkRunner,
        open_store: StoreOpener,
        pyramid_of: Callable[[np.ndarray], list] = lambda rgb: [],
        crop_side: int = CROP_SIDE,
    ) -> None:
        self.events = SessionEvents()
        self.runner = runner
        self._open_store = open_store
        self.crop_side = crop_side
        self.document = Document()
        self._unsubscribe, self._quiet = self.document.subscribe(self._on_document_changed), False
        self.edits = DocumentEdits(lambda: self.document, lambda: self.image_record, self.events)
        self.prompts = PromptSession()
        self.accepts = AcceptPipeline(runner)
        self.decoding = DecodeScheduler(
            self.prompts,
            runner,
            on_shown=self.events.prompts_changed.emit,
            on_accept_decoded=self.accepts.submit,
            on_failed=lambda text: self._message("error", text),
        )
        self.predictor: Predictor | None = None
        self.folder: Path | None = None
        self.annotations_path: Path | None = None
        self.store: AnnotationFile | None = None
        self.file = FileGuard(
            self.events,
            lambda: self.store.store if self.store else None,
            lambda: self.folders.on_replaced(),
        )
        self.folders = FolderSwitching(self)  # opening and closing folders, all or nothing
        self.images = FolderImages()
        #: The document's revision right after listing the folder (records the listing added
        #: are not the user's work); -1 before a folder is open.
        self.listed_revision = -1
        self.row = -1
        self.image = CurrentImage(
            runner, self.events, pyramid_of, self._on_new_picture, self._on_embedding
        )
        self.proposals = ProposalSession(self)  # segment everything, to review
        self.frames = StackNavigation(self)  # a stack row's frames
        self.propagation = PropagationSession(self)  # SAM 2 carries masks through a stack
        self.sizes = ImageSizeGuard(self)  # an image file replaced by one of another size

    def _message(self, level: str, text: str) -> None:
        self.events.message.emit(level, text)

    # -- reading -----------------------------------------------------------------------
    @property
    def image_id(self) -> int | None:
        """Document id of the current image."""
        ids = self.images.image_ids
        return ids[self.row] if 0 <= self.row < len(ids) else None

    @property
    def image_record(self) -> ImageRecord | None:
        """The current image's record."""
        image_id = self.image_id
        return self.document.image(image_id) if image_id is not None else None

    def is_idle(self) -> bool:
        """Whether no mask is being decoded or made (the shown mask and document are final)."""
        return self.decoding.is_idle() and self.accepts.is_idle()

    def is_saved(self) -> bool:
        """Whether everything is on disk (accepts on their way are not)."""
        return self.accepts.is_idle() and (self.store is None or self.store.is_saved())

    # -- model -------------------------------------------------------------------------
    def set_predictor(
        self, predictor: Predictor | None, model_id: str = "", cache: object = None
    ) -> None:
        """Use ``predictor`` from now on (None: no model). ``model_id`` keys the disk cache."""
        self.flush_accepts()
        model_id = model_id or (predictor.describe() if predictor is not None else "")
        self.runner.set_predictor(predictor, model_id, cache)
        self.propagation.set_model(model_id, cache)
        self.decoding.set_enabled(predictor is not None)
        self.predictor = predictor
        if self.row >= 0:
            self._request_embedding()
        else:
            self.image.set_no_image_status(predictor is not None)

    def _request_embedding(self) -> None:
        ahead = self.frames.ahead(PREFETCH)  # the next images, or a stack's next frames
        self.image.request_embedding(self.predictor is not None, ahead)

    def _on_new_picture(self) -> None:
        """Another picture of the same image: its prompts do not apply (accepts on their way
        keep their own crop, so they land right)."""
        self.prompts.clear()

    def _on_embedding(self) -> None:
        self.decoding.update(self.image.embedding)
        self.events.prompts_changed.emit()

    # -- folder and images (opening and closing: the FolderSwitching part) ---------------
    def open_folder(
        self,
        folder: str | Path,
        annotations: str | Path | None = None,
        files: list[Path] | None = None,
    ) -> None:
        """Open a folder all or nothing (:meth:`FolderSwitching.open_folder`)."""
        self.folders.open_folder(folder, annotations, files)

    def start_opening_folder(
        self,
        folder: str | Path,
        annotations: str | Path | None = None,
        files: list[Path] | None = None,
    ) -> int:
        """Open a folder with its listing and stack headers read in the runner's work
        (:meth:`FolderSwitching.start_opening`); failures arrive as messages."""
        return self.folders.start_opening(folder, annotations, files)

    def has_unsaved_work(self) -> bool:
        """Whether closing now would lose something the user did."""
        return self.folders.has_unsaved_work()

    def close_folder(self) -> None:
        """Add the accepts on their way, save and close the annotations file."""
        self.folders.close_folder()

    def _leave_image(self) -> None:
        self.image.clear()
        self.prompts.clear()
        self.decoding.update(None)  # a mask still decoding for the image left is dropped
        self.edits.selected_annotation = None

    def go_to(self, row: int) -> None:
        """Make image ``row`` current: its pixels and embedding are requested from the runner."""
        if not 0 <= row < len(self.images.paths) or row == self.row:
            return
        self.row = row
        self._leave_image()
        broken = self.images.broken.get(row)
        if broken is None:
            self.image.open(self.images.paths[row])
        self._request_embedding()
        self.events.image_changed.emit()
        if broken is not None:  # listed, never read: say why, show nothing
            self._message("warning", broken)
            self.events.image_loaded.emit()
        self.events.prompts_changed.emit()

    def next_image(self) -> None:
        """Go to the next image (stays on the last)."""
        self.go_to(min(self.row + 1, len(self.images.paths) - 1))

    def previous_image(self) -> None:
        """Go to the previous image (stays on the first)."""
        self.go_to(max(self.row - 1, 0))

    # -- prompts -----------------------------------------------------------------------
    def add_point(self, x: float, y: float, label: int) -> None:
        """Include (1) or exclude (0) picture point ``(x, y)``; on a huge image's overview
        the click opens the crop around it instead, where it becomes the first prompt."""
        if self.row < 0:
            return
        if self.image.source is not None and self.image.source.is_overview:
            self.enter_crop_at(x, y, label)
            return
        if self.proposals.take_click(x, y, label):
            return
        self.prompts.add_point(x, y, label)
        self._after_prompt()

    def set_box(self, x0: float, y0: float, x1: float, y1: float) -> None:
        """Use the box ``(x0, y0, x1, y1)`` (picture pixels) as a prompt."""
        if self.row < 0:
            return
        if self.image.source is not None and self.image.source.is_overview:
            self.enter_crop_at((x0 + x1) / 2, (y0 + y1) / 2, 1)  # a crop around its centre
            return
        self.prompts.set_box((x0, y0, x1, y1))
        self._after_prompt()

    def _after_prompt(self) -> None:
        if self.predictor is None:
            self._message("warning", "Choose a model (File ▸ Choose Model…) to get masks.")
        self._prompts_changed()

    def _prompts_changed(self) -> None:
        """Redraw the prompts now; their mask follows from the runner (the previous mask stays
        shown meanwhile)."""
        self.decoding.update(self.image.embedding)
        self.events.prompts_changed.emit()

    def choose_candidate(self, index: int) -> None:
        """Select candidate ``index`` (0-based)."""
        if self.prompts.select(index):
            self.events.prompts_changed.emit()

    def next_candidate(self) -> None:
        """Select the next candidate of the shown prediction, wrapping around."""
        shown = self.prompts.shown_step()
        if shown is not None and shown.prediction is not None:
            self.choose_candidate((self.prompts.selected + 1) % len(shown.prediction.scores))

    def discard_prompts(self) -> None:
        """Forget the prompts and their mask."""
        if not self.prompts.is_empty():
            self.prompts.clear()
            self._prompts_changed()

    # -- accepting ---------------------------------------------------------------------
    def accept(self) -> PendingAccept | None:
        """Accept the selected candidate under the current category.

        The prompts are cleared at once (the user can go on with the next object); the
        chosen candidate is made at full size by the runner and added when it arrives
        (``document_changed``). When the mask is still being decoded, the accept waits for
        it first, with the best candidate. Returns the accept on its way, or None when
        nothing was accepted (no prompts, no model or embedding yet, an empty mask).
        """
        step, image_id = self.prompts.current, self.image_id
        if step is None or image_id is None or self.sizes.refuses(image_id):
            return None  # (refused, and told why, while the image's file has another size)
        if step.prediction is None and (self.predictor is None or self.image.embedding is None):
            return None
        if step.prediction is not None and surely_empty(step.prediction, step.selected):
            self._message("warning", "The mask is empty: add an include point.")
            return None
        job = PendingAccept(
            image_id,
            self.edits.ensure_category(),
            tuple(self.prompts.steps),
            self.image.embedding,
            self.image.crop,
        )
        if step.prediction is None:
            self.decoding.queue_accept(job)
        else:
            self.accepts.submit(job)
        self.prompts.clear()
        self._prompts_changed()
        return job

    def on_mask(self, number: int, mask: Rle) -> None:
        """The runner made mask request ``number`` (its RLE): add it to the document."""
        job = self.accepts.take(number)
        if job is not None:
            self._add_annotation(job, mask)

    def on_mask_failed(self, number: int, text: str) -> None:
        """The runner could not make mask request ``number``."""
        if self.accepts.take(number) is not None:
            self._message("error", f"Could not add the accepted mask: {text}")

    def flush_accepts(self) -> None:
        """Add the accepts on their way now, on this thread (before closing the file or
        changing the model)."""
        for job, mask in self.accepts.flush(self.decoding.flush(self.predictor)):
            self._add_annotation(job, mask)

    def _add_annotation(self, job: PendingAccept, mask: Rle) -> int | None:
        """Add ``job``'s full-size ``mask``, encoded by the runner (its category may have gone
        meanwhile: then the current one); one ``document_changed`` with the new annotation
        selected."""
        if job.image_id not in self.document.state.image_index:
            return None  # another annotations file was opened meanwhile
        if mask.area == 0:
            self._message("warning", "The mask is empty: add an include point.")
            return None
        category = job.category
        if category not in self.document.state.category_index:
            category = self.edits.ensure_category()
        self._quiet = True  # one document_changed, after the selection below
        try:
            track = self.frames.track_extra(job.image_id)  # a stack frame's track_id
            stale = self.propagation.stale_masks(job.image_id, track)  # a correction
            annotation = add_accepted(self.document, job, mask, category, track, stale)
        except MaskSizeError as error:  # the record changed size while the mask was made
            self._message("error", str(error))
            return None
        finally:
            self._quiet = False
        if job.image_id == self.image_id:  # an accept may land after an image switch
            self.edits.selected_annotation = annotation.id
        self.events.document_changed.emit()
        return annotation.id

    # -- undo --------------------------------------------------------------------------
    def undo(self) -> None:
        """Remove the last prompt, else undo the last document change (stops a run it undoes)."""
        if self.prompts.undo():
            self._prompts_changed()
            return
        self.propagation.stop_before_undo()
        if not self.document.undo():
            self._message("info", "Nothing to undo.")

    def redo(self) -> None:
        """Redo the last undone document change."""
        if not self.document.redo():
            self._message("info", "Nothing to redo.")

    def _on_document_changed(self, event: DocumentChanged) -> None:
        if event.reason == "reset":  # a reload, merge or save-as (an open has its own events)
            self.folders.on_replaced()
            return
        self.edits.on_document_changed(event.categories_changed)
        if not self._quiet:
            self.events.document_changed.emit()

    # -- pictures: huge images and window/level (shown by ``image.show_window``) ----------
    def enter_crop_at(self, x: float, y: float, label: int | None = None) -> bool:
        """Open the crop around overview point ``(x, y)``; with ``label`` (1/0) the click
        also becomes the first prompt there. False (with a message) when it cannot be read."""
        try:
            point = self.image.crop_at(x, y, self.crop_side)
        except SamlabelError as error:
            self._message("error", str(error))
            return False
        if point is None:
            return False
        self._request_embedding()
        if label is not None:
            self.prompts.add_point(point[0], point[1], label)
        self._after_prompt() if label is not None else self._prompts_changed()
        return True

    def back_to_overview(self) -> None:
        """Leave the crop; the overview is shown again (prompts are dropped)."""
        if self.image.back_to_overview():
            self._request_embedding()
            self._prompts_changed()

    def encode_window(self) -> None:
        """Let SAM see the picture as shown now (after ``image.show_window``): a new embedding
        is requested (from the cache for a window seen before) and the prompts are decoded
        again on it."""
        if self.predictor is None or not self.image.encode_window():
            return
        for step in self.prompts.steps:  # decoded again against the new embedding
            step.prediction = None
        self._request_embedding()
        self._prompts_changed()

    # -- closing -----------------------------------------------------------------------
    def shutdown(self) -> None:
        """Save and close; stop the runner (call before the app quits)."""
        self.close_folder()
        self.decoding.set_enabled(False)
        self.runner.shutdown()
