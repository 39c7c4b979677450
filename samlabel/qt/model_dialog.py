"""File ▸ Choose Model…: pick an installed model, download an official one, or open a file.

The dialog lists the official models of the registry (installed or not) and the custom ones
installed in the models folder (:class:`samlabel.inference.model_store.ModelStore`). It never
loads a model itself: "Use", "Open checkpoint file…" and "Open ONNX model folder…" emit
``modelChosen(path, backend)`` and close; the window loads the model in a worker. Downloads
run in :class:`~samlabel.qt.model_downloads.DownloadTask` with a progress bar and Cancel, and
their failures show the store's one-sentence message in the dialog.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from samlabel.inference import MANIFEST_NAME, ModelEntry, ModelStore
from samlabel.qt.model_downloads import DownloadTask, format_bytes
from samlabel.qt.model_list import ModelList
from samlabel.qt.model_loading import BACKEND_LABELS, available_backends

CHECKPOINT_FILTER = "SAM checkpoints (*.pth *.pt *.safetensors);;All files (*)"

#: Colours of the dialog's own parts, on top of the application's stylesheet.
_STYLE = """
QLabel#modelDialogTitle { font-size: 13pt; font-weight: 600; color: #f0f1f3; }
QLabel#modelDialogHint, QLabel#modelFolder { color: #9a9ea8; }
QLabel#modelDescription { color: #c4c7ce; padding: 2px 0; }
QLabel#modelDialogError { background: #4d2424; color: #f3f3f3; border-radius: 4px;
                          padding: 6px 8px; }
QLabel#downloadStatus { color: #a7aab2; }
QTreeWidget { background: #1e2024; border: 1px solid #30333a; border-radius: 4px; outline: none; }
QTreeWidget::item { padding: 5px 4px; }
QTreeWidget::item:selected { background: #2f4d6e; color: #ffffff; }
QHeaderView::section { background: #2a2c32; color: #9a9ea8; border: none;
                       border-bottom: 1px solid #30333a; padding: 5px 6px; }
QPushButton#useModelButton { background: #2f5f93; border: 1px solid #409cff; color: #ffffff; }
QPushButton#useModelButton:hover { background: #3a70aa; }
QPushButton:disabled, QPushButton#useModelButton:disabled {
    color: #60636b; background: #2c2f35; border-color: #3a3d45; }
QProgressBar#downloadProgress { max-height: 14px; text-align: center; color: #ffffff; }
"""


class ModelDialog(QDialog):
    """The model chooser (see the module docstring).

    Signals:
        modelChosen(path, backend): load the checkpoint file or ONNX folder ``path`` with
            ``backend`` (``"auto"``, ``"onnxruntime"``, ``"openvino"``, ``"torch"``).
    """

    modelChosen = Signal(str, str)

    def __init__(
        self,
        store: ModelStore | None = None,
        current: Path | None = None,
        backend: str = "auto",
        parent: QWidget | None = None,
    ) -> None:
        """``current`` is the model in use (marked in the list); ``backend`` preselected."""
        super().__init__(parent)
        self.store = store if store is not None else ModelStore()
        self.current = current
        self.download_task: DownloadTask | None = None
        self.entries: list[ModelEntry] = []
        self.setObjectName("modelDialog")
        self.setWindowTitle("Choose a model")
        self.setStyleSheet(_STYLE)
        self.resize(820, 520)
        self._build()
        self._set_backend(backend)
        self.refresh()

    # -- construction ------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 16, 18, 14)
        layout.setSpacing(10)
        title = QLabel("Segment Anything model")
        title.setObjectName("modelDialogTitle")
        hint = QLabel(
            "Masks come from a SAM or MobileSAM model. Download an official one once, or open "
            "a checkpoint or an exported ONNX model folder you already have."
        )
        hint.setObjectName("modelDialogHint")
        hint.setWordWrap(True)
        layout.addWidget(title)
        layout.addWidget(hint)

        self.tree = ModelList()
        self.tree.itemSelectionChanged.connect(self._update_buttons)
        self.tree.itemDoubleClicked.connect(lambda _item, _col: self.use_selected())
        layout.addWidget(self.tree, 1)

        self.description = QLabel("")
        self.description.setObjectName("modelDescription")
        self.description.setWordWrap(True)
        layout.addWidget(self.description)

        row = QHBoxLayout()
        self.download_button = QPushButton("Download")
        self.download_button.setObjectName("downloadButton")
        self.download_button.clicked.connect(self.download_selected)
        self.cancel_button = QPushButton("Cancel download")
        self.cancel_button.setObjectName("cancelDownloadButton")
        self.cancel_button.clicked.connect(self.cancel_download)
        self.progress = QProgressBar()
        self.progress.setObjectName("downloadProgress")
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.download_status = QLabel("")
        self.download_status.setObjectName("downloadStatus")
        for button in (self.download_button, self.cancel_button):
            button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        row.addWidget(self.download_button)
        row.addWidget(self.cancel_button)
        row.addWidget(self.progress, 1)
        row.addWidget(self.download_status)
        row.addStretch(0)
        layout.addLayout(row)

        self.error_label = QLabel("")
        self.error_label.setObjectName("modelDialogError")
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.hide()
        layout.addWidget(self.error_label)

        folder = QLabel(f"Models folder: {self.store.folder}")
        folder.setObjectName("modelFolder")
        folder.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(folder)

        bottom = QHBoxLayout()
        self.open_file_button = QPushButton("Open checkpoint file…")
        self.open_file_button.setObjectName("openCheckpointButton")
        self.open_file_button.setToolTip("A SAM or MobileSAM .pth, .pt or .safetensors file")
        self.open_file_button.clicked.connect(self.open_checkpoint_file)
        self.open_folder_button = QPushButton("Open ONNX model folder…")
        self.open_folder_button.setObjectName("openOnnxFolderButton")
        self.open_folder_button.setToolTip(
            "A folder exported by samlabel (manifest.json + ONNX files); needs no PyTorch"
        )
        self.open_folder_button.clicked.connect(self.open_onnx_folder)
        self.backend_box = QComboBox()
        self.backend_box.setObjectName("backendChooser")
        for name in available_backends():
            self.backend_box.addItem(BACKEND_LABELS[name], name)
        self.backend_box.setToolTip("Where the model runs; Automatic measures and picks")
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.reject)
        self.use_button = QPushButton("Use model")
        self.use_button.setObjectName("useModelButton")
        self.use_button.setDefault(True)
        self.use_button.clicked.connect(self.use_selected)
        bottom.addWidget(self.open_file_button)
        bottom.addWidget(self.open_folder_button)
        bottom.addStretch(1)
        bottom.addWidget(QLabel("Run on"))
        bottom.addWidget(self.backend_box)
        bottom.addSpacing(12)
        bottom.addWidget(self.close_button)
        bottom.addWidget(self.use_button)
        layout.addLayout(bottom)
        self._show_idle_download()

    def _set_backend(self, backend: str) -> None:
        index = self.backend_box.findData(backend)
        self.backend_box.setCurrentIndex(max(index, 0))

    # -- state -------------------------------------------------------------------------
    @property
    def backend(self) -> str:
        """The backend chosen in the dialog."""
        return str(self.backend_box.currentData())

    def refresh(self, select: str | None = None) -> None:
        """Re-read the models folder; select the entry named ``select`` (else keep the
        selection, else the model in use, else the first installed one)."""
        keep = select or self.tree.selected_name()
        self.entries = self.store.entries()
        current = self.current.resolve() if self.current is not None else None
        self.tree.fill(self.entries, current, keep)
        self._update_buttons()

    def select(self, name: str) -> None:
        """Select the entry called ``name``."""
        if not self.tree.select_name(name):
            raise KeyError(name)

    def selected_entry(self) -> ModelEntry | None:
        """The highlighted entry, or None."""
        name = self.tree.selected_name()
        return next((e for e in self.entries if e.name == name), None)

    def _update_buttons(self) -> None:
        entry = self.selected_entry()
        downloading = self.download_task is not None
        self.use_button.setEnabled(entry is not None and entry.installed)
        self.download_button.setEnabled(
            entry is not None and entry.official and not entry.installed and not downloading
        )
        self.cancel_button.setEnabled(downloading)
        self.cancel_button.setVisible(downloading)
        if entry is None:
            self.description.setText("")
        elif entry.spec is not None and entry.installed:
            where = "a shared read-only folder" if entry.read_only else "the models folder"
            self.description.setText(
                f"<b>{entry.title}</b> — {entry.spec.description}. Installed in {where}."
            )
        elif entry.spec is not None:
            size = format_bytes(entry.spec.size)
            self.description.setText(
                f"<b>{entry.title}</b> — {entry.spec.description}. Download {size} from "
                f"{entry.spec.url.split('/')[2]}, checked against its published sha256."
            )
        else:
            self.description.setText(f"<b>{entry.title}</b> — your own model, {entry.path}")

    def show_error(self, text: str) -> None:
        """Show ``text`` in the dialog's error line (empty hides it)."""
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))

    # -- choosing ----------------------------------------------------------------------
    def use_selected(self) -> None:
        """Load the highlighted model (installed ones only) and close."""
        entry = self.selected_entry()
        if entry is None or not entry.installed:
            return
        self.choose(entry.path)

    def choose(self, path: Path) -> None:
        """Emit ``modelChosen(path, backend)`` and close."""
        self.modelChosen.emit(str(path), self.backend)
        self.accept()

    def open_checkpoint_file(self) -> None:
        """Ask for a checkpoint file anywhere on disk and use it."""
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a SAM or MobileSAM checkpoint", str(self.store.folder), CHECKPOINT_FILTER
        )
        if path:
            self.choose(Path(path))

    def open_onnx_folder(self) -> None:
        """Ask for a folder of exported ONNX files and use it."""
        folder = QFileDialog.getExistingDirectory(
            self, "Open an exported ONNX model folder", str(self.store.folder)
        )
        if not folder:
            return
        if not (Path(folder) / MANIFEST_NAME).is_file():
            self.show_error(
                f"{folder} is not an exported ONNX model folder: it has no {MANIFEST_NAME}. "
                "Choose the folder samlabel exported (it holds manifest.json and .onnx files)."
            )
            return
        self.choose(Path(folder))

    # -- downloading -------------------------------------------------------------------
    def download_selected(self) -> None:
        """Download the highlighted official model in the background."""
        entry = self.selected_entry()
        if entry is None or not entry.official or entry.installed or self.download_task:
            return
        self.show_error("")
        task = DownloadTask(self.store, entry.name, self)
        task.progress.connect(self._on_download_progress)
        task.finished.connect(self._on_download_finished)
        task.cancelled.connect(self._on_download_cancelled)
        task.failed.connect(self._on_download_failed)
        self.download_task = task
        self.progress.setValue(0)
        self.progress.show()
        self.download_status.setText(f"Connecting for {entry.title}…")
        self._update_buttons()
        task.start()

    def cancel_download(self) -> None:
        """Stop the running download at its next chunk (the partial file resumes later)."""
        if self.download_task is not None:
            self.download_task.cancel()
            self.download_status.setText("Cancelling…")

    def _on_download_progress(self, done: int, total: int, speed: float) -> None:
        if self.download_task is None:
            return
        if total > 0:
            self.progress.setRange(0, 1000)
            self.progress.setValue(round(1000 * min(done / total, 1.0)))
            text = f"{format_bytes(done)} of {format_bytes(total)}"
        else:
            self.progress.setRange(0, 0)
            text = format_bytes(done)
        if speed > 0:
            text += f" · {format_bytes(int(speed))}/s"
        self.download_status.setText(text)

    def _finish_download(self, status: str) -> None:
        task, self.download_task = self.download_task, None
        if task is not None:
            task.deleteLater()
        self.progress.setRange(0, 1000)
        self.download_status.setText(status)
        self._update_buttons()

    def _on_download_finished(self, name: str, path: str) -> None:
        self.progress.setValue(1000)
        self._finish_download("Downloaded and verified.")
        self.refresh(select=name)

    def _on_download_cancelled(self, name: str) -> None:
        self._finish_download("Cancelled; a later download resumes where this one stopped.")
        self.progress.setValue(0)

    def _on_download_failed(self, name: str, text: str) -> None:
        self._finish_download("Download failed.")
        self.progress.setValue(0)
        self.show_error(text)
        self.refresh(select=name)

    def _show_idle_download(self) -> None:
        # The bar appears with the first download; until then it would only be an empty box.
        self.progress.setValue(0)
        self.progress.hide()
        self.download_status.setText("")

    # -- closing -----------------------------------------------------------------------
    def _stop_download(self) -> None:
        task = self.download_task
        if task is not None:
            task.cancel()
            task.wait(5.0)

    def done(self, result: int) -> None:
        """Closing stops a running download (its partial file is kept for a resume)."""
        self._stop_download()
        super().done(result)

    def closeEvent(self, event: QCloseEvent) -> None:
        self._stop_download()
        super().closeEvent(event)
