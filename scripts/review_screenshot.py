"""A screenshot of a propagated stack under review, offscreen.

    python scripts/review_screenshot.py [--out docs/screenshots]

A six-slice 16-bit phantom (``scripts/window_level_screenshots.py``) opened as a stack: on
the third slice the left organ is a mask the person accepted (track 1) and the right organ a
mask propagation carried there that nobody has confirmed yet (track 2, also on the next
slices). The reviewed one is drawn solid, the unreviewed one dashed with a hatched fill.
Writes ``unreviewed-masks.png``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cv2
import numpy as np
from screenshots import _pump, offscreen_window, out_folder
from window_level_screenshots import draw_phantom

SIZE = 512
#: The phantom's organs as ``cv2.ellipse`` arguments (centre, axes, angle): left, right.
ORGANS = (
    ((SIZE // 2 - 90, SIZE // 2 - 10), (60, 85), 15),
    ((SIZE // 2 + 100, SIZE // 2 + 20), (70, 50), -20),
)


def organ_mask(index: int) -> np.ndarray:
    """``(SIZE, SIZE)`` bool, Fortran-ordered: the phantom's organ ``index`` (0 left)."""
    centre, axes, angle = ORGANS[index]
    mask = np.zeros((SIZE, SIZE), np.uint8)
    cv2.ellipse(mask, centre, axes, angle, 0, 360, 1, -1)
    return np.asfortranarray(mask.astype(bool))


def write_study(folder: Path) -> Path:
    """``folder`` holding ``abdomen.tif``: six slices of the phantom (another noise each)."""
    import tifffile

    folder.mkdir()
    slices = np.stack([draw_phantom(SIZE, seed=5 + k) for k in range(6)])
    tifffile.imwrite(folder / "abdomen.tif", slices)
    return folder


def main(argv: Sequence[str] | None = None) -> int:
    out = out_folder(argv, __doc__.splitlines()[0])
    with tempfile.TemporaryDirectory() as scratch:
        folder = write_study(Path(scratch) / "study")
        app, window = offscreen_window(Path(scratch), None)
        from samlabel.core.stack_frames import add_frame_annotation
        from samlabel.core.windowing import Window

        window.folders.open_folder(folder)
        c = window.controller
        deadline = time.monotonic() + 60
        while c.source is None and time.monotonic() < deadline:
            _pump(app, 0.05)
        c.session.frames.go_to_frame(2)
        while time.monotonic() < deadline and not (
            c.source is not None and c.source.path.name.endswith("#002")
        ):
            _pump(app, 0.05)
        window.window_level.panel.set_window(Window(1850.0, 2500.0))
        window.categories.add_category("organ")
        category = c.session.edits.current_category
        frames = c.session.frames.stack.frame_ids
        add_frame_annotation(c.document, frames[2], category, organ_mask(0), 1)
        for k in range(2, 6):
            add_frame_annotation(c.document, frames[k], category, organ_mask(1), 2, False)
        _pump(app, 0.5)
        window.grab().save(str(out / "unreviewed-masks.png"))
        window.close()
    print(out / "unreviewed-masks.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
