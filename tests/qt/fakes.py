"""A deterministic stand-in for a SAM model, for GUI tests that must not wait for a network.

Masks are disks: candidate ``k`` is the union of disks of radius ``RADII[k] * scale`` around
the include points (and the box's inside), minus disks around the exclude points. Logits are
signed distances in image pixels, computed on the decoder's 256x256 low-res grid in the padded
1024 frame exactly where SAM's would live, so the real upsampling code is exercised.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import numpy as np

from samlabel.inference.api import (
    IMAGE_SIZE,
    LOW_RES_SIZE,
    Box,
    ImageEmbedding,
    Point,
    Prediction,
    Predictor,
)

#: Radius of each candidate as a fraction of the image's shorter side.
RADII = (0.06, 0.12, 0.2)
#: Score of each candidate: the middle one is best.
SCORES = (0.81, 0.93, 0.74)


def input_size_for(original_size: tuple[int, int]) -> tuple[int, int]:
    """``(h, w)`` after resizing the long side to 1024, rounded as Meta's ResizeLongestSide."""
    height, width = original_size
    scale = IMAGE_SIZE / max(height, width)
    return int(height * scale + 0.5), int(width * scale + 0.5)


def image_mean(image: np.ndarray) -> float:
    """Mean of every 4th pixel: identifies an image cheaply (a full float64 mean of 12 MP
    would hold the GIL for a tenth of a second, unlike a real encoder)."""
    return float(np.asarray(image[::4, ::4], dtype=np.float64).mean())


class FakePredictor(Predictor):
    """Disks instead of SAM; ``encode_delay`` and ``decode_delay`` seconds of sleep simulate
    a slow encoder and decoder (sleeping releases the GIL, as the real backends do).

    Attributes:
        encoded: sizes ``(H, W)`` and mean values of the images encoded, in order (thread-safe).
        decode_calls: number of decode calls (thread-safe).
        decoded_points: the points of each decode call, in order (thread-safe).
    """

    backend = "fake"
    device = "cpu"
    model_name = "Fake SAM"

    def __init__(
        self,
        encode_delay: float = 0.0,
        fail_on_mean: float | None = None,
        decode_delay: float = 0.0,
    ) -> None:
        self.encode_delay = encode_delay
        self.decode_delay = decode_delay
        self.fail_on_mean = fail_on_mean
        self.encoded: list[tuple[tuple[int, int], float]] = []
        self.decode_calls = 0
        self.decoded_points: list[tuple[Point, ...]] = []
        self._lock = threading.Lock()

    def encode(self, image: np.ndarray) -> ImageEmbedding:
        """Sleep ``encode_delay`` seconds, then return an embedding of zeros + the image mean."""
        mean = image_mean(image)
        if self.fail_on_mean is not None and abs(mean - self.fail_on_mean) < 1e-6:
            raise RuntimeError("fake encoder failure")
        if self.encode_delay:
            time.sleep(self.encode_delay)
        original = (int(image.shape[0]), int(image.shape[1]))
        features = np.full((1, 256, 64, 64), mean / 255.0, dtype=np.float32)
        with self._lock:
            self.encoded.append((original, mean))
        return ImageEmbedding(features, original, input_size_for(original))

    def decode(
        self,
        embedding: ImageEmbedding,
        points: Sequence[Point] | None = None,
        box: Box | None = None,
        mask_input: np.ndarray | None = None,
        multimask: bool = True,
    ) -> Prediction:
        """Disk masks around the prompts; ``mask_input`` is accepted and ignored."""
        with self._lock:
            self.decode_calls += 1
            self.decoded_points.append(tuple(points or ()))
        if self.decode_delay:
            time.sleep(self.decode_delay)
        height, width = embedding.original_size
        in_h, in_w = embedding.input_size
        # Original-image coordinates of the low-res pixel centres (1024 frame / 4).
        scale_x = width / in_w * (IMAGE_SIZE / LOW_RES_SIZE)
        scale_y = height / in_h * (IMAGE_SIZE / LOW_RES_SIZE)
        grid = np.arange(LOW_RES_SIZE, dtype=np.float32) + 0.5
        xs = (grid * scale_x)[None, :]
        ys = (grid * scale_y)[:, None]
        short_side = min(height, width)
        points = list(points or [])
        logits = np.empty((3, LOW_RES_SIZE, LOW_RES_SIZE), dtype=np.float32)
        for k, fraction in enumerate(RADII):
            radius = fraction * short_side
            inside = np.full((LOW_RES_SIZE, LOW_RES_SIZE), -1e4, dtype=np.float32)
            for x, y, label in points:
                if label == 1:
                    distance = np.sqrt((xs - x) ** 2 + (ys - y) ** 2)
                    inside = np.maximum(inside, radius - distance)
            if box is not None:
                x0, y0, x1, y1 = box
                box_logit = np.minimum(
                    np.minimum(xs - x0, x1 - xs), np.minimum(ys - y0, y1 - ys)
                ).astype(np.float32)
                inside = np.maximum(inside, box_logit)
            for x, y, label in points:
                if label == 0:
                    distance = np.sqrt((xs - x) ** 2 + (ys - y) ** 2)
                    inside = np.minimum(inside, distance - radius * 0.5)
            logits[k] = inside
        scores = np.array(SCORES, dtype=np.float32)
        if not multimask:
            logits, scores = logits[1:2], scores[1:2]
        return Prediction(scores, logits, embedding.original_size, embedding.input_size)
