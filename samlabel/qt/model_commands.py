"""Choosing and loading the model: the model dialog, background loads, their answers.

Owned by :class:`samlabel.qt.main_window.MainWindow` as ``window.models``. A load runs in the
background (:class:`samlabel.qt.model_loading.ModelLoadTask`); until the new model is ready
the previous one stays in use, and a failure is shown without losing it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from samlabel.core.errors import SamlabelError
from samlabel.inference import EmbeddingCache, Predictor, model_key
from samlabel.qt.model_loading import ModelLoadTask

if TYPE_CHECKING:
    from samlabel.qt.main_window import MainWindow
    from samlabel.qt.model_dialog import ModelDialog

#: ``loader(path, backend=..., progress=...) -> Predictor`` (see :func:`samlabel.app.load_model`).
ModelLoader = Callable[..., Predictor]


class ModelCommands(QObject):
    """The window's model commands (a QObject so that a load's answers, sent from its thread,
    arrive on the GUI thread and name their sender).

    Attributes:
        loader: loads a checkpoint or ONNX folder; None disables loading (tests, screenshots).
        embedding_cache: the on-disk embedding cache given to each loaded model, or None.
        job: the newest load (older ones still running are ignored when they answer).
        dialog: the model dialog opened last, or None.
    """

    def __init__(
        self,
        window: MainWindow,
        loader: ModelLoader | None,
        embedding_cache: EmbeddingCache | None,
    ) -> None:
        super().__init__(window)
        self.window = window
        self.loader = loader
        self.embedding_cache = embedding_cache
        self.job: ModelLoadTask | None = None
        self.dialog: ModelDialog | None = None

    def choose_model(self) -> None:
        """Open the model dialog (``self.dialog``); its choice loads in the background."""
        from samlabel.qt.model_dialog import ModelDialog

        w = self.window
        if self.dialog is not None:
            self.dialog.deleteLater()
        current = w.settings.model_path if w.controller.predictor is not None else None
        dialog = ModelDialog(current=current, backend=w.settings.model_backend, parent=w)
        dialog.modelChosen.connect(self._on_model_chosen)
        self.dialog = dialog
        dialog.open()

    def _on_model_chosen(self, path: str, backend: str) -> None:
        self.load_model(Path(path), backend)

    def load_model(self, path: Path, backend: str | None = None) -> None:
        """Load a checkpoint or ONNX folder with ``loader`` in the background.

        ``backend`` None keeps the loader's default (the command line's). A first load's ONNX
        export shows its progress in the status bar. A newer load replaces an older one still
        running (whose answer is then ignored).
        """
        if self.loader is None:
            return
        job = ModelLoadTask(self.loader, backend, self.window)
        job.progress.connect(self._on_progress)
        job.loaded.connect(self._on_loaded)
        job.failed.connect(self._on_failed)
        self.job = job
        self.window.status.show_busy(f"Loading the model {path.name}", time.monotonic())
        job.start(path)

    def _on_progress(self, message: str, fraction: float) -> None:
        job = self.sender()
        if job is self.job:
            self.window.status.show_progress(f"{job.path.name}: {message}", fraction)

    def _on_loaded(self, path: str, predictor: Predictor) -> None:
        job = self.sender()
        if job is not self.job:
            return  # a load the user replaced with another
        w = self.window
        w.settings.model_path = path
        if self.job.backend is not None:
            w.settings.model_backend = self.job.backend
        # Prompts and their mask came from the old model: clear them; annotations stay.
        w.controller.discard_prompts()
        w.controller.set_predictor(predictor, model_id(Path(path), predictor), self.embedding_cache)
        w.status.model_label.setToolTip(path)
        if w.message_bar.level == "warning":
            w.message_bar.dismiss()
        w.refresh_model_state()
        if w.controller.row < 0:
            w.status.show_state(f"Model ready: {predictor.describe()}")

    def _on_failed(self, path: str, text: str) -> None:
        if self.sender() is not self.job:
            return
        w = self.window
        failure = f"The model {Path(path).name} could not be loaded: {text}"
        previous = w.controller.predictor
        if previous is None:
            w.status.show_state("No model")
            w.notify_no_model(failure)
            return
        w.status.show_state("")
        w.show_embedding_state(w.controller.embedding_status)
        w.show_message("error", f"{failure} Still using {previous.describe()}.")


def model_id(path: Path, predictor: Predictor | None = None) -> str:
    """Identifies what computes embeddings, for the embedding cache: the weights' content
    (:func:`samlabel.inference.model_key`, the same name ``samlabel embed`` and ``samlabel
    auto`` write under, so their embeddings are found here), plus the precision when it is not
    fp32 (a bf16 embedding differs from an fp32 one by up to 2% and must not stand in for it).
    """
    precision = getattr(predictor, "precision", "fp32")
    try:
        return model_key(path, precision)
    except (OSError, SamlabelError):  # unreadable now: a key that at least cannot collide
        try:
            stat = path.stat()
            weights = f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
        except OSError:
            weights = str(path)
        return weights if precision == "fp32" else f"{weights}:{precision}"
