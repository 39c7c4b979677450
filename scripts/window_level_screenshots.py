"""Screenshots of a 16-bit scan before and after changing the window/level, offscreen.

    python scripts/window_level_screenshots.py [--out docs/screenshots]

A 16-bit phantom (a body, two organs, a faint lesion only 60 units above the tissue around it
and one bright metal clip at 60,000) is opened with the automatic percentile window, then the
window is narrowed onto the soft tissue; the lesion becomes plain, and a click on it shows
what the stand-in predictor of ``scripts/screenshots.py`` (flood fill of similar grey) makes of
the picture SAM would now see. Writes ``window_level_before.png`` and
``window_level_after.png``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import cv2
import numpy as np
from screenshots import ColourRegionPredictor, _pump, offscreen_window, out_folder

#: Lesion centre in image pixels (x, y).
LESION = (300, 230)


def draw_phantom(size: int = 512, seed: int = 5) -> np.ndarray:
    """A ``(size, size)`` uint16 scan: values 0 (air), ~2000 tissue, 2150/2350 organs, a lesion
    at 2060 and a 60,000 clip, with noise of sigma 8."""
    rng = np.random.default_rng(seed)
    image = np.zeros((size, size), np.float32)
    c = size // 2
    cv2.ellipse(image, (c, c), (int(size * 0.42), int(size * 0.34)), 0, 0, 360, 2000, -1)
    cv2.ellipse(image, (c - 90, c - 10), (60, 85), 15, 0, 360, 2150, -1)
    cv2.ellipse(image, (c + 100, c + 20), (70, 50), -20, 0, 360, 2350, -1)
    cv2.circle(image, LESION, 26, 2060, -1)
    cv2.rectangle(image, (c - 4, c + 120), (c + 4, c + 136), 60000, -1)
    image += rng.normal(0, 8, image.shape).astype(np.float32) * (image > 0)
    return np.clip(cv2.GaussianBlur(image, (3, 3), 0), 0, 65535).astype(np.uint16)


def main(argv: Sequence[str] | None = None) -> int:
    out = out_folder(argv, __doc__.splitlines()[0])

    import tifffile

    with tempfile.TemporaryDirectory() as scratch:
        scratch_dir = Path(scratch)
        folder = scratch_dir / "scans"
        folder.mkdir()
        tifffile.imwrite(folder / "phantom_16bit.tif", draw_phantom())
        app, window = offscreen_window(scratch_dir, ColourRegionPredictor())
        from samlabel.core.windowing import Window

        window.folders.open_folder(folder)
        c = window.controller
        deadline = time.monotonic() + 120
        while (c.embedding is None or c.source is None) and time.monotonic() < deadline:
            _pump(app, 0.05)
        _pump(app, 0.3)
        window.grab().save(str(out / "window_level_before.png"))
        window.window_level.panel.set_window(Window(1900.0, 2250.0))
        _pump(app, 0.2)
        while (c.embedding is None or window.window_level.reencode_timer.isActive()) and (
            time.monotonic() < deadline
        ):
            _pump(app, 0.05)
        c.add_point(*LESION, 1)
        _pump(app, 0.5)
        window.grab().save(str(out / "window_level_after.png"))
        c.discard_prompts()
        window.close()
    for name in ("window_level_before.png", "window_level_after.png"):
        print(out / name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
