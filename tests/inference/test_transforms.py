"""Preprocessing must reproduce Meta's SamPredictor input exactly."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from samlabel.inference.transforms import (
    PIXEL_MEAN,
    PIXEL_STD,
    preprocess,
    resized_size,
    to_rgb_uint8,
    transform_box,
    transform_coords,
)


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        ((400, 600), (683, 1024)),
        ((300, 451), (681, 1024)),
        ((1024, 1024), (1024, 1024)),
        ((4000, 30), (1024, 8)),  # 7.68 rounds up
        ((10, 20), (512, 1024)),
    ],
)
def test_resized_size_rounds_like_the_reference(original, expected):
    assert resized_size(original) == expected


def test_preprocess_matches_reference_input_tensor(fixtures_dir):
    folder = fixtures_dir / "sam_vit_random"
    image = np.asarray(Image.open(folder / "image.png").convert("RGB"))
    expected = np.load(folder / "expected.npz")["input_tensor"]
    tensor, input_size = preprocess(image)
    assert tensor.shape == (1, 3, 1024, 1024)
    assert tensor.dtype == np.float32
    assert input_size == (683, 1024)
    np.testing.assert_allclose(tensor, expected, atol=1e-5)


def test_preprocess_pads_bottom_right_with_zeros():
    image = np.full((100, 50, 3), 200, dtype=np.uint8)
    tensor, (h, w) = preprocess(image)
    assert (h, w) == (1024, 512)
    assert np.all(tensor[0, :, :, w:] == 0.0)
    expected = (200.0 - PIXEL_MEAN) / PIXEL_STD
    np.testing.assert_allclose(tensor[0, :, 10, 10], expected, rtol=1e-6)


def test_gray_becomes_three_equal_channels():
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4)
    for image in (gray, gray[:, :, None]):
        rgb = to_rgb_uint8(image)
        assert rgb.shape == (3, 4, 3)
        for c in range(3):
            np.testing.assert_array_equal(rgb[:, :, c], gray)


def test_rgba_drops_alpha():
    rgba = np.random.default_rng(0).integers(0, 256, (5, 6, 4), dtype=np.uint8)
    np.testing.assert_array_equal(to_rgb_uint8(rgba), rgba[:, :, :3])


def test_uint16_maps_full_range_linearly():
    values = np.array([[0, 257, 257 * 128, 65535]], dtype=np.uint16)
    rgb = to_rgb_uint8(values)
    assert rgb.dtype == np.uint8
    np.testing.assert_array_equal(rgb[0, :, 0], [0, 1, 128, 255])


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((4, 4), dtype=np.float32),
        np.zeros((4, 4, 2), dtype=np.uint8),
        np.zeros((4,), dtype=np.uint8),
        np.zeros((0, 4, 3), dtype=np.uint8),
    ],
)
def test_unsupported_arrays_are_refused(bad):
    with pytest.raises(ValueError):
        to_rgb_uint8(bad)


def test_coords_scale_per_axis_into_the_1024_frame():
    points = np.array([[0.0, 0.0], [600.0, 400.0], [300.0, 200.0]])
    out = transform_coords(points, (400, 600))
    np.testing.assert_allclose(out, [[0, 0], [1024, 683], [512, 341.5]], rtol=1e-6)
    box = transform_box(np.array([60.0, 40.0, 360.0, 360.0]), (400, 600), (683, 1024))
    assert box.shape == (4,)
    np.testing.assert_allclose(box, [102.4, 68.3, 614.4, 614.7], rtol=1e-6)
