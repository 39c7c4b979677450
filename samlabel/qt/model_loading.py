"""Loading a model off the GUI thread, with the exporter's progress, and picking the model a
start-up opens.

:class:`ModelLoadTask` runs ``loader(path, backend=..., progress=...)`` in a background lane
(a first load of a checkpoint exports ONNX and may calibrate: seconds to a minute) and reports
``(message, fraction)`` progress, the predictor, or a one-sentence failure through Qt signals.
Only the newest task's answer matters: the window drops answers of tasks it replaced.

:func:`startup_model` decides which model the window opens at start: the one asked for on the
command line, else the one remembered in the settings, else the model bundled with a packaged
app (:func:`samlabel.core.paths.bundled_models_dir`).
"""

from __future__ import annotations

import importlib.util
import inspect
import logging
from collections.abc import Callable
from functools import partial
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from samlabel.inference.api import Predictor
from samlabel.inference.loader import torch_available
from samlabel.inference.model_folder import CHECKPOINT_SUFFIXES
from samlabel.qt.background import Lane
from samlabel.session.decoding import describe_error

log = logging.getLogger(__name__)

#: Backends offered to the user: ``(setting value, label)``.
BACKEND_LABELS: dict[str, str] = {
    "auto": "Automatic (fastest measured)",
    "onnxruntime": "ONNX Runtime (CPU)",
    "openvino": "OpenVINO",
    "torch": "PyTorch",
}

ProgressCallback = Callable[[str, float], None]


def available_backends() -> list[str]:
    """The backends this installation can run: a lite build has no torch, OpenVINO is an extra.

    Asks the import system instead of importing the packages (seconds at start-up).
    """
    backends = ["auto", "onnxruntime"]
    if importlib.util.find_spec("openvino") is not None:
        backends.append("openvino")
    if torch_available():
        backends.append("torch")
    return backends


def _accepted_keywords(loader: Callable[..., Predictor]) -> set[str]:
    """Which of ``backend`` / ``progress`` the loader takes (a plain ``loader(path)`` takes
    neither; tests and scripts pass such loaders)."""
    try:
        parameters = inspect.signature(loader).parameters
    except (TypeError, ValueError):
        return set()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return {"backend", "progress"}
    return {"backend", "progress"} & set(parameters)


class ModelLoadTask(QObject):
    """One model load in a background lane (:mod:`samlabel.qt.background`).

    Signals:
        progress(message, fraction): the exporter's or calibration's progress, fraction in
            [0, 1] (only first loads of a checkpoint report any).
        loaded(path, Predictor)
        failed(path, message): a sentence for the user (SamlabelError messages as they are).
    """

    progress = Signal(str, float)
    loaded = Signal(str, object)
    failed = Signal(str, str)

    def __init__(
        self,
        loader: Callable[..., Predictor],
        backend: str | None = None,
        parent: QObject | None = None,
    ) -> None:
        """``backend`` None keeps the loader's own default."""
        super().__init__(parent)
        self._loader = loader
        self.backend = backend
        self.path: Path | None = None
        self._lane = Lane(
            "samlabel-model-loader", newest_wins=False, parent=self, keep_thread=False
        )

    def start(self, path: str | Path) -> None:
        """Begin loading ``path``; ``loaded`` or ``failed`` follows on the GUI thread."""
        self.path = Path(path)
        self._lane.submit(partial(self._run, self.path), lambda _: None)

    def _run(self, path: Path) -> None:
        accepted = _accepted_keywords(self._loader)
        options: dict[str, object] = {}
        if "progress" in accepted:
            options["progress"] = self._report
        if "backend" in accepted and self.backend is not None:
            options["backend"] = self.backend
        try:
            predictor = self._loader(path, **options)
        except Exception as error:  # any failure must reach the user as a message
            log.warning("loading the model %s failed: %s", path, error)
            self.failed.emit(str(path), describe_error(error))
            return
        self.loaded.emit(str(path), predictor)

    def _report(self, message: str, fraction: float) -> None:
        self.progress.emit(str(message), float(min(max(fraction, 0.0), 1.0)))

    def wait(self, timeout: float = 120.0) -> None:
        """Wait for the load to end (tests and shutdown)."""
        self._lane.wait_until_idle(timeout)

    def is_alive(self) -> bool:
        """Whether the load is still running."""
        return self._lane.is_running()


def model_files(folder: Path) -> list[Path]:
    """Models directly in ``folder``: exported ONNX folders first (they load without torch
    and without an export), then checkpoints; each group sorted by name."""
    if not folder.is_dir():
        return []
    onnx = sorted(p for p in folder.iterdir() if p.is_dir() and (p / "manifest.json").is_file())
    checkpoints = sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in CHECKPOINT_SUFFIXES
    )
    if not torch_available():
        checkpoints = []  # a lite build cannot read them; do not pick one to fail on
    return onnx + checkpoints


def startup_model(
    requested: Path | None, remembered: Path | None, bundled_folder: Path | None
) -> Path | None:
    """The model to open at start, or None (the window then offers to choose one).

    Args:
        requested: ``--model`` on the command line; used even when missing, so its error shows.
        remembered: the model chosen last (settings); skipped when it is gone from disk.
        bundled_folder: the models folder of a packaged app, or None.
    """
    if requested is not None:
        return requested
    if remembered is not None and remembered.exists():
        return remembered
    if bundled_folder is not None:
        found = model_files(bundled_folder)
        if found:
            return found[0]
    return None
