"""Run untested native code in a child process, so a crash costs an option, not the window.

Trying a backend or precision for the first time (calibration) or exporting a checkpoint
runs kernels nobody has run on this machine; a segfault there would kill the process that
asked. :class:`ChildWorker` keeps one child (started with ``spawn``: no inherited threads or
locks) that runs module-level functions sent to it and returns their results. When the child
dies (a signal, ``os._exit``) or does not answer within the time limit, the call raises
:class:`ChildFailed` with the reason in words, and the next call starts a fresh child.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import sys
import threading
import time
import types
from collections.abc import Callable
from typing import Any

#: How long a fresh child may take to import what it needs and say it is ready.
STARTUP_LIMIT_S = 180.0
#: How often the parent checks that a silent child is still alive.
_POLL_S = 0.1


class ChildFailed(Exception):
    """The child crashed, hung or raised; ``reason`` says which, for people.

    Attributes:
        reason: e.g. ``"crashed (SIGSEGV)"``, ``"did not finish within 60 s"`` or
            ``"failed: <the exception's message>"``.
        crashed: True for a crash or a hang (native trouble worth remembering), False when
            the function raised an ordinary Python exception.
    """

    def __init__(self, reason: str, crashed: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.crashed = crashed


_START_LOCK = threading.Lock()


def start_child(process) -> None:
    """``process.start()`` for a ``spawn`` process, without re-running the caller's script.

    ``spawn`` normally re-imports the main script in the child, so a script that loads a
    model at top level (no ``if __name__ == "__main__":`` guard, as in a quick notebook-style
    script) would start itself again and the child would fail. Our children run functions of
    samlabel's own modules and never need the main script, so it is hidden while the child's
    start-up data is written (``start`` returns once it is).
    """
    with _START_LOCK:
        main = sys.modules.get("__main__")
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            process.start()
        finally:
            if main is not None:
                sys.modules["__main__"] = main


def exit_reason(exitcode: int | None) -> str:
    """A child's exit code in words: ``"crashed (SIGSEGV)"``, ``"exited with code 3"``."""
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"crashed ({name})"
    return f"exited with code {exitcode}"


def _serve(connection) -> None:
    """The child's loop: receive ``(function, args)``, send back ``("ok", result)`` or an error."""
    connection.send(("ready", None))
    while True:
        try:
            message = connection.recv()
        except EOFError:  # the parent went away
            return
        if message is None:
            return
        function, args = message
        try:
            result = function(*args)
        except BaseException as error:  # reported to the parent, never fatal here
            connection.send(("error", f"{error}" or type(error).__name__))
        else:
            connection.send(("ok", result))


class ChildWorker:
    """One child process that runs functions on request; replaced after a crash or hang.

    Use as a context manager (the child is stopped on exit). Functions and arguments must be
    picklable: module-level functions and plain data.
    """

    def __init__(self) -> None:
        self._context = multiprocessing.get_context("spawn")
        self._process = None
        self._connection = None

    def __enter__(self) -> ChildWorker:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _start(self) -> None:
        parent, child = self._context.Pipe(duplex=True)
        process = self._context.Process(target=_serve, args=(child,), daemon=True)
        start_child(process)
        child.close()
        self._process, self._connection = process, parent
        try:
            self._wait(STARTUP_LIMIT_S)
        except ChildFailed as failure:
            reason = f"could not start a measuring process: {failure.reason}"
            raise ChildFailed(reason, crashed=True) from None

    def _wait(self, limit_s: float) -> Any:
        """The child's next answer, or ChildFailed when it dies or the limit passes."""
        deadline = time.monotonic() + limit_s
        while True:
            try:
                if self._connection.poll(_POLL_S):
                    kind, value = self._connection.recv()
                    if kind == "error":
                        raise ChildFailed(f"failed: {value}", crashed=False)
                    return value
            except (EOFError, OSError):  # the pipe closed: the child is gone
                pass
            if not self._process.is_alive():
                self._process.join()
                reason = exit_reason(self._process.exitcode)
                self._forget()
                raise ChildFailed(reason, crashed=True)
            if time.monotonic() > deadline:
                self._kill()
                raise ChildFailed(f"did not finish within {limit_s:.0f} s", crashed=True)

    def call(self, function: Callable[..., Any], *args: Any, time_limit_s: float) -> Any:
        """``function(*args)`` in the child; its result, or :class:`ChildFailed`."""
        if self._process is None:
            self._start()
        self._connection.send((function, args))
        return self._wait(time_limit_s)

    def _kill(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.join()
        self._forget()

    def _forget(self) -> None:
        if self._connection is not None:
            self._connection.close()
        self._process = self._connection = None

    def close(self) -> None:
        """Ask the child to stop; kill it if it does not within a few seconds."""
        if self._process is None:
            return
        with contextlib.suppress(OSError, ValueError):
            self._connection.send(None)
        self._process.join(5.0)
        self._kill()
