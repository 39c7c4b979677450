"""The whole full-size mask by separable passes, for masks with boundary everywhere.

Texture-like masks (random weights draw them) have a boundary in nearly every low-res tile,
so looking at tiles one by one costs more than whole passes. The passes run in the
transposed layout ``(W, ...)`` that a column-major (Fortran, COCO RLE's order) mask is
written in, with torch's roundings throughout (:mod:`samlabel.inference.full_mask_axes`),
and spend exact arithmetic only where a sign is not known without it.

Coordinates: arrays are ``(rows, cols)`` = ``(y, x)``; ``h, w`` is the resized image inside the
1024 frame, ``H, W`` the original image.
"""

from __future__ import annotations

import numpy as np

from samlabel.inference.full_mask_axes import ROUNDS_TO_ZERO, TINY, AxisMap, axis_map, blend

#: Output columns per band of the width pass (bounds its temporaries to a few MB).
_BAND = 256
#: Rows of the first resize's transposed output per band.
_STAGE1_BAND = 64
#: Mixed pairs blended at once (bounds the temporaries of the exact rows).
_CHUNK = 1 << 14


def dense_mask(
    logits: np.ndarray, rows1: AxisMap, cols1: AxisMap, rows2: AxisMap, cols2: AxisMap
) -> np.ndarray:
    """The whole mask by separable passes, torch's roundings throughout; Fortran-ordered.

    ``logits`` ``(256, 256)``; ``rows1``/``cols1`` the first resize cropped to ``(h, w)``,
    ``rows2``/``cols2`` the second one to ``(H, W)``.
    """
    # The first resize computed transposed, (w, h): its width pass on rows of logits.T.
    logits_t = np.ascontiguousarray(logits.T)
    top_t = blend(logits_t[cols1.i0], cols1.w0[:, None], logits_t[cols1.i1], cols1.w1[:, None])
    mid_t = np.empty((top_t.shape[0], len(rows1.i0)), np.float32)
    for start in range(0, top_t.shape[0], _STAGE1_BAND):  # small temporaries: 2x faster
        part = top_t[start : start + _STAGE1_BAND]
        mid_t[start : start + _STAGE1_BAND] = blend(
            np.take(part, rows1.i0, axis=1), rows1.w0, np.take(part, rows1.i1, axis=1), rows1.w1
        )
    return _second_resize(mid_t, rows2, cols2)


def stretched_mask(low_res: np.ndarray, original_size: tuple[int, int]) -> np.ndarray:
    """``(H, W)`` bool, Fortran-ordered: ``F.interpolate(low_res, (H, W), "bilinear") > 0``.

    SAM 2's postprocessing (one bilinear resize of the ``(256, 256)`` logits of the stretched
    frame straight to the original size, align_corners=False), pixel for pixel as torch
    computes it, by the same passes as the second resize of SAM 1's masks.
    """
    height, width = original_size
    logits_t = np.ascontiguousarray(np.asarray(low_res, np.float32).T)
    n_rows, n_cols = logits_t.shape[1], logits_t.shape[0]
    return _second_resize(logits_t, axis_map(n_rows, height), axis_map(n_cols, width))


def _second_resize(mid_t: np.ndarray, rows: AxisMap, cols: AxisMap) -> np.ndarray:
    """Signs of the bilinear resize of ``mid_t`` ``(w, h)`` (transposed) by ``rows`` and
    ``cols``: ``(H, W)`` bool, Fortran-ordered.

    Works in the transposed layout ``(W, ...)`` that the column-major mask is written in. The
    height pass blends, for output row ``i``, the width-pass values of source rows
    ``r = i0[i]`` and ``i1[i]``: where both are surely positive or both <= 0, every output
    row of ``r`` has that sign (filled by repeating booleans); only the output rows of the
    other ("mixed") pairs are blended exactly.
    """
    width, h = len(cols.i0), mid_t.shape[1]
    identity = len(rows.i0) == h and np.array_equal(rows.i0, rows.i1)
    wide = np.empty((width, h), np.float32)  # the second resize's width pass, transposed
    sure = np.empty((width, h), bool)  # the pair (r, i1) is surely positive
    mixed = np.empty((width, h), bool)
    w0_col, w1_col = cols.w0[:, None], cols.w1[:, None]
    for start in range(0, width, _BAND):  # bands keep the temporaries in cache
        band = slice(start, start + _BAND)
        wide[band] = blend(
            np.take(mid_t, cols.i0[band], axis=0),
            w0_col[band],
            np.take(mid_t, cols.i1[band], axis=0),
            w1_col[band],
        )
        _pairs_agree(wide[band] > TINY, identity, sure[band])
        _pairs_agree(wide[band] <= 0, identity, mixed[band])
        np.logical_or(mixed[band], sure[band], out=mixed[band])
        np.logical_not(mixed[band], out=mixed[band])
    mixed[:, rows.stops == rows.starts] = False  # source rows no output row reads
    out_t = np.repeat(sure, rows.stops - rows.starts, axis=1)  # (W, H)
    pairs = np.flatnonzero(mixed)
    for chunk in range(0, pairs.size, _CHUNK):
        _exact_rows(out_t, wide, pairs[chunk : chunk + _CHUNK], rows, identity)
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
    """Set the output rows of the mixed pairs exactly in ``out_t`` ``(W, H)`` (all False there).

    ``wide``: ``(W, h)`` width-pass values; ``pairs``: flat indices ``j * h + r`` into it.
    Where one value is positive and the other <= 0 (nearly always), the blend is monotone
    along the pair's output rows (the weights are), so the positive rows are a prefix or a
    suffix: its length is estimated from where the straight line crosses 0 and checked by
    blending the two rows either side of the switch exactly. Pairs that fail the check or
    hold tiny values are blended row by row.
    """
    h = wide.shape[1]
    flat = wide.reshape(-1)
    jj, rr = np.divmod(pairs, h)
    first = flat[pairs]
    second = flat[pairs if identity else np.where(rr < h - 1, pairs + 1, pairs)]
    falling = (first > TINY) & (second <= 0)  # positive rows first
    rising = (first <= 0) & (second > TINY)
    monotone = falling | rising
    starts, stops = rows.starts[rr], rows.stops[rr]
    a, b = first.astype(np.float64), second.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        crossing = np.where(monotone, a / (a - b), 0.0)  # the weight w1 where the line is 0
    switch = np.clip(_first_row_at(rows, rr + crossing), starts, stops)
    before_ok = (switch == starts) | (
        _positive(first, second, rows, np.maximum(switch - 1, starts)) == falling
    )
    after_ok = (switch == stops) | (
        _positive(first, second, rows, np.minimum(switch, stops - 1)) == rising
    )
    checked = monotone & before_ok & after_ok
    height = out_t.shape[1]
    base = jj * height
    seg_start = np.where(falling, starts, switch)[checked] + base[checked]
    seg_stop = np.where(falling, switch, stops)[checked] + base[checked]
    out_t.reshape(-1)[_ranges_flat(seg_start, seg_stop)] = True
    others = np.flatnonzero(~checked)
    if others.size:
        _blend_rows(out_t, first[others], second[others], base[others], rr[others], rows)


def _first_row_at(rows: AxisMap, position: np.ndarray) -> np.ndarray:
    """About the first output row whose source position ``i0 + w1`` is at least ``position``
    (``position`` in source rows): ``scale * (i + 0.5) - 0.5 >= position`` solved for ``i``.
    Rounding may put it one row off; the caller checks."""
    scale = np.float32(len(rows.starts)) / np.float32(len(rows.i0))
    return np.ceil((position + 0.5) / float(scale) - 0.5).astype(np.int64)


def _positive(
    first: np.ndarray, second: np.ndarray, rows: AxisMap, index: np.ndarray
) -> np.ndarray:
    """Whether output row ``index`` of each pair blends to a positive float32, as torch does."""
    product = second * rows.w1[index]  # float32, rounded as torch rounds it
    value = rows.w0[index].astype(np.float64)
    value *= first  # float64: the exact product
    value += product
    return value > ROUNDS_TO_ZERO


def _ranges_flat(starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """All indices of the half-open ranges ``[starts[k], stops[k])``, concatenated."""
    lengths = stops - starts
    keep = lengths > 0
    starts, lengths = starts[keep], lengths[keep]
    if starts.size == 0:
        return starts
    ends = np.cumsum(lengths)
    return np.arange(ends[-1]) + np.repeat(starts - (ends - lengths), lengths)


def _blend_rows(
    out_t: np.ndarray,
    first: np.ndarray,
    second: np.ndarray,
    base: np.ndarray,
    rr: np.ndarray,
    rows: AxisMap,
) -> None:
    """Every output row of the given pairs, blended exactly (padded to the longest run; the
    padding repeats a pair's last row, written again with its own value)."""
    longest = max(int((rows.stops - rows.starts).max()), 1)
    index = np.minimum(rows.starts[rr][:, None] + np.arange(longest), rows.stops[rr][:, None] - 1)
    inside = _positive(first[:, None], second[:, None], rows, index)
    out_t.reshape(-1)[base[:, None] + index] = inside
