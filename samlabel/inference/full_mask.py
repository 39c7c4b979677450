"""One candidate's mask at the original image size, pixel for pixel as Meta computes it.

Meta's ``Sam.postprocess_masks`` upsamples the ``(256, 256)`` low-res logits bilinearly
(align_corners=False) to ``1024 x 1024``, crops the resized image's ``(h, w)``, resizes that
bilinearly to the original ``(H, W)`` and thresholds at 0. Two things make a plain resize
miss some pixels near the boundary:

- torch's CPU kernel rounds in a particular order: per axis, the source position is
  ``fma(scale, dst + 0.5, -0.5)`` in float32 and each 2-tap blend is
  ``fma(v0, w0, v1 * w1)``, the width pass first, then the height pass (see
  :mod:`samlabel.inference.full_mask_axes`). Computing the same operations in the same order
  gives the same bits (float64 holds a float32 product exactly; the one rounding to
  float32 afterwards is the fused one).
- the sign is all that is saved, and the sign is known without arithmetic wherever every
  source value of a pixel has it: a blend with non-negative weights of values that are all
  positive is positive, of values that are all <= 0 is <= 0.

Three ways give those pixels, each exact; :func:`full_size_mask` takes the cheapest:

- one object on a large image: sign maps of low-res tiles, with exact values only for the
  pixels of tiles on the boundary (this module);
- anything else: a fixed-point OpenCV resize, with exact values for the few pixels too
  close to 0 to trust (:mod:`samlabel.inference.full_mask_fixed`);
- where that cannot vouch for its result: whole passes with torch's roundings
  (:mod:`samlabel.inference.full_mask_dense`) or the tiles.

The mask is produced in Fortran order, the order COCO RLE walks, so encoding it makes no
copy.

Coordinates: arrays are ``(rows, cols)`` = ``(y, x)``; sizes are ``(height, width)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from samlabel.inference.api import IMAGE_SIZE, LOW_RES_SIZE
from samlabel.inference.full_mask_axes import TINY, AxisMap, axis_map, blend, crop
from samlabel.inference.full_mask_dense import dense_mask, stretched_mask
from samlabel.inference.full_mask_fixed import (
    KEEP_SCRATCH_UP_TO,
    fixed_point_mask,
    meta_resizes,
    stretched_resizes,
)
from samlabel.inference.mask_helper import Beside

#: Above this fraction of low-res tiles on the boundary, the whole image is computed: tile
#: by tile cost about as much as whole passes at 4% (measured at 1 and 12 MP; one object
#: is under 1%, a field of blobs 9%, random weights' textures over 90%).
DENSE_ABOVE = 0.04
#: From this many pixels, and up to a fraction of low-res tiles on the boundary (one
#: object; :func:`_tiles_only_below`), the boundary tiles alone are looked at. Smaller
#: images, or more boundary, take the fixed-point resize (0.6 ms at 1 MP, where tiles cost
#: 2 to 5 ms).
TILES_FROM_PIXELS = 10_000_000
#: Up to this fraction the tiles pay off on an image whose fixed-point work arrays are kept
#: (a disc at 12 MP, between other work: 3.1 ms against 3.6 at 0.3%, equal at 1%) ...
TILES_ONLY_BELOW = 0.01
#: ... and up to this one on a larger image, whose work arrays are fresh every time (24 MP:
#: 5.7 ms against 8.0 at 1.8%).
TILES_ONLY_BELOW_HUGE = 0.025


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
    top = blend(flat[top_row + left], b0, flat[top_row + right], b1)
    bottom = blend(flat[bottom_row + left], b0, flat[bottom_row + right], b1)
    return blend(top, rows.w0[ri][:, :, None], bottom, rows.w1[ri][:, :, None])


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

    return all3(logits > TINY), all3(logits <= 0)


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
    low_res: np.ndarray,
    input_size: tuple[int, int],
    original_size: tuple[int, int],
    *,
    stretched: bool = False,
    out_t: np.ndarray | None = None,
    settle_later: Callable[[Callable[[], None]], None] | None = None,
) -> np.ndarray:
    """``(H, W)`` bool mask of one ``(256, 256)`` logit map, identical to Meta's postprocess.

    Args:
        low_res: ``(256, 256)`` float32 logits at 1/4 of the 1024 frame.
        input_size: ``(h, w)`` of the resized image inside the 1024 frame.
        original_size: ``(H, W)`` of the original image.
        stretched: SAM 2's postprocessing (the frame is the stretched image; one resize
            straight to ``(H, W)``) instead of SAM 1's.
        out_t: optional ``(W, H)`` C-contiguous bool to write the transposed mask into.
        settle_later: passed to :func:`fixed_point_mask` where that path is taken: the
            mask is complete only once the work handed to it has run.

    Returns:
        ``(H, W)`` bool, Fortran-ordered (column-major, COCO RLE's order); True inside.
        ``out_t.T`` when ``out_t`` is given.
    """
    logits = np.ascontiguousarray(low_res, dtype=np.float32).reshape(LOW_RES_SIZE, LOW_RES_SIZE)
    mask = None
    pixels = original_size[0] * original_size[1]
    share = _tiles_only_below(pixels)
    large = pixels >= TILES_FROM_PIXELS
    if not stretched and large and not _surely_many_boundary_tiles(logits, input_size, share):
        tiles = _boundary_tiles(logits, input_size)
        if tiles.fraction <= share:  # one object: its boundary tiles alone
            mask = _mask_by_tiles(logits, input_size, original_size, tiles)
    if mask is None:  # boundary in many places: the fixed-point resize
        resizes = (
            stretched_resizes(original_size)
            if stretched
            else meta_resizes(input_size, original_size)
        )
        fast = fixed_point_mask(logits, resizes, out_t, settle_later)
        if fast is not None:
            return fast
        # Where it does not apply, the exact passes. Non-finite logits (a broken model)
        # blend to NaN where torch's do: outside.
        with np.errstate(invalid="ignore"):
            if stretched:
                mask = stretched_mask(logits, original_size)
            else:
                tiles = _boundary_tiles(logits, input_size)
                mask = _mask_by_tiles(logits, input_size, original_size, tiles)
    if out_t is None:
        return mask
    out_t[...] = mask.T
    return out_t.T


def full_size_masks(
    low_res: np.ndarray,
    input_size: tuple[int, int],
    original_size: tuple[int, int],
    *,
    stretched: bool = False,
) -> np.ndarray:
    """``(K, H, W)`` bool masks of ``(K, 256, 256)`` logits, each as :func:`full_size_mask`.

    Every mask is written straight into its place (``masks[i]`` is Fortran-ordered). One
    after the other: each is bound by memory traffic more than by a core, and two masks in
    two threads side by side gained under a tenth (none with cold caches) for a second set
    of work arrays; within a mask, a helper thread takes one of the threshold passes
    (:mod:`samlabel.inference.mask_helper`).
    """
    count = low_res.shape[0]
    height, width = original_size
    stack_t = np.empty((count, width, height), bool)
    beside = Beside()
    try:
        for i in range(count):
            full_size_mask(
                low_res[i],
                input_size,
                original_size,
                stretched=stretched,
                out_t=stack_t[i],
                # The last one's exact pixels have nothing left to overlap with.
                settle_later=beside if i + 1 < count else None,
            )
    finally:
        beside.wait()  # nothing writes into the stack after this returns
    return stack_t.transpose(0, 2, 1)


@dataclass(frozen=True)
class BoundaryTiles:
    """Low-res tiles of one logit map inside the image's crop of the 1024 frame:
    ``positive`` ``(256, 256)`` (every output pixel of the tile is surely inside), ``mixed``
    (the tile's pixels need a look: the boundary), and ``fraction``, mixed tiles per tile
    of the crop."""

    positive: np.ndarray
    mixed: np.ndarray
    fraction: float


def _boundary_tiles(logits: np.ndarray, input_size: tuple[int, int]) -> BoundaryTiles:
    """A tile whose 3x3 low-res neighbourhood agrees fixes the sign of every 1024-frame cell
    in it; only the cells of the other ("mixed") tiles are looked at. Tiles outside the
    crop make no output pixel and are not counted."""
    positive, non_positive = _all_positive_or_not(logits)
    rows, cols = _crop_tiles(input_size)
    mixed = np.zeros_like(positive)
    mixed[:rows, :cols] = ~(positive[:rows, :cols] | non_positive[:rows, :cols])
    return BoundaryTiles(positive, mixed, np.count_nonzero(mixed) / (rows * cols))


def _tiles_only_below(pixels: int) -> float:
    """The largest share of boundary tiles for which the tiles path is taken at ``pixels``."""
    return TILES_ONLY_BELOW if pixels <= KEEP_SCRATCH_UP_TO else TILES_ONLY_BELOW_HUGE


def _surely_many_boundary_tiles(
    logits: np.ndarray, input_size: tuple[int, int], share: float
) -> bool:
    """Whether more than ``share`` of the crop's tiles are mixed, judged from a lower bound
    that costs a tenth of counting them (textures skip the count).

    A sign change between ``logits[r, c]`` and ``logits[r, c + 1]`` makes tile ``(r, c)``
    mixed (its 3x3 neighbourhood holds both), and each change names a different tile.
    """
    rows, cols = _crop_tiles(input_size)
    inside = logits[:rows, :cols] > TINY
    changes = np.count_nonzero(inside[:, 1:] != inside[:, :-1])
    return changes > share * rows * cols


def _crop_tiles(input_size: tuple[int, int]) -> tuple[int, int]:
    """Low-res tiles along rows and columns that make pixels of the crop ``input_size``."""
    up = axis_map(LOW_RES_SIZE, IMAGE_SIZE)
    # i0 counts up from 0 in steps of at most 1: the last one is the number of tiles - 1.
    rows, cols = (int(crop(up, size).i0[-1]) + 1 for size in input_size)
    return rows, cols


def _mask_by_tiles(
    logits: np.ndarray,
    input_size: tuple[int, int],
    original_size: tuple[int, int],
    tiles: BoundaryTiles,
) -> np.ndarray:
    """The exact mask by low-res tiles (boundary tiles only) or whole passes (textures)."""
    h, w = input_size
    height, width = original_size
    up = axis_map(LOW_RES_SIZE, IMAGE_SIZE)
    rows1, cols1 = crop(up, h), crop(up, w)
    rows2, cols2 = axis_map(h, height), axis_map(w, width)
    if tiles.fraction > DENSE_ABOVE:
        # Boundary in many places (texture-like masks, as random weights draw, or many
        # objects): whole passes cost less than looking at tiles one by one.
        return dense_mask(logits, rows1, cols1, rows2, cols2)
    positive = tiles.positive
    tile_r, tile_c = np.nonzero(tiles.mixed)
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
        cell_positive = (corners > TINY).all(axis=0)
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
