"""Small files rewritten often, written in a thread of their own, newest content only.

For records the GUI thread updates many times a second (the propagation record, after every
frame): each write is atomic and fsynced (:func:`samlabel.io.atomic.atomic_write_bytes`),
which costs milliseconds on a local disk and far more on a USB stick or a network share,
and the content is serialised there too. The caller hands over a function that makes the
bytes from a snapshot; a write that has not started yet is replaced by a newer one for the
same file, so an older version never lands after a newer one.

The thread starts when there is something to write and ends when there is nothing left; it
is not a daemon, so Python finishes the last write before the process exits normally.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from samlabel.core.errors import SamlabelError
from samlabel.io.atomic import atomic_write_bytes

log = logging.getLogger(__name__)


class BackgroundWriter:
    """Writes files in a background thread: :meth:`write` returns at once, :meth:`flush`
    waits until everything handed over so far is on disk (or failed)."""

    def __init__(self, name: str = "samlabel-writer") -> None:
        self._name = name
        self._changed = threading.Condition()
        self._pending: dict[Path, Callable[[], bytes]] = {}
        self._writing = False
        self._thread: threading.Thread | None = None

    def write(self, path: Path, make: Callable[[], bytes]) -> None:
        """Replace ``path`` by ``make()`` soon, atomically. ``make`` runs in the writer's
        thread: it must only read a snapshot nobody changes afterwards."""
        with self._changed:
            self._pending[Path(path)] = make
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name)
                self._thread.start()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until nothing is pending or being written; False if ``timeout`` ran out."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._pending and not self._writing, timeout)

    def _run(self) -> None:
        while True:
            with self._changed:
                if not self._pending:
                    self._thread = None
                    self._changed.notify_all()
                    return
                path = next(iter(self._pending))
                make = self._pending.pop(path)
                self._writing = True
            try:
                atomic_write_bytes(path, make())
            except SamlabelError as error:  # a read-only folder or a full disk: the
                log.info("%s", error)  # annotations file's own save says so to the person
            except Exception:  # a bug in ``make``: logged, the writer goes on
                log.exception("writing %s failed", path)
            finally:
                with self._changed:
                    self._writing = False
                    self._changed.notify_all()
