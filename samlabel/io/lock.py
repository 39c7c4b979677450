"""One writer per annotations file: an OS file lock plus a note of who holds it.

``<name>.lock`` is held with :mod:`filelock` (``flock`` on POSIX, ``msvcrt`` on Windows), so
the operating system releases it when its owner dies: the lock of a killed process is
taken over by the next opener without any guessing. ``<name>.lock.json`` records the
owner's pid, host and start time, to tell a second opener who has the file.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout


@dataclass(frozen=True)
class LockOwner:
    """Who holds an annotations file."""

    pid: int
    host: str
    since: str

    def describe(self) -> str:
        return f"process {self.pid} on {self.host} (since {self.since})"


def _read_owner(path: Path) -> LockOwner | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return LockOwner(int(data["pid"]), str(data["host"]), str(data.get("since", "?")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


class AnnotationLock:
    """The lock of one annotations file; :meth:`acquire` never waits."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.owner_path = self.path.with_name(self.path.name + ".lock.json")
        self._lock = FileLock(self.lock_path, timeout=0)
        self.held = False

    def acquire(self) -> LockOwner | None:
        """Take the lock. Returns None on success, else the current owner (as far as known).

        A lock left by a process that died is free at the OS level and is simply taken;
        the stale owner note is overwritten.
        """
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            owner = _read_owner(self.owner_path)
            return owner or LockOwner(-1, "an unknown machine", "?")
        self.held = True
        me = LockOwner(os.getpid(), socket.gethostname(), time.strftime("%Y-%m-%d %H:%M:%S"))
        note = json.dumps({"pid": me.pid, "host": me.host, "since": me.since})
        with contextlib.suppress(OSError):  # the note is informative; the OS lock is the lock
            self.owner_path.write_text(note, encoding="utf-8")
        return None

    def release(self) -> None:
        if not self.held:
            return
        owner = _read_owner(self.owner_path)
        if owner is not None and owner.pid == os.getpid():
            with contextlib.suppress(OSError):
                self.owner_path.unlink()
        self._lock.release(force=True)
        self.held = False
