"""Timing helpers and sizes shared by the parts of ``samlabel bench``."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np

#: Image sizes (H, W) for the click benchmark.
IMAGE_SIZES: dict[str, tuple[int, int]] = {"1 MP": (864, 1152), "12 MP": (3000, 4000)}
#: The canvas area an image is fitted into on screen (a laptop window).
SCREEN_SIZE = (1000, 1600)


def seconds(fn: Callable[[], object], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def ms(values: list[float]) -> str:
    return f"p50 {statistics.median(values) * 1000:6.1f} ms, p95 {p95(values) * 1000:6.1f} ms"


def fit(image_hw: tuple[int, int], screen_hw: tuple[int, int]) -> tuple[int, int]:
    scale = min(screen_hw[0] / image_hw[0], screen_hw[1] / image_hw[1], 1.0)
    return max(1, round(image_hw[0] * scale)), max(1, round(image_hw[1] * scale))


def clicks_at_random(image_hw: tuple[int, int], count: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    h, w = image_hw
    for _ in range(count):
        yield [
            (float(rng.uniform(0, w)), float(rng.uniform(0, h)), 1),
            (float(rng.uniform(0, w)), float(rng.uniform(0, h)), 0),
        ]


def time_call(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start
