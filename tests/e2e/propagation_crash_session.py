"""A window run as its own process by test_propagation_crash: it opens the folder with the
tiny SAM 2.1 checkpoint, accepts the disc on the stack's first frame, waits until that is
saved (``accepted``), propagates forward and prints ``frame <k>`` as each frame arrives, until
it is killed. Tracking frames after :data:`LAST_FRAME_BEFORE_KILL` stalls in the worker (the
window keeps saving), so the kill always lands in the middle of the run: with embeddings
already in the cache, a quiet machine tracks the whole stack before the test can kill it."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

#: The last frame tracked at full speed; later ones wait in the worker until the kill.
LAST_FRAME_BEFORE_KILL = 2


def _stall_after(last: int) -> None:
    """Make the propagator's worker wait before tracking any frame after ``last``."""
    from samlabel.inference.propagation import Propagator

    track = Propagator._track_frame

    def slow_after_last(self, frame: int, reverse: bool):
        if frame > last:
            time.sleep(3600)
        return track(self, frame, reverse)

    Propagator._track_frame = slow_after_last


def main(folder: str, settings: str, checkpoint: str) -> None:
    from PySide6.QtWidgets import QApplication

    from samlabel.app import create_window
    from samlabel.inference import load_predictor
    from tests.sam2.video_reference import disc_centre

    _stall_after(LAST_FRAME_BEFORE_KILL)
    app = QApplication([])
    window = create_window(settings, load_predictor(checkpoint, backend="torch"))
    window.show()
    if not window.folders.open_folder(Path(folder)):
        raise SystemExit(f"cannot open {folder}: {window.message_bar.text}")
    c = window.controller

    def until(condition) -> None:
        while not condition():
            app.processEvents()
            time.sleep(0.005)

    until(lambda: c.embedding is not None)
    c.add_point(*disc_centre(0), 1)
    until(c.is_idle)
    if c.accept() is None:
        raise SystemExit("nothing to accept on frame 0")
    until(lambda: c.is_idle() and c.is_saved())
    print("accepted", flush=True)
    part = c.session.propagation
    part.changed.subscribe(lambda: print(f"frame {part.progress[0]}", flush=True))
    if not part.propagate("forward"):
        raise SystemExit("propagation did not start")
    until(lambda: False)  # until killed


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
