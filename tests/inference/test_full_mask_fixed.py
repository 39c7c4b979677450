"""The fixed-point way to full-size masks: fast, and still Meta's pixels, or not taken at all.

:mod:`samlabel.inference.full_mask_fixed` resizes int16 logits with OpenCV and recomputes
with torch's roundings every pixel whose fixed-point value is too close to 0 to trust.
These tests check that the path is taken where it should be, that the recomputed pixels
are the ones that need it, and that anything it cannot vouch for (a different OpenCV, tiny
or non-finite logits) goes to the exact passes instead.
"""

from __future__ import annotations

import os
import threading

import cv2
import numpy as np
import pytest

from samlabel.inference import full_mask_fixed, mask_helper
from samlabel.inference.full_mask import full_size_mask
from samlabel.inference.full_mask_fixed import fixed_point_mask, meta_resizes, stretched_resizes
from samlabel.inference.transforms import resized_size
from tests.inference.test_full_mask import smooth_logits, texture_logits, torch_masks


def tenths(seed: int) -> np.ndarray:
    """Logits in tenths: many blends land exactly on or within a rounding of 0."""
    rng = np.random.default_rng(seed)
    return (rng.integers(-9, 10, (256, 256)) / 10).astype(np.float32)


@pytest.mark.parametrize(
    "size",
    [(3000, 4000), (4032, 3024), (864, 1152), (1024, 768), (333, 1500), (17, 23), (2, 2)],
    ids=lambda s: f"{s[0]}x{s[1]}",
)
def test_the_fixed_point_path_is_taken_and_gives_torch_pixels(size):
    low_res = np.stack(
        [
            texture_logits(size[0], count=1)[0],
            tenths(size[1]),
            smooth_logits(size[0], with_zeros=True),  # blobs, exact zeros around them
        ]
    )
    expected = torch_masks(low_res, size)
    for i in range(3):
        got = fixed_point_mask(low_res[i], meta_resizes(resized_size(size), size))
        assert got is not None, "the fast path did not apply"
        assert got.flags.f_contiguous
        mismatched = int((got != expected[i]).sum())
        assert mismatched == 0, f"candidate {i}: {mismatched} pixels differ from torch's"


def test_the_recomputed_pixels_are_the_ones_that_needed_it(monkeypatch):
    """Without the exact recomputation, the fixed-point signs alone miss pixels near 0: the
    recomputation is what makes the mask Meta's, and it is spent on few pixels."""
    size = (1201, 1599)
    low_res = tenths(4)
    expected = torch_masks(low_res[None], size)[0]
    calls = []
    real = full_mask_fixed._exact_signs_at

    def counted(logits, resizes, ys, xs):
        calls.append(len(ys))
        return real(logits, resizes, ys, xs)

    monkeypatch.setattr(full_mask_fixed, "_exact_signs_at", counted)
    resizes = meta_resizes(resized_size(size), size)
    assert np.array_equal(fixed_point_mask(low_res, resizes), expected)
    assert 0 < calls[0] < 0.01 * size[0] * size[1]

    monkeypatch.setattr(
        full_mask_fixed, "_exact_signs_at", lambda logits, resizes, ys, xs: np.zeros(len(ys), bool)
    )
    assert not np.array_equal(fixed_point_mask(low_res, resizes), expected)


def test_stretched_masks_take_the_fixed_point_path():
    size = (1500, 2000)
    low_res = texture_logits(7, count=1)
    import torch
    import torch.nn.functional as F

    with torch.no_grad():
        up = F.interpolate(torch.from_numpy(low_res)[None], size, mode="bilinear")
    got = fixed_point_mask(low_res[0], stretched_resizes(size))
    assert got is not None and np.array_equal(got, (up[0, 0] > 0).numpy())


@pytest.mark.parametrize(
    "logits",
    [
        np.full((256, 256), 1e-38, np.float32),  # too small to scale to int16 with a margin
        np.where(texture_logits(1, count=1)[0] > 0, np.float32(np.nan), np.float32(-1)),
        np.where(texture_logits(2, count=1)[0] > 0, np.float32(np.inf), np.float32(-1)),
    ],
    ids=["tiny", "nan", "inf"],
)
def test_logits_it_cannot_scale_go_to_the_exact_passes(logits):
    size = (640, 480)
    assert fixed_point_mask(logits, meta_resizes(resized_size(size), size)) is None
    assert np.array_equal(
        full_size_mask(logits, resized_size(size), size), torch_masks(logits[None], size)[0]
    )


def test_an_opencv_that_samples_otherwise_is_refused(monkeypatch):
    """A build whose resize does not blend torch's neighbours with torch's weights (here: one
    that rounds positions to 1/32 of a pixel, as remapping does) fails the probe, and the
    exact passes give Meta's pixels."""
    real_resize = cv2.resize

    class CoarseCv2:
        error = cv2.error
        INTER_LINEAR = cv2.INTER_LINEAR

        @staticmethod
        def resize(src, dsize, dst=None, interpolation=None):
            out = real_resize(src, dsize, interpolation=cv2.INTER_LINEAR)
            shifted = real_resize(src, dsize, interpolation=cv2.INTER_NEAREST)
            return ((out.astype(np.float64) * 31 + shifted) / 32).astype(src.dtype)

    full_mask_fixed.forget_probes()
    monkeypatch.setattr(full_mask_fixed, "cv2", CoarseCv2)
    try:
        size = (700, 900)
        low_res = texture_logits(5, count=1)[0]
        assert fixed_point_mask(low_res, meta_resizes(resized_size(size), size)) is None
        assert np.array_equal(
            full_size_mask(low_res, resized_size(size), size), torch_masks(low_res[None], size)[0]
        )
    finally:
        full_mask_fixed.forget_probes()


def test_masks_computed_on_several_threads_at_once_are_each_right():
    """Work arrays are kept per thread: masks of different sizes at the same time do not
    share them."""
    sizes = [(1200, 1600), (900, 700), (1200, 1600), (2000, 1000)]
    logits = texture_logits(9, count=len(sizes))
    results: dict[int, np.ndarray] = {}

    def work(i: int) -> None:
        for _ in range(3):
            results[i] = full_size_mask(logits[i], resized_size(sizes[i]), sizes[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(sizes))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i, size in enumerate(sizes):
        assert np.array_equal(results[i], torch_masks(logits[i : i + 1], size)[0])


def test_a_single_core_gives_the_same_mask(monkeypatch):
    """On a large image a helper thread finds the uncertain pixels while the calling thread
    writes the mask; where there is no helper, one thread does both, with the same result."""
    size = (1201, 1599)
    low_res = texture_logits(size[0], count=1)[0]
    resizes = meta_resizes(resized_size(size), size)
    expected = torch_masks(low_res[None], size)[0]
    assert (mask_helper.helper() is None) == (len(os.sched_getaffinity(0)) == 1)
    assert np.array_equal(fixed_point_mask(low_res, resizes), expected)
    monkeypatch.setattr(mask_helper, "helper", lambda: None)
    assert np.array_equal(fixed_point_mask(low_res, resizes), expected)


def test_masks_are_complete_when_returned_though_their_exact_pixels_ran_beside(monkeypatch):
    """Three masks: the exact pixels of each but the last are computed in the helper thread
    while the next one is resized; however slow that is, the stack that comes back is
    finished, and a failure there reaches the caller."""
    import time

    from samlabel.inference.full_mask import full_size_masks

    size = (1201, 1599)
    low_res = texture_logits(size[0] + 1, count=3)
    expected = torch_masks(low_res, size)
    real = full_mask_fixed._exact_signs_at
    threads = set()

    def slow(logits, resizes, ys, xs):
        threads.add(threading.current_thread().name)
        time.sleep(0.05)
        return real(logits, resizes, ys, xs)

    monkeypatch.setattr(full_mask_fixed, "_exact_signs_at", slow)
    assert np.array_equal(full_size_masks(low_res, resized_size(size), size), expected)
    if mask_helper.helper() is not None:
        assert any(name.startswith("samlabel-mask") for name in threads)

    def broken(logits, resizes, ys, xs):
        raise MemoryError("no room for the exact pixels")

    monkeypatch.setattr(full_mask_fixed, "_exact_signs_at", broken)
    with pytest.raises(MemoryError):
        full_size_masks(low_res, resized_size(size), size)
