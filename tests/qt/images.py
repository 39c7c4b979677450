"""Generated test pictures (deterministic)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def make_image(height: int, width: int, seed: int) -> np.ndarray:
    """A ``(H, W, 3)`` uint8 picture with a few soft blobs (deterministic)."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    image = np.zeros((height, width, 3), np.float32) + rng.uniform(30, 80, 3)
    for _ in range(4):
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        r = rng.uniform(0.1, 0.3) * min(height, width)
        blob = np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * r * r))
        image += blob[..., None] * rng.uniform(60, 170, 3)
    return np.clip(image, 0, 255).astype(np.uint8)


def write_images(folder: Path, count: int, size: tuple[int, int] = (120, 160)) -> list[Path]:
    """Write ``count`` PNGs ``img_000.png``... of ``size`` ``(H, W)`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        path = folder / f"img_{index:03d}.png"
        Image.fromarray(make_image(size[0], size[1], index)).save(path)
        paths.append(path)
    return paths
