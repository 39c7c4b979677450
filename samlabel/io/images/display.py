"""The 8-bit RGB picture of a loaded image: what the screen shows and what SAM encodes."""

from __future__ import annotations

import numpy as np

from samlabel.core.windowing import Window, apply_window, auto_window
from samlabel.io.images.model import LoadedImage


def _alpha_fraction(alpha: np.ndarray) -> np.ndarray:
    """Opacity as float32 in 0..1 (uint8 / 255, uint16 / 65535, float clipped)."""
    if alpha.dtype == np.uint8:
        return alpha.astype(np.float32) / 255.0
    if alpha.dtype == np.uint16:
        return alpha.astype(np.float32) / 65535.0
    return np.clip(np.nan_to_num(alpha.astype(np.float32), nan=0.0), 0.0, 1.0)


def to_display_rgb(loaded: LoadedImage, window: Window | None = None) -> np.ndarray:
    """Render ``loaded.pixels`` as an ``(H, W, 3)`` uint8 RGB image, upright.

    Args:
        loaded: the image (or region) from :func:`samlabel.io.images.read_image`.
        window: the value range shown black..white; None uses ``loaded.default_window``
            (8-bit data without a window is shown as stored).

    Rules, fixed so that the screen and SAM see the same pixels:

    - grey (and 1- or 2-band) images repeat band 0 into R, G and B; 3+ band images show
      bands 0, 1, 2 as R, G, B; all bands share one window;
    - ``inverted`` images (MONOCHROME1, min-is-white) are inverted after windowing;
    - an alpha channel is composited over black (``rgb * alpha``).
    """
    pixels = loaded.pixels
    alpha = None
    if loaded.has_alpha and pixels.ndim == 3:
        pixels, alpha = pixels[..., :-1], pixels[..., -1]
    if pixels.ndim == 3:
        pixels = pixels[..., :3] if pixels.shape[2] >= 3 else pixels[..., 0]
    chosen = window if window is not None else loaded.default_window
    if chosen is None and pixels.dtype != np.uint8:
        chosen = auto_window(pixels)
    shown = pixels if chosen is None else apply_window(pixels, chosen)
    if loaded.inverted:
        shown = np.uint8(255) - shown
    if shown.ndim == 2:
        shown = np.repeat(shown[:, :, None], 3, axis=2)
    if alpha is not None:
        blended = shown.astype(np.float32) * _alpha_fraction(alpha)[:, :, None]
        shown = np.rint(blended).astype(np.uint8)
    return np.ascontiguousarray(shown, dtype=np.uint8)
