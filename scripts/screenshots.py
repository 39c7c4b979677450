"""Generate the README screenshots of the labelling window, offscreen.

    python scripts/screenshots.py [--out docs/screenshots] [--model CKPT]

With ``--model`` the masks come from that SAM / MobileSAM checkpoint. Without one (no weights
ship with the repository) a small colour-region predictor stands in: it grows the region of
similar colour around each include point at three tolerances, which is enough to show what
the window looks like. The scene is drawn here, so the pictures are the same on every run.

Writes ``window.png`` (a mask under its prompts, accepted masks, all panels),
``candidates.png`` (the candidate picker) and ``layers.png`` (the layer panel).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2
import numpy as np

from samlabel.inference.api import (
    IMAGE_SIZE,
    LOW_RES_SIZE,
    ImageEmbedding,
    Prediction,
    Predictor,
)


def draw_scene(height: int = 720, width: int = 1080, seed: int = 3) -> np.ndarray:
    """A street-like ``(H, W, 3)`` uint8 RGB scene: sky, road, a house, trees and cars."""
    rng = np.random.default_rng(seed)
    ys = np.linspace(0, 1, height)[:, None, None]
    sky = np.array([120, 170, 225]) * (1 - ys) + np.array([200, 220, 240]) * ys
    image = np.broadcast_to(sky, (height, width, 3)).astype(np.float32).copy()
    horizon = int(height * 0.58)
    image[horizon:] = np.array([92, 96, 100], np.float32)  # road
    image[horizon : horizon + 18] = np.array([150, 150, 140], np.float32)  # kerb
    bgr = np.ascontiguousarray(image[..., ::-1]).astype(np.uint8)
    aa = cv2.LINE_AA
    cv2.rectangle(bgr, (120, 250), (420, horizon), (120, 150, 205), -1, aa)  # house wall
    pts = np.array([[100, 255], [270, 150], [440, 255]], np.int32)
    cv2.fillPoly(bgr, [pts], (60, 60, 150), aa)  # roof
    for x in (160, 300):
        cv2.rectangle(bgr, (x, 300), (x + 70, 360), (230, 210, 160), -1, aa)
    cv2.rectangle(bgr, (240, 360), (290, horizon), (40, 70, 110), -1, aa)  # door
    for cx, cy, r in ((620, 300, 95), (760, 330, 70), (900, 290, 105)):
        cv2.rectangle(bgr, (cx - 12, cy), (cx + 12, horizon + 6), (30, 60, 90), -1, aa)
        cv2.circle(bgr, (cx, cy), r, (60, 140, 70), -1, aa)
    for x0, colour in ((180, (40, 40, 200)), (640, (170, 110, 30))):
        y0 = horizon + 70
        cv2.rectangle(bgr, (x0, y0), (x0 + 260, y0 + 80), colour, -1, aa)
        cv2.rectangle(bgr, (x0 + 45, y0 - 50), (x0 + 200, y0 + 5), colour, -1, aa)
        cv2.rectangle(bgr, (x0 + 60, y0 - 40), (x0 + 185, y0 - 5), (200, 190, 170), -1, aa)
        for wx in (x0 + 55, x0 + 205):
            cv2.circle(bgr, (wx, y0 + 80), 28, (25, 25, 25), -1, aa)
    noise = rng.normal(0, 4, bgr.shape)
    rgb = np.clip(bgr[..., ::-1].astype(np.float32) + noise, 0, 255).astype(np.uint8)
    return cv2.GaussianBlur(rgb, (3, 3), 0)


class ColourRegionPredictor(Predictor):
    """A stand-in for SAM in screenshots: flood fill at three colour tolerances."""

    backend = "demo"
    model_name = "Colour regions (demo)"
    TOLERANCES = (6, 14, 30)
    SCORES = (0.86, 0.95, 0.78)

    def encode(self, image: np.ndarray) -> ImageEmbedding:
        height, width = image.shape[:2]
        scale = IMAGE_SIZE / max(height, width)
        input_size = (int(height * scale + 0.5), int(width * scale + 0.5))
        smooth = cv2.GaussianBlur(np.ascontiguousarray(image[..., :3]), (5, 5), 0)
        return ImageEmbedding(
            np.zeros((1, 256, 64, 64), np.float32),
            (height, width),
            input_size,
            extras={"image": smooth},
        )

    def decode(self, embedding, points=None, box=None, mask_input=None, multimask=True):
        image = embedding.extras["image"]
        height, width = embedding.original_size
        logits = np.full((3, LOW_RES_SIZE, LOW_RES_SIZE), -20.0, np.float32)
        for k, tolerance in enumerate(self.TOLERANCES):
            mask = np.zeros((height, width), bool)
            for x, y, label in points or []:
                region = self._flood(image, int(x), int(y), tolerance)
                mask = mask | region if label == 1 else mask & ~region
            low = cv2.resize(
                mask.astype(np.float32),
                (embedding.input_size[1] // 4, embedding.input_size[0] // 4),
                interpolation=cv2.INTER_AREA,
            )
            logits[k, : low.shape[0], : low.shape[1]] = (low - 0.5) * 40.0
        scores = np.array(self.SCORES, np.float32)
        if not multimask:
            logits, scores = logits[1:2], scores[1:2]
        return Prediction(scores, logits, embedding.original_size, embedding.input_size)

    @staticmethod
    def _flood(image: np.ndarray, x: int, y: int, tolerance: int) -> np.ndarray:
        height, width = image.shape[:2]
        flags = 4 | cv2.FLOODFILL_MASK_ONLY | cv2.FLOODFILL_FIXED_RANGE | (255 << 8)
        mask = np.zeros((height + 2, width + 2), np.uint8)
        lo = (tolerance,) * 3
        cv2.floodFill(image.copy(), mask, (x, y), 0, lo, lo, flags)
        return mask[1:-1, 1:-1] > 0


def _pump(app, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def out_folder(argv: Sequence[str] | None, description: str) -> Path:
    """The ``--out`` folder of a screenshot script's command line (made if missing)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", default="docs/screenshots", help="output folder")
    out = Path(parser.parse_args(argv).out)
    out.mkdir(parents=True, exist_ok=True)
    return out


def offscreen_window(scratch_dir: Path, predictor):
    """``(app, window)``: the styled labelling window, 1440 x 900, shown offscreen, with its
    cache and settings in ``scratch_dir``."""
    from PySide6.QtWidgets import QApplication

    for var, name in (("SAMLABEL_CACHE_DIR", "cache"), ("SAMLABEL_CONFIG_DIR", "config")):
        os.environ[var] = str(scratch_dir / name)
    from samlabel.app import create_window
    from samlabel.qt.assets import icon, stylesheet

    app = QApplication.instance() or QApplication([])
    app.setStyle("Fusion")
    app.setStyleSheet(stylesheet())
    app.setWindowIcon(icon("app"))
    window = create_window(scratch_dir / "settings.ini", predictor, embedding_cache=False)
    window.resize(1440, 900)
    window.show()
    return app, window


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/screenshots", help="output folder")
    parser.add_argument("--model", help="a SAM or MobileSAM checkpoint for real masks")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from PIL import Image

    with tempfile.TemporaryDirectory() as scratch:
        scratch_dir = Path(scratch)
        folder = scratch_dir / "street"
        folder.mkdir()
        for index in range(8):
            scene = draw_scene(seed=3 + index)
            Image.fromarray(scene).save(folder / f"street_{index + 1:03d}.png")
        if args.model:
            from samlabel.inference import load_predictor

            predictor = load_predictor(args.model)
        else:
            predictor = ColourRegionPredictor()
        app, window = offscreen_window(scratch_dir, predictor)
        window.folders.open_folder(folder)
        c = window.controller
        deadline = time.monotonic() + 300
        while (c.embedding is None or c.source is None) and time.monotonic() < deadline:
            _pump(app, 0.05)
        for name in ("car", "tree", "house"):
            window.categories.add_category(name)
        c.choose_category_number(1)
        c.add_point(310, 520, 1)
        c.accept()
        c.choose_category_number(2)
        c.add_point(620, 290, 1)
        c.accept()
        c.add_point(900, 260, 1)
        c.accept()
        c.choose_category_number(3)
        c.add_point(270, 330, 1)
        c.add_point(330, 200, 1)
        c.add_point(263, 400, 0)
        _pump(app, 0.5)
        window.grab().save(str(out / "window.png"))
        window.candidates.grab().save(str(out / "candidates.png"))
        c.select_annotation(c.layers.annotation_ids()[1])
        window.layer_panel.select(c.layers.annotation_ids()[1])
        _pump(app, 0.3)
        window.layer_panel.parentWidget().grab().save(str(out / "layers.png"))
        c.discard_prompts()
        window.close()
    for name in ("window.png", "candidates.png", "layers.png"):
        print(out / name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
