"""The mask on screen: crop + resize against an exact bilinear reference of the same points."""

from __future__ import annotations

import numpy as np
import pytest

from samlabel.inference.transforms import resized_size
from samlabel.inference.view_logits import logits_for_view


def _smooth_logits(seed: int = 0) -> np.ndarray:
    """``(256, 256)`` float32 logits with region-sized blobs (so masks have real edges)."""
    rng = np.random.default_rng(seed)
    coarse = rng.normal(0, 6, (17, 17)).astype(np.float32)
    import cv2

    return cv2.resize(coarse, (256, 256), interpolation=cv2.INTER_CUBIC)


def _reference(low, input_size, original_size, view_size, region):
    """Bilinear samples (edges replicated) at the documented points, in float64 numpy."""
    (orig_h, orig_w), (view_h, view_w) = original_size, view_size
    x0, y0, x1, y1 = region
    sx, sy = input_size[1] / orig_w / 4, input_size[0] / orig_h / 4
    xs = (x0 + (np.arange(view_w) + 0.5) * (x1 - x0) / view_w) * sx - 0.5
    ys = (y0 + (np.arange(view_h) + 0.5) * (y1 - y0) / view_h) * sy - 0.5

    def taps(pos, size):
        lo = np.floor(pos).astype(int)
        frac = pos - lo
        return np.clip(lo, 0, size - 1), np.clip(lo + 1, 0, size - 1), frac

    xa, xb, fx = taps(xs, low.shape[1])
    ya, yb, fy = taps(ys, low.shape[0])
    low = low.astype(np.float64)
    top = low[ya][:, xa] * (1 - fx) + low[ya][:, xb] * fx
    bottom = low[yb][:, xa] * (1 - fx) + low[yb][:, xb] * fx
    return top * (1 - fy[:, None]) + bottom * fy[:, None]


def _edge_pixels(mask: np.ndarray) -> np.ndarray:
    """Pixels with a differently labelled pixel among their 8 neighbours."""
    padded = np.pad(mask, 1, mode="edge")
    h, w = mask.shape
    edge = np.zeros_like(mask)
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            edge |= padded[dy : dy + h, dx : dx + w] != mask
    return edge


CASES = {
    # original (H, W), view (h, w), region or None (whole image)
    "1 MP whole image": ((864, 1152), (864, 1152), None),
    "12 MP fitted to a window": ((3000, 4000), (1000, 1333), None),
    "12 MP zoomed in, odd offset": ((3000, 4000), (700, 900), (1234.5, 777.25, 1934.5, 1321.7)),
    "portrait, zoomed out below 256": ((4000, 3000), (150, 110), None),
    "region past the image's edges": ((600, 800), (400, 500), (-50.0, -20.0, 850.0, 640.0)),
    "strong zoom (few low-res pixels)": (
        (3000, 4000),
        (900, 1200),
        (2000.0, 1500.0, 2012.0, 1509.0),
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_view_logits_sample_within_half_a_view_pixel_of_the_exact_points(case):
    original, view, region = CASES[case]
    region = region or (0.0, 0.0, float(original[1]), float(original[0]))
    input_size = resized_size(original)
    low = _smooth_logits()
    got = logits_for_view(low, input_size, original, view, region)
    exact = _reference(low, input_size, original, view, region)
    assert got.shape == view and got.dtype == np.float32
    # Half a view pixel of shift changes a value by at most half the local step.
    step = max(np.abs(np.diff(exact, axis=0)).max(), np.abs(np.diff(exact, axis=1)).max())
    assert np.abs(got - exact).max() <= 0.5 * step + 1e-3
    # Masks differ only on the exact mask's edge pixels.
    differ = (got > 0) != (exact > 0)
    assert not (differ & ~_edge_pixels(exact > 0)).any()


@pytest.mark.parametrize("case", ["1 MP whole image", "12 MP fitted to a window"])
def test_the_whole_image_in_view_is_resampled_exactly(case):
    original, view, _ = CASES[case]
    region = (0.0, 0.0, float(original[1]), float(original[0]))
    input_size = resized_size(original)
    low = _smooth_logits(1)
    got = logits_for_view(low, input_size, original, view)
    exact = _reference(low, input_size, original, view, region)
    np.testing.assert_allclose(got, exact, atol=2e-4)
