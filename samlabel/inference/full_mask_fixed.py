"""Full-size masks from a fixed-point OpenCV resize, with every uncertain pixel made exact.

Meta's mask is the sign of torch's bilinear resize(s) of the ``(256, 256)`` logits
(:mod:`samlabel.inference.full_mask`). OpenCV resizes an int16 image several times faster
than any numpy pass, and its result is within a known distance of torch's values, in
quanta (the logits are scaled so that the largest magnitude is :data:`FULL_SCALE`):

- rounding the scaled logits to integers: at most 0.5;
- each resize rounds its output to an integer: at most 0.5 per resize;
- float32 arithmetic on either side: a few hundredths per resize (:data:`ARITHMETIC`);
- OpenCV samples at slightly other positions than torch (OpenCV 5 computes them in float64,
  torch in float32): a weight differs by at most ``d``, measured per image size by a probe
  (:func:`_sampling_difference`), which costs ``d`` times the steepest step between
  neighbouring source values; the steps are measured on the logits and bounded for the
  second resize.

A fixed-point value further from 0 than that bound (:func:`_uncertain_below`; 3 quanta
for a texture mask at 12 MP) has torch's sign. The pixels within it (a few thousand of a
12 MP texture mask's 12 million) are computed again with torch's own roundings
(:func:`_exact_signs_at`). Where the probe finds a resize that is not a 2-tap blend of
torch's neighbours, or the logits cannot be scaled, the caller takes the exact passes.

The probe is done in float32, where nothing is rounded to hide a difference; the int16
resize is checked to agree with it within its rounding, and is taken to sample as the
float32 one does (OpenCV's own resize computes one table of positions and weights for
both).

Layout: the resizes run on the transposed image ``(x, y)``, so the mask comes out
column-major (Fortran order), the order COCO RLE walks. Image coordinates are ``(y, x)``;
sizes ``(height, width)``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from samlabel.inference import mask_helper
from samlabel.inference.api import IMAGE_SIZE, LOW_RES_SIZE
from samlabel.inference.full_mask_axes import AxisMap, axis_map, blend, crop

#: Fixed-point value of the largest logit magnitude (int16 holds +-32767, with room for
#: the uncertainty shift).
FULL_SCALE = 32000
#: Logits of a smaller largest magnitude (or non-finite ones) take the exact path: a margin
#: of a few quanta must stay far above float32's smallest numbers.
SMALLEST_SCALE = 1e-30
#: Above this many output pixels the exact passes run: the int16 image (2 bytes a pixel)
#: and the first mask's probe (4 bytes a pixel, once per image size) cost too much memory.
LARGEST_OUTPUT = 50_000_000
#: Work arrays of up to this many pixels (a 16 MP image: 48 MB) are kept between masks, per
#: thread; in the window that is the one thread that makes accepted masks.
KEEP_SCRATCH_UP_TO = 16_000_000
#: float32 arithmetic on either side of one resize, in quanta (a few roundings of values
#: up to 32000, half a unit in the last place each: 0.002).
ARITHMETIC = 0.02
#: Wider than this, too many pixels would be recomputed; the exact path is taken instead.
WIDEST_UNCERTAIN = 16
#: Lines across the other axis on which the probe compares OpenCV with torch.
PROBED_LINES = 33
#: From this many pixels the threshold passes run side by side in two threads (below,
#: handing work over costs more than it saves).
SPLIT_FROM_PIXELS = 1_000_000
#: Pixels searched for uncertain values at a time: their flags (1 MB) stay in the cache.
NEAR_ZERO_BLOCK = 1 << 20


@dataclass(frozen=True)
class Resize:
    """One of torch's bilinear resizes as Meta applies it, in image orientation ``(y, x)``.

    ``size_in`` -> ``size_out`` is the resize (its scales are what torch and OpenCV must
    sample with); ``keep`` the top-left part of the output that is kept (Meta crops the
    1024 frame to the resized image; the whole output otherwise).
    """

    size_in: tuple[int, int]
    size_out: tuple[int, int]
    keep: tuple[int, int]

    @property
    def rows(self) -> AxisMap:
        return crop(axis_map(self.size_in[0], self.size_out[0]), self.keep[0])

    @property
    def cols(self) -> AxisMap:
        return crop(axis_map(self.size_in[1], self.size_out[1]), self.keep[1])


def meta_resizes(input_size: tuple[int, int], original_size: tuple[int, int]) -> list[Resize]:
    """SAM 1's postprocessing: 256 -> the 1024 frame cropped to ``input_size``, then to
    ``original_size``."""
    frame = (IMAGE_SIZE, IMAGE_SIZE)
    return [
        Resize((LOW_RES_SIZE, LOW_RES_SIZE), frame, input_size),
        Resize(input_size, original_size, original_size),
    ]


def stretched_resizes(original_size: tuple[int, int]) -> list[Resize]:
    """SAM 2's postprocessing: the stretched frame's 256 logits straight to the image."""
    return [Resize((LOW_RES_SIZE, LOW_RES_SIZE), original_size, original_size)]


def fixed_point_mask(
    logits: np.ndarray,
    resizes: Sequence[Resize],
    out_t: np.ndarray | None = None,
    settle_later: Callable[[Callable[[], None]], None] | None = None,
) -> np.ndarray | None:
    """Signs of torch's bilinear resizes of ``logits``: ``(H, W)`` bool, Fortran-ordered.

    Args:
        logits: ``(256, 256)`` float32, image orientation ``(y, x)``.
        resizes: the resizes in order (:func:`meta_resizes`, :func:`stretched_resizes`).
        out_t: optional ``(W, H)`` C-contiguous bool to write the transposed mask into.
        settle_later: where given, the last step (computing the uncertain pixels exactly)
            is handed to it instead of being done here (see
            :class:`~samlabel.inference.mask_helper.Beside`); the mask is
            complete once that step has run.

    Returns:
        ``out_t.T`` (column-major ``(H, W)``), or None where this path does not apply (tiny
        or non-finite logits, an OpenCV whose resize this module does not recognise, a huge
        image); the caller then takes the exact path.
    """
    height, width = resizes[-1].keep
    top, bottom = (float(logits.max()), float(logits.min())) if logits.size else (0.0, 0.0)
    largest = max(top, -bottom)
    finite = np.isfinite(top) and np.isfinite(bottom)
    if not finite or largest < SMALLEST_SCALE or height * width > LARGEST_OUTPUT:
        return None
    sampling = [_sampling_difference(resize) for resize in resizes]
    if any(difference is None for difference in sampling):
        return None
    scaled_t = np.ascontiguousarray(logits.T) * np.float32(FULL_SCALE / largest)
    fixed_t = np.rint(scaled_t, out=scaled_t).astype(np.int32)
    bias = _uncertain_below(fixed_t, resizes, sampling)
    if bias is None:
        return None
    # Uncertain, |value| <= bias, becomes 0 <= value <= 2 * bias.
    fixed_t += bias
    stored_t = fixed_t.astype(np.int16)
    for step, resize in enumerate(resizes):
        stored_t = _resize_t(stored_t, resize, _scratch(f"resize {step}", resize))
    if out_t is None:
        out_t = np.empty((width, height), bool)
    uncertain = _threshold(stored_t, 2 * bias, out_t)
    if uncertain.size:

        def settle(out_t: np.ndarray = out_t) -> None:
            xs, ys = np.divmod(uncertain, height)
            out_t.reshape(-1)[uncertain] = _exact_signs_at(logits, resizes, ys, xs)

        if settle_later is None:
            settle()
        else:
            settle_later(settle)
    return out_t.T


def _threshold(stored_t: np.ndarray, band: int, out_t: np.ndarray) -> np.ndarray:
    """``out_t = stored_t > band``; returns the flat indices of ``0 <= stored_t <= band``.

    Both ``(x, y)``; ``stored_t`` is int16. The two are separate passes, each bound by
    memory traffic and one core, so on a large image a helper thread finds the uncertain
    pixels while this one writes the mask (12 MP on 2 cores, between other work as in
    ``samlabel bench``: 2.4 ms instead of 3.1). This thread keeps the mask: ``out_t`` is
    often fresh memory, and two threads writing fresh pages side by side (bands of rows
    each) took ten times as long on a virtual machine.
    """
    beside = mask_helper.helper() if stored_t.size >= SPLIT_FROM_PIXELS else None
    if beside is None:
        np.greater(stored_t, band, out=out_t)
        return _near_zero(stored_t, band)
    near = beside.submit(_near_zero, stored_t, band)
    np.greater(stored_t, band, out=out_t)
    return near.result()


def _near_zero(stored_t: np.ndarray, band: int) -> np.ndarray:
    """Flat indices of ``0 <= stored_t <= band`` (int16, ``(x, y)``).

    Block by block, so that the flags stay in the core's cache between being written and
    being searched (at 12 MP: 1.5 ms instead of 1.9 between other work).
    """
    flat = stored_t.reshape(-1).view(np.uint16)  # negative values are large here
    flags = _scratch_array("near zero", (min(flat.size, NEAR_ZERO_BLOCK),), np.dtype(bool))
    found = []
    for start in range(0, flat.size, NEAR_ZERO_BLOCK):
        block = flat[start : start + NEAR_ZERO_BLOCK]
        near = flags[: block.size]
        np.less_equal(block, band, out=near)
        found.append(_sparse_flatnonzero(near) + start)
    if len(found) == 1:
        return found[0]
    return np.concatenate(found) if found else np.empty(0, np.intp)


def forget_probes() -> None:
    """Forget the probes (tests swap OpenCV's resize)."""
    _sampling_difference.cache_clear()


def _sparse_flatnonzero(flags: np.ndarray) -> np.ndarray:
    """``np.flatnonzero(flags)`` for a 1-D bool array that is nearly all False: eight flags
    are looked at as one 64-bit word first (half the time of a plain scan at 12 MP)."""
    whole = flags.size // 8 * 8
    words = flags[:whole].view(np.uint64)
    candidates = (np.flatnonzero(words != 0) * 8)[:, None] + np.arange(8)
    found = candidates.reshape(-1)
    found = found[flags[found]]
    tail = np.flatnonzero(flags[whole:]) + whole
    return np.concatenate([found, tail]) if tail.size else found


def _uncertain_below(
    fixed_t: np.ndarray, resizes: Sequence[Resize], sampling: Sequence[tuple[float, float]]
) -> int | None:
    """The largest ``|value|`` (in quanta) whose sign in torch is not certain: the error bound
    of the module docstring, rounded down. None if it is too wide to be worth it.

    ``fixed_t``: the scaled logits, int32 ``(x, y)``. ``sampling``: per resize, OpenCV's
    largest weight difference from torch along rows and columns; each costs that times the
    steepest step between neighbouring source values.
    """
    steep_x, steep_y = (_steepest(np.diff(fixed_t, axis=axis)) for axis in (0, 1))
    bound = 0.5 + ARITHMETIC  # rounding the logits, float32 on torch's side
    for resize, (rows_difference, cols_difference) in zip(resizes, sampling, strict=True):
        bound += 0.5 + ARITHMETIC + rows_difference * steep_y + cols_difference * steep_x
        # Neighbouring outputs sample ``scale`` source pixels apart, so the next resize's
        # steps are this one's times its scale, plus the rounding of two outputs.
        steep_y = steep_y * (resize.size_in[0] / resize.size_out[0]) * 1.000001 + 1.04
        steep_x = steep_x * (resize.size_in[1] / resize.size_out[1]) * 1.000001 + 1.04
    uncertain = int(np.floor(bound))
    return uncertain if uncertain <= WIDEST_UNCERTAIN else None


def _steepest(steps: np.ndarray) -> float:
    """``max(|steps|)``, 0 for none, without an array of magnitudes."""
    if not steps.size:
        return 0.0
    return float(max(int(steps.max()), -int(steps.min())))


def _resize_t(image_t: np.ndarray, resize: Resize, out: np.ndarray | None = None) -> np.ndarray:
    """One resize of a transposed image ``(x, y)``; returns the kept ``(x, y)`` part.

    ``out``: where to write the whole ``(x, y)`` output (same type as ``image_t``), or None.
    """
    size = (resize.size_out[0], resize.size_out[1])  # OpenCV's (width, height): (y, x) here
    out = cv2.resize(image_t, size, dst=out, interpolation=cv2.INTER_LINEAR)
    keep_y, keep_x = resize.keep
    if out.shape != (keep_x, keep_y):
        out = out[:keep_x, :keep_y]  # Meta's crop of the 1024 frame (a view; OpenCV takes it)
    return out


_SCRATCH = threading.local()


def _scratch(name: str, resize: Resize) -> np.ndarray | None:
    """The int16 output of ``resize``, kept per thread (see :func:`_scratch_array`)."""
    shape = (resize.size_out[1], resize.size_out[0])  # transposed (x, y)
    return _scratch_array(name, shape, np.dtype(np.int16))


def _scratch_array(name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """A work array kept per thread and reused while the image size stays the same.

    Fresh multi-megabyte arrays cost page faults on every mask (the kernel zeroes each new
    page): a third of the time of a 12 MP mask when other work ran in between. Arrays of
    huge images are not kept.
    """
    kept: dict[str, np.ndarray] = _SCRATCH.__dict__.setdefault("arrays", {})
    array = kept.get(name)
    if array is None or array.shape != shape or array.dtype != dtype:
        array = np.empty(shape, dtype)
        if array.size <= KEEP_SCRATCH_UP_TO:
            kept[name] = array
    return array


@lru_cache(maxsize=32)
def _sampling_difference(resize: Resize) -> tuple[float, float] | None:
    """OpenCV's largest weight difference from torch's, along rows and along columns.

    Each axis is probed with the steepest image there is (+-1 alternating along it, constant
    along the other) in float32, where nothing is rounded to hide a difference; the int16
    resize the masks use is checked to compute the same values (within its rounding). Same
    sizes as the real resize, so OpenCV takes the same code path; the outputs are checked
    on :data:`PROBED_LINES` lines across the other axis (all of them cost a third of a
    second at 12 MP, at the first mask of each image size). None if OpenCV's resize is not
    a 2-tap blend of the same neighbours along every line (a build this module does not
    know).
    """
    n_rows, n_cols = resize.size_in
    keep_rows, keep_cols = resize.keep
    differences = []
    for axis, along_rows in ((resize.rows, True), (resize.cols, False)):
        line = np.where(np.arange(n_rows if along_rows else n_cols) % 2 == 0, 1.0, -1.0)
        image_t = np.empty((n_cols, n_rows), np.float32)
        image_t[...] = line[None, :] if along_rows else line[:, None]
        try:
            out_float = _resize_t(image_t, resize)
            out_fixed = _resize_t((image_t * FULL_SCALE).astype(np.int16), resize)
        except cv2.error:
            return None
        if out_float.shape != (keep_cols, keep_rows) or out_fixed.shape != out_float.shape:
            return None
        # Transposed (x, y): the image's rows vary along axis 1, its columns along axis 0.
        lines = keep_cols if along_rows else keep_rows
        across = np.unique(np.linspace(0, lines - 1, PROBED_LINES))
        across = across.astype(np.intp)
        floats = out_float[across, :] if along_rows else out_float[:, across].T
        fixed = out_fixed[across, :] if along_rows else out_fixed[:, across].T
        got = floats[0]
        if not np.array_equal(floats, np.broadcast_to(got, floats.shape)):
            return None
        w0, w1 = axis.w0.astype(np.float64), axis.w1.astype(np.float64)
        expected = w0 * line[axis.i0] + w1 * line[axis.i1]
        difference = float(np.max(np.abs(got - expected), initial=0.0)) / 2 + 1e-6
        fixed_error = fixed.astype(np.float64) - floats.astype(np.float64) * FULL_SCALE
        if np.max(np.abs(fixed_error), initial=0.0) > 0.5 + ARITHMETIC:
            return None
        differences.append(difference)
    return differences[0], differences[1]


def _exact_signs_at(
    logits: np.ndarray, resizes: Sequence[Resize], ys: np.ndarray, xs: np.ndarray
) -> np.ndarray:
    """Whether torch's value at output pixels ``(ys, xs)`` is positive: its float32 operations
    in its order (per resize, the width pass, then the height pass)."""
    maps = [(resize.rows, resize.cols) for resize in resizes]
    return _value_at(logits, maps, len(maps) - 1, ys, xs) > 0


def _value_at(
    logits: np.ndarray,
    maps: Sequence[tuple[AxisMap, AxisMap]],
    level: int,
    ys: np.ndarray,
    xs: np.ndarray,
) -> np.ndarray:
    """float32 output of resize ``level`` at ``(ys, xs)``, as torch computes it."""
    rows, cols = maps[level]
    y0, y1, x0, x1 = rows.i0[ys], rows.i1[ys], cols.i0[xs], cols.i1[xs]

    def source(y: np.ndarray, x: np.ndarray) -> np.ndarray:
        if level == 0:
            return logits[y, x]
        return _value_at(logits, maps, level - 1, y, x)

    cw0, cw1 = cols.w0[xs], cols.w1[xs]
    top = blend(source(y0, x0), cw0, source(y0, x1), cw1)
    bottom = blend(source(y1, x0), cw0, source(y1, x1), cw1)
    return blend(top, rows.w0[ys], bottom, rows.w1[ys])
