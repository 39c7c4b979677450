"""Ctrl+C in the terminal (SIGINT), SIGTERM and SIGHUP close the window in order.

Python runs its signal handlers only between bytecodes, and Qt's event loop is C++: a
signal would wait for the next Python call, and SIGINT's default raises KeyboardInterrupt
wherever that is (a traceback, and the window goes on). So the handler only notes the signal;
:func:`signal.set_wakeup_fd` writes its number into a socket pair whose read end a
QSocketNotifier watches, and the GUI thread then closes the window like the user would: the
pending save is flushed, a running export finishes, the annotations lock is released.
"""

from __future__ import annotations

import logging
import signal
import socket
from collections.abc import Callable
from types import FrameType

from PySide6.QtCore import QObject, QSocketNotifier

log = logging.getLogger(__name__)

#: The signals that mean "stop", as a terminal, a session manager or a service manager send them.
SHUTDOWN_SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


class ShutdownSignals(QObject):
    """While installed, each of :data:`SHUTDOWN_SIGNALS` calls ``shutdown(signum)`` on the GUI
    thread (once; a repeated signal while it runs is logged and ignored).

    Attributes:
        received: the first signal received, or None.
    """

    def __init__(self, shutdown: Callable[[int], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._shutdown = shutdown
        self.received: int | None = None
        self._reader, self._writer = socket.socketpair()
        for end in (self._reader, self._writer):
            end.setblocking(False)
        self._notifier = QSocketNotifier(self._reader.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._on_wakeup)
        self._previous_fd = signal.set_wakeup_fd(self._writer.fileno(), warn_on_full_buffer=False)
        self._previous = {sig: signal.signal(sig, _note) for sig in SHUTDOWN_SIGNALS}

    def _on_wakeup(self) -> None:
        try:
            numbers = self._reader.recv(64)
        except BlockingIOError:
            return
        for number in numbers:
            if number not in SHUTDOWN_SIGNALS:
                continue
            if self.received is not None:
                log.info("%s again: already closing", signal.Signals(number).name)
                continue
            self.received = number
            log.info("%s received: saving and closing", signal.Signals(number).name)
            self._shutdown(number)

    def uninstall(self) -> None:
        """Give the signals back their previous handlers."""
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}
        signal.set_wakeup_fd(self._previous_fd)
        self._notifier.setEnabled(False)
        self._reader.close()
        self._writer.close()


def _note(signum: int, frame: FrameType | None) -> None:
    """The Python-level handler: nothing to do (the wakeup socket carries the signal)."""
