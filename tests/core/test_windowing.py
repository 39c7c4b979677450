"""Window/level: what a user sees when moving brightness/contrast on 16-bit and float data."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from samlabel.core import windowing
from samlabel.core.windowing import Window, apply_window, auto_window, full_range_window


def test_center_width_round_trip() -> None:
    w = Window.from_center_width(40, 400)
    assert (w.low, w.high) == (-160.0, 240.0)
    assert (w.center, w.width) == (40.0, 400.0)


def test_invalid_windows_are_refused() -> None:
    with pytest.raises(ValueError):
        Window(10, 5)
    with pytest.raises(ValueError):
        Window(0, float("nan"))
    assert Window.from_center_width(5, -3) == Window(5, 5)


def test_window_maps_ends_to_black_and_white_and_clips() -> None:
    values = np.array([[0, 1000, 1500, 2000, 65535]], dtype=np.uint16)
    shown = apply_window(values, Window(1000, 2000))
    assert shown.dtype == np.uint8
    assert shown.tolist() == [[0, 0, 128, 255, 255]]


def test_uint16_full_range_is_exact_at_every_step_of_257() -> None:
    values = (np.arange(256, dtype=np.uint32) * 257).astype(np.uint16)
    shown = apply_window(values, full_range_window(np.uint16))
    np.testing.assert_array_equal(shown, np.arange(256))


def test_nan_and_infinities_do_not_crash_and_have_fixed_grey_levels() -> None:
    values = np.array([np.nan, -np.inf, 0.0, 0.5, 1.0, np.inf], dtype=np.float32)
    window = auto_window(values, percentiles=(0, 100))
    assert window == Window(0.0, 1.0)
    assert apply_window(values, window).tolist() == [0, 0, 0, 128, 255, 255]


def test_constant_image_shows_mid_grey() -> None:
    flat = np.full((8, 8), 1234, dtype=np.uint16)
    window = auto_window(flat)
    assert window.low < 1234 < window.high
    assert (apply_window(flat, window) == 128).all()


def test_all_nan_image_gets_a_usable_window() -> None:
    values = np.full((4, 4), np.nan, dtype=np.float32)
    window = auto_window(values)
    assert window == Window(0.0, 1.0)
    assert (apply_window(values, window) == 0).all()


def test_zero_width_window_thresholds_instead_of_dividing_by_zero() -> None:
    values = np.array([1.0, 2.0, 3.0, np.nan])
    assert apply_window(values, Window(2, 2)).tolist() == [0, 255, 255, 0]


def test_auto_window_ignores_a_few_outliers() -> None:
    rng = np.random.default_rng(0)
    values = rng.integers(1000, 2001, size=(200, 200)).astype(np.uint16)
    values[:2, :2] = 65535  # hot pixels
    window = auto_window(values)
    assert 1000 <= window.low < 1020
    assert 1980 < window.high <= 2000


def test_auto_window_keeps_a_small_bright_structure_of_an_almost_constant_image() -> None:
    values = np.zeros((100, 100), dtype=np.uint16)
    values[50, 50:53] = 3000  # 0.03 % of pixels: the percentiles alone would both be 0
    window = auto_window(values)
    assert window == Window(0, 3000)
    assert apply_window(values, window)[50, 51] == 255


def test_auto_window_samples_large_images(monkeypatch: pytest.MonkeyPatch) -> None:
    values = np.arange(1_000_000, dtype=np.float32).reshape(1000, 1000)
    window = auto_window(values, percentiles=(0, 100), max_samples=1000)
    assert window.low == 0.0
    assert window.high > 998_000.0


def test_blockwise_result_equals_one_block(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(1)
    values = rng.normal(size=(37, 11, 3)).astype(np.float32)
    whole = apply_window(values, Window(-1, 1))
    monkeypatch.setattr(windowing, "_BLOCK_ELEMENTS", 50)
    np.testing.assert_array_equal(apply_window(values, Window(-1, 1)), whole)


def test_full_range_window() -> None:
    assert full_range_window(np.uint8) == Window(0, 255)
    assert full_range_window(np.int16) == Window(-32768, 32767)
    assert full_range_window(np.float32) is None


@given(
    values=hnp.arrays(
        np.float32,
        st.integers(1, 40),
        elements=st.floats(-1e6, 1e6, allow_nan=False, width=32),
    ),
    low=st.floats(-1e6, 1e6),
    width=st.floats(0, 1e6),
)
def test_window_is_monotonic(values: np.ndarray, low: float, width: float) -> None:
    shown = apply_window(values, Window(low, low + width))
    order = np.argsort(values, kind="stable")
    assert shown.shape == values.shape
    assert (np.diff(shown[order].astype(int)) >= 0).all()
