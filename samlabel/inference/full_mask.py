"""One candidate's mask at the original image size, pixel for pixel as Meta computes it.

Meta's ``Sam.postprocess_masks`` upsamples the ``(256, 256)`` low-res logits bilinearly
(align_corners=False) to ``1024 x 1024``, crops the resized image's ``(h, w)``, resizes that
bilinearly to the original ``(H, W)`` and thresholds at 0. Two things make a plain resize
miss some pixels near the boundary:

- torch's CPU kernel rounds in a particular order: per axis, the source position is
  ``fma(scale, dst + 0.5, -0.5)`` in float32 and each 2-tap blend is
  ``fma(v0, w0, v1 * w1)``, the width pass first, then the height pass (see
  :class:`AxisMap` and :func:`_blend`). Computing the same operations in the same order
  gives the same bits (float64 holds a float32 product exactly; the one rounding to
  float32 afterwards is the fused one).
- the sign is all that is saved, and the sign is known without arithmetic wherever every
  source value of a pixel has it: a blend with non-negative weights of values that are all
  positive is positive, of values that are all <= 0 is <= 0.

So the mask is built from sign maps, and exact values are computed only for the pixels
whose sources disagree (a band along the boundary). At 12 MP that is a few percent of the
pixels; the rest is copying booleans. The mask is produced in Fortran order, the order COCO
RLE walks, so encoding it makes no copy.

Coordinates: arrays are ``(rows, cols)`` = ``(y, x)``; sizes are ``(height, width)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from samlabel.core.masks import Rle, rle_from_counts
from samlabel.inference.api import IMAGE_SIZE, LOW_RES_SIZE

#: Values above this are "surely positive": a blend of such values cannot underflow to 0.
_TINY = np.float32(1e-30)
#: Above this fraction of low-res tiles on the boundary, the whole image is computed.
DENSE_ABOVE = 0.2
#: float32 rounds a positive value to 0 exactly when it is at most this (2^-150, a tie to 0).
_ROUNDS_TO_ZERO = 2.0**-150
#: Output columns per band of the dense path (bounds its temporaries to a few MB).
_BAND = 256
#: Mixed pairs blended at once (bounds the temporaries of the exact rows).
_CHUNK = 1 << 16


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


def _blend(v0: np.ndarray, w0: np.ndarray, v1: np.ndarray, w1: np.ndarray) -> np.ndarray:
    """``fma(v0, w0, v1 * w1)`` in float32, as torch's vectorised kernel computes a 2-tap blend.

    ``w0`` is taken as float64 (exact) and ``w1`` as float32: numpy multiplies arrays of one
    type an order of magnitude faster than a broadcast mix of float32 and float64.
    """
    product = v1 * w1.astype(np.float32, copy=False)
    wide = v0.astype(np.float64, order="C")  # C order whatever v0's: callers gather rows
    wide *= w0.astype(np.float64, copy=False)
    wide += product
    return wide.astype(np.float32)


def _block_values(
    src: np.ndarray, rows: AxisMap, cols: AxisMap, ri: np.ndarray, ci: np.ndarray
) -> np.ndarray:
    """Exact resized values of ``src`` on blocks: ``(K, bh)`` rows x ``(K, bw)`` columns.

    Returns ``(K, bh, bw)`` float32; the width pass first, then the height pass, as torch.
    """
    flat = src.reshape(-1)
    stride = src.shape[1]
    top_row = (rows.i0[ri] * stride)[:, :, None]
    bottom_row = (rows.i1[ri] * stride)[:, :, None]
    left, right = cols.i0[ci][:, None, :], cols.i1[ci][:, None, :]
    b0, b1 = cols.w0[ci][:, None, :], cols.w1[ci][:, None, :]
    top = _blend(flat[top_row + left], b0, flat[top_row + right], b1)
    bottom = _blend(flat[bottom_row + left], b0, flat[bottom_row + right], b1)
    return _blend(top, rows.w0[ri][:, :, None], bottom, rows.w1[ri][:, :, None])


def _all_positive_or_not(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per low-res cell ``(s, u)``: are all of ``logits[s:s+3, u:u+3]`` positive / all <= 0?

    Every output pixel whose first low-res source is ``(s, u)`` blends only those nine values
    (edges replicated), through both resizes, so either answer fixes its sign without
    arithmetic.
    """

    def all3(sign: np.ndarray) -> np.ndarray:
        padded = np.pad(sign, ((0, 2), (0, 2)), mode="edge")
        rows = padded[:-2] & padded[1:-1] & padded[2:]
        return rows[:, :-2] & rows[:, 1:-1] & rows[:, 2:]

    return all3(logits > _TINY), all3(logits <= 0)


def _ranges(axis: AxisMap, groups: np.ndarray, grow: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Output indices of source indices ``groups`` as a padded ``(K, b)`` block.

    Returns ``(index, ok)``: the indices (clipped into range where a group has fewer) and
    whether each belongs to its group. ``grow`` extends every non-empty group by that many.
    """
    starts, stops = axis.starts[groups], axis.stops[groups]
    stops = np.where(stops > starts, np.minimum(stops + grow, len(axis.i0)), stops)
    width = max(int((stops - starts).max()), 1)
    index = starts[:, None] + np.arange(width)
    ok = index < stops[:, None]
    return np.minimum(index, len(axis.i0) - 1), ok


def full_size_mask(
    low_res: np.ndarray, input_size: tuple[int, int], original_size: tuple[int, int]
) -> np.ndarray:
    """``(H, W)`` bool mask of one ``(256, 256)`` logit map, identical to Meta's postprocess.

    Args:
        low_res: ``(256, 256)`` float32 logits in the padded 1024 frame at 1/4 resolution.
        input_size: ``(h, w)`` of the resized image inside the 1024 frame.
        original_size: ``(H, W)`` of the original image.

    Returns:
        ``(H, W)`` bool, Fortran-ordered (column-major, COCO RLE's order); True inside.
    """
    logits = np.ascontiguousarray(low_res, dtype=np.float32).reshape(LOW_RES_SIZE, LOW_RES_SIZE)
    h, w = input_size
    height, width = original_size
    up = axis_map(LOW_RES_SIZE, IMAGE_SIZE)
    rows1, cols1 = _crop(up, h), _crop(up, w)
    rows2, cols2 = axis_map(h, height), axis_map(w, width)

    # Low-res tiles: a tile whose 3x3 low-res neighbourhood agrees fixes the sign of every
    # 1024-frame cell in it; only the cells of the other ("mixed") tiles are looked at.
    positive, non_positive = _all_positive_or_not(logits)
    tile_r, tile_c = np.nonzero(~(positive | non_positive))
    tiles_in_crop = len(np.unique(rows1.i0)) * len(np.unique(cols1.i0))
    if tile_r.size > DENSE_ABOVE * tiles_in_crop:
        # Boundary everywhere (texture-like masks, as random weights draw): whole passes cost
        # less than looking at tiles one by one.
        return _dense(logits, rows1, cols1, rows2, cols2)
    # Sign of each 1024-frame cell [r, r+1] x [c, c+1], transposed: (w, h).
    cells_t = np.take(np.take(positive.T, rows1.i0, axis=1), cols1.i0, axis=0)
    out_rows = out_cols = None
    if tile_r.size:
        # Exact 1024-frame values the mixed tiles' cells read (each tile plus one row/column).
        mid = np.zeros((h, w), np.float32)
        mr, mr_ok = _ranges(rows1, tile_r, grow=1)
        mc, mc_ok = _ranges(cols1, tile_c, grow=1)
        values = _block_values(logits, rows1, cols1, mr, mc)
        ok = mr_ok[:, :, None] & mc_ok[:, None, :]
        mid.reshape(-1)[(mr[:, :, None] * w + mc[:, None, :])[ok]] = values[ok]
        # Each cell of a mixed tile by its four corners.
        cr, cr_ok = _ranges(rows1, tile_r)
        cc, cc_ok = _ranges(cols1, tile_c)
        top, bottom = (cr * w)[:, :, None], (np.minimum(cr + 1, h - 1) * w)[:, :, None]
        left, right = cc[:, None, :], np.minimum(cc + 1, w - 1)[:, None, :]
        flat = mid.reshape(-1)
        corners = np.stack(
            [flat[top + left], flat[top + right], flat[bottom + left], flat[bottom + right]]
        )
        cell_positive = (corners > _TINY).all(axis=0)
        cell_mixed = ~cell_positive & ~(corners <= 0).all(axis=0)
        ok = cr_ok[:, :, None] & cc_ok[:, None, :]
        cells_t.reshape(-1)[(cc[:, None, :] * h + cr[:, :, None])[ok]] = cell_positive[ok]
        mixed = ok & cell_mixed
        shape = mixed.shape
        out_rows = np.broadcast_to(cr[:, :, None], shape)[mixed]
        out_cols = np.broadcast_to(cc[:, None, :], shape)[mixed]
    # Column-major output: build (W, H) row-major; gather the short axis element-wise first,
    # then whole rows.
    out_t = np.take(np.take(cells_t, rows2.i0, axis=1), cols2.i0, axis=0)
    if out_rows is not None and out_rows.size:
        # The mixed cells' output pixels, computed exactly.
        pr, pr_ok = _ranges(rows2, out_rows)
        pc, pc_ok = _ranges(cols2, out_cols)
        inside = _block_values(mid, rows2, cols2, pr, pc) > 0
        ok = pr_ok[:, :, None] & pc_ok[:, None, :]
        out_t.reshape(-1)[(pc[:, None, :] * height + pr[:, :, None])[ok]] = inside[ok]
    return out_t.T


def _crop(axis: AxisMap, size: int) -> AxisMap:
    """The first ``size`` outputs of ``axis`` (Meta crops the 1024 frame to the image)."""
    starts = np.minimum(axis.starts, size)
    stops = np.minimum(axis.stops, size)
    return AxisMap(axis.i0[:size], axis.i1[:size], axis.w0[:size], axis.w1[:size], starts, stops)


def encode_column_major(mask: np.ndarray) -> Rle:
    """COCO compressed RLE of an ``(H, W)`` bool mask that is Fortran-ordered (no copy).

    Finds the run boundaries with one vectorised comparison, several times faster than
    pycocotools' per-pixel loop on 12 MP masks; pycocotools then compresses the counts.
    """
    height, width = mask.shape
    if not mask.flags.f_contiguous:
        mask = np.asfortranarray(mask)
    flat = mask.T.reshape(-1).view(np.uint8)
    if flat.size == 0:
        return rle_from_counts([0], height, width)
    changes = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate(([0], changes, [flat.size]))
    counts = np.diff(bounds).tolist()
    if flat[0]:  # COCO counts start with a background run, here of length 0
        counts.insert(0, 0)
    return rle_from_counts(counts, height, width)


def _dense(
    logits: np.ndarray, rows1: AxisMap, cols1: AxisMap, rows2: AxisMap, cols2: AxisMap
) -> np.ndarray:
    """The whole mask by separable passes, torch's roundings throughout; Fortran-ordered.

    Works in the transposed layout ``(W, ...)`` that the column-major mask is written in. The
    second resize's height pass blends, for output row ``i``, the width-pass values of source
    rows ``r = i0[i]`` and ``i1[i]``: where both are surely positive or both <= 0, every
    output row of ``r`` has that sign (filled by repeating booleans); only the output rows of
    the other ("mixed") pairs are blended exactly.
    """
    # The first resize computed transposed, (w, h): its width pass on rows of logits.T.
    logits_t = np.ascontiguousarray(logits.T)
    top_t = _blend(logits_t[cols1.i0], cols1.w0[:, None], logits_t[cols1.i1], cols1.w1[:, None])
    mid_t = _blend(
        np.take(top_t, rows1.i0, axis=1), rows1.w0, np.take(top_t, rows1.i1, axis=1), rows1.w1
    )
    width, h = len(cols2.i0), mid_t.shape[1]
    identity = len(rows2.i0) == h and np.array_equal(rows2.i0, rows2.i1)
    wide = np.empty((width, h), np.float32)  # the second resize's width pass, transposed
    sure = np.empty((width, h), bool)  # the pair (r, i1) is surely positive
    mixed = np.empty((width, h), bool)
    w0_col, w1_col = cols2.w0[:, None], cols2.w1[:, None]
    for start in range(0, width, _BAND):  # bands keep the temporaries in cache
        cols = slice(start, start + _BAND)
        wide[cols] = _blend(
            np.take(mid_t, cols2.i0[cols], axis=0),
            w0_col[cols],
            np.take(mid_t, cols2.i1[cols], axis=0),
            w1_col[cols],
        )
        _pairs_agree(wide[cols] > _TINY, identity, sure[cols])
        _pairs_agree(wide[cols] <= 0, identity, mixed[cols])
        np.logical_or(mixed[cols], sure[cols], out=mixed[cols])
        np.logical_not(mixed[cols], out=mixed[cols])
    mixed[:, rows2.stops == rows2.starts] = False  # source rows no output row reads
    out_t = np.repeat(sure, rows2.stops - rows2.starts, axis=1)  # (W, H)
    pairs = np.flatnonzero(mixed)
    for chunk in range(0, pairs.size, _CHUNK):
        _exact_rows(out_t, wide, pairs[chunk : chunk + _CHUNK], rows2, identity)
    return out_t.T


def _pairs_agree(flags: np.ndarray, identity: bool, out: np.ndarray) -> None:
    """``out[:, r] = flags[:, r] & flags[:, i1]`` with ``i1`` the source row blended with ``r``
    (``r + 1``; ``r`` itself at the last row and for an identity resize)."""
    if identity:
        out[...] = flags
        return
    np.logical_and(flags[:, :-1], flags[:, 1:], out=out[:, :-1])
    out[:, -1] = flags[:, -1]


def _exact_rows(
    out_t: np.ndarray, wide: np.ndarray, pairs: np.ndarray, rows: AxisMap, identity: bool
) -> None:
    """Blend the output rows of the mixed pairs exactly into ``out_t`` ``(W, H)``.

    ``wide``: ``(W, h)`` width-pass values; ``pairs``: flat indices ``j * h + r`` into it.
    Each pair's output rows are padded to the longest run; the padding repeats the pair's
    last row (written again with its own value).
    """
    h = wide.shape[1]
    jj, rr = np.divmod(pairs, h)
    flat = wide.reshape(-1)
    first = flat[pairs][:, None]
    following = pairs if identity else np.where(rr < h - 1, pairs + 1, pairs)
    second = flat[following][:, None]
    longest = max(int((rows.stops - rows.starts).max()), 1)
    index = np.minimum(rows.starts[rr][:, None] + np.arange(longest), rows.stops[rr][:, None] - 1)
    product = second * rows.w1[index]  # float32, rounded as torch rounds it
    value = rows.w0[index].astype(np.float64)
    value *= first  # float64: the exact product
    value += product
    out_t.reshape(-1)[jj[:, None] * out_t.shape[1] + index] = value > _ROUNDS_TO_ZERO
