"""torch's bilinear resize of one axis, bit for bit: the index maps, weights and blend.

torch's CPU kernel for ``F.interpolate(mode="bilinear", align_corners=False)`` computes,
per axis, the source position ``fma(scale, dst + 0.5, -0.5)`` in float32 (clamped at 0) and
each 2-tap blend as ``fma(v0, w0, v1 * w1)``, the width pass first, then the height pass.
Doing the same operations in the same order gives the same bits: float64 holds a float32
product exactly, and the one rounding to float32 afterwards is the fused one.

Indices are array indices along the axis (row or column); sizes are element counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

#: Values above this are "surely positive": a blend of such values cannot underflow to 0.
TINY = np.float32(1e-30)
#: float32 rounds a positive value to 0 exactly when it is at most this (2^-150, a tie to 0).
ROUNDS_TO_ZERO = 2.0**-150


@dataclass(frozen=True)
class AxisMap:
    """torch's bilinear (align_corners=False) sampling of one axis, ``n_in -> n_out``.

    Output index ``k`` is ``w0[k] * src[i0[k]] + w1[k] * src[i1[k]]``; ``i1`` is ``i0 + 1``
    except at the last source index (and for an identity resize, where ``i1 == i0``).
    ``starts[r]``/``stops[r]``: the output indices whose ``i0`` is ``r`` (``i0`` never
    decreases).
    """

    i0: np.ndarray
    i1: np.ndarray
    w0: np.ndarray
    w1: np.ndarray
    starts: np.ndarray
    stops: np.ndarray


@lru_cache(maxsize=32)
def axis_map(n_in: int, n_out: int) -> AxisMap:
    """The sampling of one axis, computed with torch's float32 operations and rounding."""
    f32 = np.float32
    if n_in == n_out:  # torch copies instead of interpolating
        i0 = np.arange(n_out)
        w0, w1 = np.ones(n_out, f32), np.zeros(n_out, f32)
        i1 = i0
    else:
        scale = f32(f32(n_in) / f32(n_out))
        dst = np.arange(n_out, dtype=f32) + f32(0.5)
        src = (np.float64(scale) * dst - 0.5).astype(f32)  # fused multiply-add in torch
        src = np.maximum(src, f32(0))
        i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
        w1 = np.clip(src - i0.astype(f32), f32(0), f32(1)).astype(f32)
        w0 = (f32(1) - w1).astype(f32)
        i1 = np.where(i0 < n_in - 1, i0 + 1, i0)
    bins = np.arange(n_in + 1)
    edges = np.searchsorted(i0, bins)
    return AxisMap(i0, i1, w0, w1, edges[:-1], edges[1:])


def blend(v0: np.ndarray, w0: np.ndarray, v1: np.ndarray, w1: np.ndarray) -> np.ndarray:
    """``fma(v0, w0, v1 * w1)`` in float32, as torch's vectorised kernel computes a 2-tap blend.

    ``w0`` is taken as float64 (exact) and ``w1`` as float32: numpy multiplies arrays of one
    type an order of magnitude faster than a broadcast mix of float32 and float64.
    """
    product = v1 * w1.astype(np.float32, copy=False)
    wide = v0.astype(np.float64, order="C")  # C order whatever v0's: callers gather rows
    wide *= w0.astype(np.float64, copy=False)
    wide += product
    return wide.astype(np.float32)


def crop(axis: AxisMap, size: int) -> AxisMap:
    """The first ``size`` outputs of ``axis`` (Meta crops the 1024 frame to the image)."""
    starts = np.minimum(axis.starts, size)
    stops = np.minimum(axis.stops, size)
    return AxisMap(axis.i0[:size], axis.i1[:size], axis.w0[:size], axis.w1[:size], starts, stops)
