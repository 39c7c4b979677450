"""Scrolling a 2,000-frame video or a 1,000-slice volume keeps memory bounded.

Each input would take about 100 MB if every decoded frame were kept; the stacks get a 16 MB
frame budget, and the process must grow by well under the unbounded figure.
"""

from __future__ import annotations

import gc

import numpy as np
import psutil
import pytest

from samlabel.io.stacks import open_stack
from tests.io.stacks.factory import write_nifti, write_video

BUDGET = 16 * 1024 * 1024
MB = 1024 * 1024


def _rss() -> int:
    gc.collect()
    return psutil.Process().memory_info().rss


def _scroll(stack) -> tuple[int, int]:
    """Forward through every frame, then back over 300: (peak RSS growth, frames read)."""
    start = _rss()
    peak = 0
    order = [*range(len(stack)), *range(len(stack) - 1, len(stack) - 301, -1)]
    for n, k in enumerate(order):
        frame = stack.frame(k)
        assert frame.shape[:2] == stack.frame_size
        if n % 100 == 0:
            peak = max(peak, _rss() - start)
        assert stack.cache.nbytes <= BUDGET
    return max(peak, _rss() - start), len(order)


@pytest.mark.slow
def test_a_2000_frame_video_scrolls_within_the_budget(tmp_path):
    path = write_video(tmp_path / "long.mp4", 2000, "mp4v", size=(128, 128))
    with open_stack(path, budget_bytes=BUDGET) as stack:
        assert len(stack) == 2000
        unbounded = 2000 * 128 * 128 * 3
        growth, _ = _scroll(stack)
    assert growth < BUDGET + 24 * MB, f"grew {growth / MB:.0f} MB (all frames: {unbounded / MB})"


@pytest.mark.slow
def test_a_1000_slice_volume_scrolls_within_the_budget(tmp_path):
    data = np.random.default_rng(0).integers(-1000, 2000, (160, 160, 1000), dtype=np.int16)
    path = write_nifti(tmp_path / "tall.nii", data)
    del data
    with open_stack(path, budget_bytes=BUDGET) as stack:
        assert len(stack) == 1000
        unbounded = 1000 * 160 * 160 * 4  # float32 frames
        growth, _ = _scroll(stack)
    assert growth < BUDGET + 24 * MB, f"grew {growth / MB:.0f} MB (all frames: {unbounded / MB})"
