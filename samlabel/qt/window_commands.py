"""The window's commands: the handlers that :mod:`samlabel.qt.actions` names.

A mixin of :class:`samlabel.qt.main_window.MainWindow`: the window builds and lays out the
widgets, this class says what each menu entry, toolbar button and shortcut does. Commands
that need a file ask with a dialog and then call a method that takes the answer as an
argument (``open_folder``, ``load_model``, ``export_to``, ``add_category``,
``recolour_category``), so tests and scripts drive the same code without dialogs.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtGui import QColor
from PySide6.QtWidgets import QColorDialog, QFileDialog, QInputDialog

from samlabel.core.errors import SamlabelError
from samlabel.inference.api import Predictor
from samlabel.qt.exporting import ExportJob
from samlabel.qt.model_loading import ModelLoadTask

if TYPE_CHECKING:
    from samlabel.qt.main_window import MainWindow

    _Base = MainWindow
else:
    _Base = object


class WindowCommands(_Base):
    """Handlers of the window's actions (see :data:`samlabel.qt.actions.ACTIONS`)."""

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of images")
        if folder:
            self.open_folder(Path(folder))

    def open_folder(
        self, folder: Path, annotations: Path | None = None, files: list[Path] | None = None
    ) -> bool:
        """Open ``folder``; False (with a message) when its annotations cannot be read."""
        try:
            self.controller.open_folder(folder, annotations, files)
        except SamlabelError as error:
            self.show_message("error", str(error))
            return False
        self.settings.last_folder = folder
        self._refresh_title()
        self.canvas.setFocus()
        return True

    def choose_annotations(self) -> None:
        if self.controller.folder is None:
            self.show_message("info", "Open a folder first.")
            return
        # A save dialog, because a new file may be named too; opening an existing one is
        # not overwriting it.
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Annotations file",
            str(self.controller.annotations_path),
            "COCO (*.json)",
            options=QFileDialog.Option.DontConfirmOverwrite,
        )
        if path:
            self.open_folder(self.controller.folder, Path(path))

    def choose_model(self) -> None:
        """Open the model dialog (``self.model_dialog``); its choice loads in the background."""
        from samlabel.qt.model_dialog import ModelDialog

        previous = getattr(self, "model_dialog", None)
        if previous is not None:
            previous.deleteLater()
        current = self.settings.model_path if self.controller.predictor is not None else None
        dialog = ModelDialog(current=current, backend=self.settings.model_backend, parent=self)
        dialog.modelChosen.connect(self._on_model_chosen)
        self.model_dialog = dialog
        dialog.open()

    def _on_model_chosen(self, path: str, backend: str) -> None:
        self.load_model(Path(path), backend)

    def load_model(self, path: Path, backend: str | None = None) -> None:
        """Load a checkpoint or ONNX folder with ``model_loader`` in the background.

        ``backend`` None keeps the loader's default (the command line's). A first load's ONNX
        export shows its progress in the status bar; until the new model is ready the previous
        one stays in use, and a failure is shown without losing it. A newer load replaces an
        older one still running (whose answer is then ignored).
        """
        if self.model_loader is None:
            return
        job = ModelLoadTask(self.model_loader, backend, self)
        job.progress.connect(self._on_model_progress)
        job.loaded.connect(self._on_model_loaded)
        job.failed.connect(self._on_model_failed)
        self.model_job = job
        self.status.show_busy(f"Loading the model {path.name}", time.monotonic())
        job.start(path)

    def _on_model_progress(self, message: str, fraction: float) -> None:
        job = self.sender()
        if job is self.model_job:
            self.status.show_progress(f"{job.path.name}: {message}", fraction)

    def _on_model_loaded(self, path: str, predictor: Predictor) -> None:
        job = self.sender()
        if job is not self.model_job:
            return  # a load the user replaced with another
        self.settings.model_path = path
        if job.backend is not None:
            self.settings.model_backend = job.backend
        # Prompts and their mask came from the old model: clear them; annotations stay.
        self.controller.discard_prompts()
        self.controller.set_predictor(
            predictor, _model_id(Path(path), predictor), self.embedding_cache
        )
        self.status.model_label.setToolTip(path)
        if self.message_bar.level == "warning":
            self.message_bar.dismiss()
        self._refresh_model_state()
        if self.controller.row < 0:
            self.status.show_state(f"Model ready: {predictor.describe()}")

    def _on_model_failed(self, path: str, text: str) -> None:
        if self.sender() is not self.model_job:
            return
        failure = f"The model {Path(path).name} could not be loaded: {text}"
        previous = self.controller.predictor
        if previous is None:
            self.status.show_state("No model")
            self.notify_no_model(failure)
            return
        self.status.show_state("")
        self._on_embedding_state(self.controller.embedding_status)
        self.show_message("error", f"{failure} Still using {previous.describe()}.")

    def export_coco_polygons(self) -> None:
        self._export("coco-polygons")

    def export_png_masks(self) -> None:
        self._export("png")

    def export_yolo(self) -> None:
        self._export("yolo")

    def _export(self, kind: str) -> None:
        if self.controller.folder is None:
            self.show_message("info", "Open a folder first.")
            return
        target = QFileDialog.getExistingDirectory(self, "Export into folder")
        if target:
            self.export_to(kind, Path(target))

    def export_to(self, kind: str, target: Path) -> ExportJob:
        """Export the document (``"coco-polygons"``, ``"png"``, ``"yolo"``) into ``target``.

        Runs in the background on a snapshot of the document; the status bar says it is
        running and the message bar what was written. Returns the job (``job.ok`` when done).
        """
        job = ExportJob(self.controller, kind, target, parent=self)
        self.export_jobs = [j for j in getattr(self, "export_jobs", []) if not j.done()]
        self.export_jobs.append(job)
        job.finished.connect(self._on_export_finished)
        self.status.show_state(f"Exporting to {target}…")
        job.start()
        return job

    def _on_export_finished(self, ok: bool, text: str) -> None:
        self.status.show_state(text if ok else "Export failed")
        self.show_message("info" if ok else "error", text)

    def wait_for_exports(self) -> None:
        """Let running exports finish writing (on close: a half-written export helps nobody)."""
        for job in getattr(self, "export_jobs", []):
            job.wait()

    def undo(self) -> None:
        self.controller.undo()

    def redo(self) -> None:
        self.controller.redo()

    def accept_mask(self) -> None:
        self.controller.accept()

    def discard_prompts(self) -> None:
        self.controller.discard_prompts()

    def choose_candidate_1(self) -> None:
        self.controller.choose_candidate(0)

    def choose_candidate_2(self) -> None:
        self.controller.choose_candidate(1)

    def choose_candidate_3(self) -> None:
        self.controller.choose_candidate(2)

    def next_candidate(self) -> None:
        self.controller.next_candidate()

    def delete_selected(self) -> None:
        if self.controller.selected_annotation is not None:
            self.controller.delete_annotation(self.controller.selected_annotation)

    def toggle_done(self) -> None:
        self.controller.toggle_done()

    def set_tool(self, tool: str) -> None:
        """``"prompt"``, ``"brush"`` or ``"eraser"``."""
        self.canvas.tool = tool
        for name in ("prompt", "brush", "eraser"):
            self.actions[f"tool_{name}"].setChecked(name == tool)
        self.canvas.update()

    def use_prompt_tool(self) -> None:
        self.set_tool("prompt")

    def use_brush(self) -> None:
        self.set_tool("brush")

    def use_eraser(self) -> None:
        self.set_tool("eraser")

    def brush_bigger(self) -> None:
        slider = self.radius_slider
        slider.setValue(min(slider.maximum(), round(slider.value() * 1.25) + 1))

    def brush_smaller(self) -> None:
        slider = self.radius_slider
        slider.setValue(max(slider.minimum(), round(slider.value() / 1.25)))

    def _radius_changed(self, value: int) -> None:
        self.canvas.brush_radius = float(value)
        self.settings.brush_radius = value
        self.canvas.update()

    def next_image(self) -> None:
        self.controller.next_image()

    def previous_image(self) -> None:
        self.controller.previous_image()

    def fit_view(self) -> None:
        self.canvas.fit()

    def zoom_in(self) -> None:
        self.canvas.zoom_by(1.25)

    def zoom_out(self) -> None:
        self.canvas.zoom_by(0.8)

    def zoom_to_annotation(self, annotation_id: int) -> None:
        """Centre and zoom on one annotation (double click in the layer panel)."""
        x, y, w, h = self.controller.document.annotation(annotation_id).bbox
        self.canvas.zoom_to_rect(x, y, x + w, y + h)

    def ask_new_category(self) -> None:
        name, ok = QInputDialog.getText(self, "New category", "Name:")
        if ok and name.strip():
            self.add_category(name.strip())

    def add_category(self, name: str) -> None:
        """Add a category (with the colour this name had before, if any)."""
        try:
            self.controller.add_category(name, self.settings.category_color(name))
        except ValueError as error:
            self.show_message("warning", str(error))

    def ask_category_colour(self, category_id: int) -> None:
        category = self.controller.document.category(category_id)
        color = QColorDialog.getColor(QColor(category.color), self, f"Colour of {category.name}")
        if color.isValid():
            self.recolour_category(category_id, color.name())

    def recolour_category(self, category_id: int, color: str) -> None:
        """Give a category a new colour (remembered for this name)."""
        self.controller.document.recolour_category(category_id, color)
        self.settings.set_category_color(self.controller.document.category(category_id).name, color)

    def _category_box_chosen(self, row: int) -> None:
        if row >= 0:
            self.controller.set_current_category(self.controller.categories.category(row).id)


def _model_id(path: Path, predictor: Predictor | None = None) -> str:
    """Identifies what computes embeddings, for the embedding cache: the weights' path, size
    and modification time, plus the precision when it is not fp32 (a bf16 embedding differs
    from an fp32 one by up to 2% and must not be served in its place)."""
    try:
        stat = path.stat()
        weights = f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
    except OSError:
        weights = str(path)
    precision = getattr(predictor, "precision", "fp32")
    return weights if precision == "fp32" else f"{weights}:{precision}"
