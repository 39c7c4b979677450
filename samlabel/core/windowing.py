"""Window/level (brightness/contrast) for high-bit-depth and float images, in pure numpy.

A :class:`Window` maps a range of stored values ``[low, high]`` linearly onto display grey
levels 0..255; values below ``low`` are black, values above ``high`` white. The same uint8
result is what the screen shows and what SAM encodes, so faint structures that the user
makes visible with the window are also visible to the model.

Robustness rules (a labelling session must never crash on odd data):

- NaN and -inf are shown black, +inf white; they are ignored when choosing a window;
- a constant image (or a window of zero width) does not divide by zero: values at or above
  the window are white, values below black, and :func:`auto_window` widens a constant range to
  one unit around the value so it shows mid-grey.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Percentiles of the default automatic window: clip the darkest and brightest 0.5 %.
DEFAULT_PERCENTILES = (0.5, 99.5)
#: At most this many pixels are sampled (evenly strided) to choose an automatic window.
MAX_SAMPLES = 1_000_000


@dataclass(frozen=True)
class Window:
    """A linear display window over stored pixel values.

    Attributes:
        low: value shown black (0).
        high: value shown white (255); ``high >= low``.
    """

    low: float
    high: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            raise ValueError(f"window bounds must be finite, got ({self.low}, {self.high})")
        if self.high < self.low:
            raise ValueError(f"window high {self.high} is below low {self.low}")

    @classmethod
    def from_center_width(cls, center: float, width: float) -> Window:
        """The window of DICOM's (centre, width) convention; a negative width is taken as 0."""
        half = max(float(width), 0.0) / 2.0
        return cls(float(center) - half, float(center) + half)

    @property
    def center(self) -> float:
        """Middle of the window (DICOM Window Center)."""
        return (self.low + self.high) / 2.0

    @property
    def width(self) -> float:
        """``high - low`` (DICOM Window Width)."""
        return self.high - self.low


def full_range_window(dtype: np.dtype | type) -> Window | None:
    """The window covering an integer dtype's whole range (``uint16`` -> 0..65535).

    Returns None for floating-point dtypes, which have no natural range.
    """
    dt = np.dtype(dtype)
    if dt == np.bool_:
        return Window(0.0, 1.0)
    if np.issubdtype(dt, np.integer):
        info = np.iinfo(dt)
        return Window(float(info.min), float(info.max))
    return None


def _sample(values: np.ndarray, max_samples: int) -> np.ndarray:
    """A flat, evenly strided sample of about ``max_samples`` values at most."""
    flat = values.reshape(-1)
    step = max(1, flat.size // max(1, max_samples))
    return flat[::step]


def auto_window(
    pixels: np.ndarray,
    percentiles: tuple[float, float] = DEFAULT_PERCENTILES,
    max_samples: int = MAX_SAMPLES,
) -> Window:
    """Choose a window from the distribution of finite pixel values.

    Args:
        pixels: any-shape numeric array (``HxW`` grey or ``HxWxC``; all channels share one
            window so colours keep their balance).
        percentiles: lower and upper percentile (0..100) mapped to black and white.
        max_samples: at most this many values are looked at (strided), so the cost stays
            small on 100-megapixel images.

    Returns:
        The window. If the percentiles coincide (mostly-constant image) it falls back to the
        finite min..max; if that is also a single value ``v`` it returns ``(v - 0.5, v + 0.5)``;
        if there is no finite value at all it returns ``(0, 1)``.
    """
    lo_pct, hi_pct = percentiles
    if not 0.0 <= lo_pct <= hi_pct <= 100.0:
        raise ValueError(f"percentiles must satisfy 0 <= low <= high <= 100, got {percentiles}")
    sample = _sample(np.asarray(pixels), max_samples)
    if sample.dtype == np.bool_:
        sample = sample.astype(np.uint8)
    if np.issubdtype(sample.dtype, np.floating):
        sample = sample[np.isfinite(sample)]
    if sample.size == 0:
        return Window(0.0, 1.0)
    low, high = (float(v) for v in np.percentile(sample, [lo_pct, hi_pct]))
    if high <= low:
        low, high = float(sample.min()), float(sample.max())
    if high <= low:
        return Window(low - 0.5, low + 0.5)
    return Window(low, high)


def apply_window(pixels: np.ndarray, window: Window) -> np.ndarray:
    """Map values through ``window`` to display grey levels.

    Args:
        pixels: any-shape numeric array (bool, integer or float; NaN allowed).
        window: the value range shown from black to white.

    Returns:
        uint8 array of the same shape: ``round(255 * (v - low) / (high - low))`` clipped to
        0..255; NaN -> 0. With a zero-width window, values ``>= low`` are 255, the rest 0.
    """
    values = np.asarray(pixels)
    out = np.empty(values.shape, dtype=np.uint8)
    if values.ndim == 0 or values.shape[0] == 0:
        out[...] = _window_block(values, window)
        return out
    # Work in blocks of rows so a 100-megapixel image needs only a small float buffer.
    row_size = max(1, values[0].size)
    rows = max(1, _BLOCK_ELEMENTS // row_size)
    for start in range(0, values.shape[0], rows):
        out[start : start + rows] = _window_block(values[start : start + rows], window)
    return out


#: Elements converted to float64 at a time by :func:`apply_window` (16 MiB of buffer).
_BLOCK_ELEMENTS = 2 * 1024 * 1024


def _window_block(values: np.ndarray, window: Window) -> np.ndarray:
    """:func:`apply_window` on one block (any shape) -> uint8 of the same shape."""
    if values.dtype == np.bool_:
        values = values.astype(np.uint8)
    try:
        scale = 255.0 / window.width
    except (ZeroDivisionError, OverflowError):
        scale = math.inf
    if not math.isfinite(scale):  # zero (or vanishing) width: a threshold at ``low``
        return np.where(values >= window.low, np.uint8(255), np.uint8(0))
    # float64: exact for every integer dtype and safe for any finite window bounds.
    work = values.astype(np.float64, copy=True)
    with np.errstate(over="ignore", invalid="ignore"):
        work -= window.low
        # Multiply then divide (not by a rounded 255/width): exact halves round predictably.
        work *= 255.0
        work /= window.width
    np.nan_to_num(work, copy=False, nan=0.0, posinf=255.0, neginf=0.0)
    np.clip(work, 0.0, 255.0, out=work)
    np.rint(work, out=work)
    return work.astype(np.uint8)
