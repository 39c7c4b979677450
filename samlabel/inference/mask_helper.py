"""The one thread that works beside the calling one on full-size masks.

A 12 MP mask is a few passes over memory, each bound by memory traffic and one core; on two
or more cores a second thread takes some of them (:mod:`samlabel.inference.full_mask_fixed`:
the search for uncertain pixels while the mask is written, a mask's exact pixels while the
next one is resized). One thread for the process, started on first use; none where the
process may use a single core; a forked child starts its own.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

_LOCK = threading.Lock()
_HELPER: list[ThreadPoolExecutor | None] = []  # empty until first asked


def helper() -> ThreadPoolExecutor | None:
    """The helper thread's executor, or None on a single usable core."""
    with _LOCK:
        if not _HELPER:
            usable = getattr(os, "sched_getaffinity", None)
            cores = len(usable(0)) if usable is not None else (os.cpu_count() or 1)
            executor = None
            if cores > 1:
                executor = ThreadPoolExecutor(1, thread_name_prefix="samlabel-mask")
            _HELPER.append(executor)
        return _HELPER[0]


def _forget_helper() -> None:
    """A forked child has none of the parent's threads: it starts its own helper."""
    _HELPER.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_helper)


class Beside:
    """Work handed over to the helper thread, to overlap with the next mask's resizes (which
    release the GIL), or done at once where there is no helper; :meth:`wait` for all of it.

    Three 12 MP masks: the exact pixels of one (about 0.8 ms) run while the next is resized.
    """

    def __init__(self) -> None:
        self._helper = helper()
        self._pending: list[Future] = []

    def __call__(self, work: Callable[[], None]) -> None:
        if self._helper is None:
            work()
        else:
            self._pending.append(self._helper.submit(work))

    def wait(self) -> None:
        """Block until every piece of work has run; re-raises the first failure."""
        pending, self._pending = self._pending, []
        for piece in pending:
            piece.result()
