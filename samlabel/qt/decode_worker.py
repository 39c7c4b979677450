"""Per-click mask decoding in one background thread, so a click never freezes the window.

Same pattern as :mod:`samlabel.qt.workers`: the GUI thread submits an immutable
:class:`DecodeRequest` and gets its number back; while one decode runs, a newer request
replaces the one waiting (only the latest prompt set matters, so a burst of clicks costs at
most one extra decode); the answer comes back to the GUI thread by signal with the request
number, and the receiver drops answers nobody waits for any more. ``Predictor.decode`` keeps
no per-image state, so this thread and the encoder thread share one predictor.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, Signal

from samlabel.inference.api import Box, ImageEmbedding, Point, Predictor
from samlabel.qt.workers import describe_error

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class DecodeRequest:
    """One prompt set to decode, snapshotted on the GUI thread.

    Attributes:
        number: request number, carried by the answer.
        embedding: the image's embedding (an immutable value).
        points: ``(x, y, label)`` in original image pixels; label 1 include, 0 exclude.
        box: ``(x0, y0, x1, y1)`` in original image pixels, or None.
        mask_input: ``(256, 256)`` float32 low-res logits fed back (a private copy), or None.
        multimask: three candidates (True) or one.
    """

    number: int
    embedding: ImageEmbedding
    points: tuple[Point, ...]
    box: Box | None
    mask_input: np.ndarray | None
    multimask: bool = True


class DecodeWorker(QObject):
    """Runs ``predictor.decode`` for the latest submitted prompt set, off the GUI thread.

    Signals:
        decoded(number, Prediction, milliseconds): the answer to request ``number`` and how
            long the decoder took.
        failed(number, message): the decoder raised; the message is for the user.
    """

    decoded = Signal(int, object, float)
    failed = Signal(int, str)

    def __init__(self, predictor: Predictor, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._predictor = predictor
        self._next_number = 0
        self._waiting: DecodeRequest | None = None
        self._running: int | None = None
        self._cond = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._loop, name="samlabel-decoder", daemon=True)
        self._thread.start()

    @property
    def predictor(self) -> Predictor:
        """The model that decodes."""
        return self._predictor

    def submit(
        self,
        embedding: ImageEmbedding,
        points: tuple[Point, ...] = (),
        box: Box | None = None,
        mask_input: np.ndarray | None = None,
        multimask: bool = True,
    ) -> int:
        """Decode this prompt set next, replacing a request that has not started yet.

        Returns the number carried by ``decoded``/``failed``. ``mask_input`` is copied, so the
        caller may change its array afterwards.
        """
        if mask_input is not None:
            # A private copy instead of a read-only flag: backends hand it to
            # torch.from_numpy, which warns on read-only arrays.
            mask_input = np.array(mask_input, dtype=np.float32, copy=True)
        with self._cond:
            self._next_number += 1
            self._waiting = DecodeRequest(
                self._next_number,
                embedding,
                tuple(points),
                None if box is None else tuple(box),
                mask_input,
                multimask,
            )
            self._cond.notify_all()
            return self._next_number

    def cancel(self) -> None:
        """Drop the waiting request (a decode in progress finishes; ignore its answer)."""
        with self._cond:
            self._waiting = None
            self._cond.notify_all()

    def is_busy(self) -> bool:
        """Whether a decode runs or waits."""
        with self._cond:
            return self._running is not None or self._waiting is not None

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._stop and self._waiting is None:
                    self._cond.wait()
                if self._stop:
                    return
                request, self._waiting = self._waiting, None
                self._running = request.number
            try:
                start = time.perf_counter()
                prediction = self._predictor.decode(
                    request.embedding,
                    points=list(request.points) or None,
                    box=request.box,
                    mask_input=request.mask_input,
                    multimask=request.multimask,
                )
                elapsed_ms = (time.perf_counter() - start) * 1000.0
            except Exception as error:  # a failure must reach the user, never kill the thread
                log.exception("decoding request %d failed", request.number)
                if not self._stopped():
                    self.failed.emit(request.number, describe_error(error))
            else:
                # After shutdown nobody listens, and the QObject may be gone.
                if not self._stopped():
                    self.decoded.emit(request.number, prediction, elapsed_ms)
            finally:
                with self._cond:
                    self._running = None
                    self._cond.notify_all()

    def _stopped(self) -> bool:
        with self._cond:
            return self._stop

    def wait_until_idle(self, timeout: float = 10.0) -> bool:
        """Block until nothing runs or waits (tests only); False on timeout. The answers are
        still to be delivered by the event loop."""
        with self._cond:
            return self._cond.wait_for(
                lambda: self._running is None and self._waiting is None, timeout=timeout
            )

    def shutdown(self, timeout: float = 10.0) -> None:
        """Drop the waiting request and join the thread (a decode in progress is let finish)."""
        with self._cond:
            self._stop = True
            self._waiting = None
            self._cond.notify_all()
        self._thread.join(timeout)

    def is_alive(self) -> bool:
        """Whether the thread still runs."""
        return self._thread.is_alive()
