"""Downloading an official model off the GUI thread, with progress and cancel.

:class:`DownloadTask` runs :meth:`ModelStore.download` (resume, size and sha256 check, proxy
and system certificates: see :mod:`samlabel.inference.download`) in a background thread and
reports through Qt signals, so the dialog stays responsive and can cancel at the next chunk.
"""

from __future__ import annotations

import logging
import threading
import time

from PySide6.QtCore import QObject, Signal

from samlabel.inference.download import DownloadCancelled
from samlabel.inference.model_store import ModelStore
from samlabel.qt.background import Lane
from samlabel.session.decoding import describe_error

log = logging.getLogger(__name__)


def format_bytes(count: int | None) -> str:
    """``"40.7 MB"`` (decimal units, as download sizes are published); ``"?"`` when unknown."""
    if count is None:
        return "?"
    value = float(count)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


class DownloadTask(QObject):
    """Downloads one registry model into ``store``'s folder in a background lane.

    Signals:
        progress(done_bytes, total_bytes, bytes_per_second): total is -1 when unknown.
        finished(name, path): the file is installed and verified.
        cancelled(name): :meth:`cancel` stopped it (the partial file is kept for a resume).
        failed(name, message): the store's one-sentence message (offline with the manual
            install hint, 404, wrong checksum, read-only folder...).
    """

    progress = Signal(object, object, float)
    finished = Signal(str, str)
    cancelled = Signal(str)
    failed = Signal(str, str)

    def __init__(self, store: ModelStore, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.name = name
        self._cancel = threading.Event()
        self._lane = Lane(
            "samlabel-model-download", newest_wins=False, parent=self, keep_thread=False
        )
        self._started_at = 0.0
        self._first_done: int | None = None

    def start(self) -> None:
        """Begin the download; exactly one of ``finished``/``cancelled``/``failed`` follows."""
        self._started_at = time.monotonic()
        self._lane.submit(self._run, lambda _: None)

    def cancel(self) -> None:
        """Stop at the next chunk (any thread)."""
        self._cancel.set()

    def _report(self, done: int, total: int | None) -> None:
        # The speed counts bytes of this session only: a resumed transfer starts at its offset.
        if self._first_done is None:
            self._first_done = done
        elapsed = max(time.monotonic() - self._started_at, 1e-6)
        speed = (done - self._first_done) / elapsed
        self.progress.emit(done, -1 if total is None else total, speed)

    def _run(self) -> None:
        try:
            path = self.store.download(self.name, progress=self._report, cancel=self._cancel)
        except DownloadCancelled:
            self.cancelled.emit(self.name)
            return
        except Exception as error:  # every failure reaches the dialog as a sentence
            log.warning("downloading %s failed: %s", self.name, error)
            self.failed.emit(self.name, describe_error(error))
            return
        self.finished.emit(self.name, str(path))

    def wait(self, timeout: float = 60.0) -> None:
        """Wait for the download to end (tests and closing the dialog)."""
        self._lane.wait_until_idle(timeout)

    def is_alive(self) -> bool:
        """Whether the download still runs."""
        return self._lane.is_running()
