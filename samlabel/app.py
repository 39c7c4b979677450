"""Composition root: builds the model loader, the controller, the window, and runs Qt.

``samlabel [FOLDER | IMAGES...] [--annotations FILE] [--model CKPT]`` ends here
(:func:`run_app`). :func:`create_window` builds the same window without running the event
loop, for tests and the screenshot script.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from samlabel.core.paths import bundled_models_dir, cache_dir

log = logging.getLogger("samlabel")


def load_model(path: Path, backend: str = "auto", progress=None):
    """The predictor of checkpoint or ONNX folder ``path`` (raises SamlabelError with a clear
    message); ``progress(message, fraction)`` follows a first load's ONNX export."""
    from samlabel.inference import load_predictor

    return load_predictor(path, backend=backend, progress=progress)


def _setup_logging() -> tuple[Path | None, list[logging.Handler]]:
    """Log to stderr and to ``cache_dir()/samlabel.log`` (the file error messages cite).

    Returns the log file (None when it cannot be written) and the handlers added to the
    ``samlabel`` logger, for :func:`run_app` to remove when the window closes.
    """
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    log_path: Path | None = cache_dir() / "samlabel.log"
    try:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_path, encoding="utf-8"))
    except OSError:
        log_path = None
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in handlers:
        handler.setFormatter(formatter)
        log.addHandler(handler)
    log.setLevel(logging.INFO)
    return log_path, handlers


def create_window(
    settings_path: str | Path | None = None,
    predictor=None,
    backend: str = "auto",
    embedding_cache: bool = True,
):
    """Build the window (a QApplication must exist). ``predictor`` skips model loading."""
    from samlabel.inference.embedding_cache import EmbeddingCache
    from samlabel.qt.controller import LabelController
    from samlabel.qt.main_window import MainWindow
    from samlabel.qt.settings import SettingsStore

    settings = SettingsStore(settings_path)
    controller = LabelController()
    cache = EmbeddingCache() if embedding_cache else None
    window = MainWindow(
        controller,
        settings,
        lambda path, backend=backend, progress=None: load_model(path, backend, progress),
        cache,
    )
    if predictor is not None:
        controller.set_predictor(predictor, predictor.describe(), cache)
    return window


def _split_paths(paths: list[str]) -> tuple[Path | None, list[Path] | None]:
    """``(folder, files)``: one folder, or image files (their common folder)."""
    if not paths:
        return None, None
    resolved = [Path(p).expanduser().resolve() for p in paths]
    if len(resolved) == 1 and resolved[0].is_dir():
        return resolved[0], None
    folder = Path(os.path.commonpath([p.parent for p in resolved]))
    return folder, resolved


def run_app(args: argparse.Namespace) -> int:
    """Open the labelling window for the parsed command line; returns the exit code (128 plus
    the signal's number when SIGINT, SIGTERM or SIGHUP closed it, as shells report)."""
    os.environ.setdefault("QT_ENABLE_HIGHDPI_SCALING", "1")
    from PySide6.QtWidgets import QApplication

    from samlabel.qt.assets import icon, stylesheet
    from samlabel.qt.compat import protect_none_refcount
    from samlabel.qt.exception_hook import ExceptionReporter, install_exception_hooks
    from samlabel.qt.model_loading import startup_model
    from samlabel.qt.shutdown_signals import ShutdownSignals

    log_path, log_handlers = _setup_logging()
    protect_none_refcount()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("samlabel")
    app.setStyle("Fusion")
    app.setStyleSheet(stylesheet())
    app.setWindowIcon(icon("app"))
    window = create_window(backend=args.backend or "auto")
    where = f" ({log_path})" if log_path else ""

    def notify(title: str, text: str) -> None:
        window.show_message(
            "error",
            f"{text.replace('The details are in the log.', '')}Details are in the log{where}.",
        )

    reporter = ExceptionReporter(notify)
    restore_hooks = install_exception_hooks(reporter)

    def shut_down(signum: int) -> None:
        window.close()  # saves, lets a running export finish, releases the lock
        app.quit()

    signals = ShutdownSignals(shut_down)
    folder, files = _split_paths(list(args.paths))
    if folder is None and window.settings.last_folder and window.settings.last_folder.is_dir():
        folder = window.settings.last_folder
    # The command line's model, else the one chosen last, else a packaged app's bundled one.
    model = startup_model(
        Path(args.model) if args.model else None, window.settings.model_path, bundled_models_dir()
    )
    window.show()
    if model is not None:
        window.models.load_model(model, None if args.backend else window.settings.model_backend)
    else:
        window.notify_no_model()
    if folder is not None:
        annotations = Path(args.annotations) if args.annotations else None
        window.folders.start_opening(folder, annotations, files)  # listed in the background
    try:
        code = int(app.exec())
        return code if signals.received is None else 128 + signals.received
    finally:
        signals.uninstall()
        restore_hooks()
        for handler in log_handlers:
            log.removeHandler(handler)
            handler.close()
