"""A least-recently-used cache of decoded frames, bounded by bytes rather than by count.

Scrolling back and forth through a 2,000-frame video or a 1,000-slice volume keeps only the
frames that fit the budget; the oldest are dropped first. Thread-safe: the window reads frames
on the GUI thread while workers read them for encoding.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

#: Default byte budget of one stack's cache: about 250 slices of 512 x 512 int16 CT.
DEFAULT_BUDGET_BYTES = 128 * 1024 * 1024


class FrameCache:
    """Frames by index, most recently used last; never holds more than ``budget_bytes``.

    A single frame larger than the budget is not kept at all (it is returned to the caller,
    who holds it as long as it needs it).
    """

    def __init__(self, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        self.budget_bytes = max(0, int(budget_bytes))
        self._frames: OrderedDict[int, np.ndarray] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, index: int) -> np.ndarray | None:
        """The cached frame (now the most recently used), or None."""
        with self._lock:
            frame = self._frames.get(index)
            if frame is not None:
                self._frames.move_to_end(index)
            return frame

    def put(self, index: int, frame: np.ndarray) -> None:
        """Keep ``frame`` (read-only from now on), dropping the oldest frames to fit."""
        size = int(frame.nbytes)
        if size > self.budget_bytes:
            return
        frame.setflags(write=False)  # callers share the cached array: nobody may edit it
        with self._lock:
            old = self._frames.pop(index, None)
            if old is not None:
                self._bytes -= int(old.nbytes)
            self._frames[index] = frame
            self._bytes += size
            while self._bytes > self.budget_bytes:
                _index, dropped = self._frames.popitem(last=False)
                self._bytes -= int(dropped.nbytes)

    def clear(self) -> None:
        with self._lock:
            self._frames.clear()
            self._bytes = 0

    @property
    def nbytes(self) -> int:
        """Bytes of the frames held now (at most ``budget_bytes``)."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._frames)
