"""No exception disappears: log it, tell the user once, carry on.

:func:`install_exception_hooks` replaces ``sys.excepthook`` (exceptions escaping Qt slots and
shortcut handlers end there under PySide6) and ``threading.excepthook`` (worker threads). Each
distinct error is logged with its traceback every time and shown to the user once per session
through ``notify(title, text)``, which runs on the GUI thread.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from collections.abc import Callable
from types import TracebackType

from PySide6.QtCore import QObject, Qt, Signal

log = logging.getLogger("samlabel")


class ExceptionReporter(QObject):
    """Receives exceptions from any thread and reports them on the GUI thread."""

    _report = Signal(str, str)

    def __init__(self, notify: Callable[[str, str], None]) -> None:
        super().__init__()
        self._notify = notify
        self._shown: set[str] = set()
        self.count = 0
        # Queued: the notification runs on the thread that owns this object (the GUI thread).
        self._report.connect(self._show, Qt.ConnectionType.QueuedConnection)

    def handle(
        self,
        exc_type: type[BaseException],
        exc_value: BaseException,
        exc_traceback: TracebackType | None,
        where: str = "",
    ) -> None:
        """Log the exception and ask the GUI thread to show it (once per distinct message)."""
        self.count += 1
        text = "".join(traceback.format_exception(exc_type, exc_value, exc_traceback))
        log.error("unhandled exception%s:\n%s", f" in {where}" if where else "", text)
        summary = f"{exc_type.__name__}: {exc_value}"
        self._report.emit(summary, text)

    def _show(self, summary: str, details: str) -> None:
        if summary in self._shown:
            return
        self._shown.add(summary)
        self._notify(
            "Something went wrong",
            f"{summary}\n\nThe work so far is saved and the app carries on. "
            "The details are in the log.",
        )


def install_exception_hooks(reporter: ExceptionReporter) -> Callable[[], None]:
    """Route ``sys.excepthook`` and ``threading.excepthook`` to ``reporter``.

    Returns a function that puts the previous hooks back.
    """
    previous_sys = sys.excepthook
    previous_threading = threading.excepthook

    def sys_hook(
        exc_type: type[BaseException], exc_value: BaseException, tb: TracebackType | None
    ) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            previous_sys(exc_type, exc_value, tb)
            return
        reporter.handle(exc_type, exc_value, tb)

    def threading_hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is None:
            return
        name = args.thread.name if args.thread is not None else "a thread"
        reporter.handle(args.exc_type, args.exc_value, args.exc_traceback, where=name)

    sys.excepthook = sys_hook
    threading.excepthook = threading_hook

    def restore() -> None:
        sys.excepthook = previous_sys
        threading.excepthook = previous_threading

    return restore
