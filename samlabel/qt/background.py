"""The one way the window runs work off the GUI thread: lanes of superqt thread workers.

A :class:`Lane` runs jobs one at a time, in the order they were submitted, on a thread pool of
one thread of its own, each job a :func:`superqt.utils.create_worker` function worker. Its
answer (``on_done(result)``) or failure (``on_error(sentence)``) is delivered on the GUI
thread through the worker's signals. A *newest-wins* lane skips a job that has not started
when a newer one is submitted (napari's layer slicer is the model): only the last image asked
for is read, only the last prompt set waiting is decoded. Which request still matters when its
answer comes is decided by the session (:mod:`samlabel.session`), not here.

``wait_until_idle()`` is for tests; ``shutdown()`` lets the job in progress finish.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from PySide6.QtCore import QObject, QThreadPool
from superqt.utils import create_worker

from samlabel.session.decoding import describe_error

log = logging.getLogger(__name__)

#: A job's result when it was skipped (superseded before it started, or shut down).
_SKIPPED = object()


class Lane(QObject):
    """One line of background jobs (see the module docstring).

    Args:
        name: the thread's name, for logs and debuggers.
        newest_wins: skip jobs that have not started when a newer one is submitted.
        keep_thread: keep the thread between jobs for the lane's whole life (the session's
            lanes, busy at every click); otherwise it ends after Qt's idle expiry (one-off
            tasks: a model load, a download, an export).
    """

    def __init__(
        self,
        name: str,
        newest_wins: bool,
        parent: QObject | None = None,
        keep_thread: bool = True,
    ) -> None:
        super().__init__(parent)
        self.name = name
        self.newest_wins = newest_wins
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        if keep_thread:
            self._pool.setExpiryTimeout(-1)
        self._generation = 0
        self._stopped = False
        self._workers: dict = {}  # started workers by generation, kept until they finish

    def submit(
        self,
        job: Callable[[], Any],
        on_done: Callable[[Any], None],
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        """Run ``job()`` after the jobs before it; ``on_done(result)`` or ``on_error(text)``
        follows on the GUI thread (nothing when the job was skipped)."""
        if self._stopped:
            return
        self._generation += 1
        generation = self._generation

        def run() -> Any:
            if self._stopped or (self.newest_wins and generation != self._generation):
                return _SKIPPED
            return job()

        # Failures go to on_error; superqt would re-raise them in the GUI thread otherwise.
        worker = create_worker(run, _start_thread=False, _ignore_errors=True)

        def done(result: Any) -> None:
            if result is not _SKIPPED and not self._stopped:
                on_done(result)

        def failed(error: BaseException) -> None:
            log.error("%s: %s", self.name, error, exc_info=error)
            if on_error is not None and not self._stopped:
                on_error(describe_error(error))

        worker.returned.connect(done)
        worker.errored.connect(failed)
        # No closure over the worker itself: a cycle through its own signal would keep it.
        worker.finished.connect(partial(self._workers.pop, generation, None))
        self._workers[generation] = worker
        self._pool.start(worker)

    def cancel_waiting(self) -> None:
        """Skip the jobs that have not started (a newest-wins lane's job in progress
        finishes; its answer still comes)."""
        self._generation += 1

    def is_busy(self) -> bool:
        """Whether a job runs or waits (or its answer is still to be delivered)."""
        return self._pool.activeThreadCount() > 0 or bool(self._workers)

    def is_running(self) -> bool:
        """Whether a job runs in the lane's thread now."""
        return self._pool.activeThreadCount() > 0

    def wait_until_idle(self, timeout: float = 10.0) -> bool:
        """Block until no job runs or waits (tests only); False on timeout. The answers are
        still to be delivered by the event loop."""
        return self._pool.waitForDone(int(timeout * 1000))

    def shutdown(self, timeout: float = 10.0) -> bool:
        """Drop the waiting jobs and wait for the one in progress; False on timeout."""
        self._stopped = True
        self._pool.clear()
        return self._pool.waitForDone(int(timeout * 1000))


def submit_cancellable(
    lane: Lane,
    job: Callable[[], Any],
    cancelled: type[BaseException],
    on_done: Callable[[Any], None],
    on_cancelled: Callable[[], None],
    on_error: Callable[[str], None],
) -> None:
    """Run ``job()`` in ``lane``; a ``cancelled`` exception raised in it (a request whose
    cancel flag was set) answers ``on_cancelled()`` instead of ``on_done(result)``."""
    stopped = object()

    def run() -> Any:
        try:
            return job()
        except cancelled:
            return stopped

    def done(result: Any) -> None:
        if result is stopped:
            on_cancelled()
        else:
            on_done(result)

    lane.submit(run, done, on_error)
