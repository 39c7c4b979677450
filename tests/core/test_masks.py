"""RLE encoding of masks: exact round trips, pycocotools compatibility, no full-image copies."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pycocotools import mask as mask_utils

from samlabel.core import masks


def _masks(max_side: int = 40):
    shapes = st.tuples(st.integers(1, max_side), st.integers(1, max_side))
    return shapes.flatmap(lambda shape: arrays(bool, shape))


@settings(max_examples=150, deadline=None)
@given(mask=_masks(), fortran=st.booleans())
def test_random_masks_survive_encode_decode_bit_for_bit(mask, fortran):
    mask = np.asfortranarray(mask) if fortran else np.ascontiguousarray(mask)
    rle = masks.encode_mask(mask)
    decoded = rle.decode()
    assert decoded.dtype == bool
    assert decoded.shape == mask.shape
    np.testing.assert_array_equal(decoded, mask)
    # Same bytes as pycocotools' own encoder, so any COCO tool reads our files.
    reference = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    assert rle.counts == reference["counts"]
    assert rle.area == int(mask.sum())
    assert sum(masks.counts_from_string(rle.counts)) == mask.size


@settings(max_examples=100, deadline=None)
@given(mask=_masks())
def test_cropped_decode_equals_the_bbox_of_the_full_decode(mask):
    rle = masks.encode_mask(mask)
    crop, (x0, y0) = masks.decode_rle_cropped(rle)
    box = masks.mask_bbox_slices(mask)
    if box is None:
        assert crop.size == 0
        return
    rows, cols = box
    assert (x0, y0) == (cols.start, rows.start)
    np.testing.assert_array_equal(crop, mask[rows, cols])


def test_decoded_masks_are_fortran_ordered_so_reencoding_copies_nothing():
    mask = masks.empty_mask(30, 50)
    assert mask.flags.f_contiguous
    mask[3:9, 10:20] = True
    decoded = masks.encode_mask(mask).decode()
    assert decoded.flags.f_contiguous
    assert masks.encode_mask(decoded) == masks.encode_mask(mask)


def test_bbox_is_xywh_with_x_right_y_down():
    mask = masks.empty_mask(20, 30)
    mask[2:5, 10:17] = True  # rows 2..4, columns 10..16
    assert masks.encode_mask(mask).bbox == (10.0, 2.0, 7.0, 3.0)


def test_empty_mask_encodes_to_zero_area():
    rle = masks.encode_mask(np.zeros((7, 9), bool))
    assert rle.area == 0
    assert not rle.decode().any()


def test_rle_from_counts_rejects_a_wrong_size():
    with pytest.raises(ValueError, match="4x4"):
        masks.rle_from_counts([3, 2, 5], 4, 4)


def test_union_and_difference():
    a = masks.empty_mask(10, 10)
    a[0:5, 0:5] = True
    b = masks.empty_mask(10, 10)
    b[3:8, 3:8] = True
    ra, rb = masks.encode_mask(a), masks.encode_mask(b)
    np.testing.assert_array_equal(masks.union(ra, rb).decode(), a | b)
    np.testing.assert_array_equal(masks.difference(ra, rb).decode(), a & ~b)


def test_paint_stroke_paints_a_capsule_and_erases():
    mask = masks.empty_mask(40, 60)
    masks.paint_stroke(mask, [(10, 20), (50, 20)], radius=3, value=True)
    assert mask[20, 10:51].all()  # along the path
    assert mask[17, 30] and mask[23, 30]  # radius 3 above and below
    assert not mask[16, 30] and not mask[24, 30]
    assert not mask[20, 5]  # beyond the end cap
    masks.paint_stroke(mask, [(30, 20)], radius=2, value=False)
    assert not mask[20, 30] and mask[20, 25]


def test_paint_stroke_clips_at_the_image_border():
    mask = masks.empty_mask(10, 10)
    masks.paint_stroke(mask, [(-5, -5), (0, 0)], radius=2, value=True)
    assert mask[0, 0] and mask[1, 1] and not mask[5, 5]


def test_paint_stroke_rejects_nan():
    with pytest.raises(ValueError, match="finite"):
        masks.paint_stroke(masks.empty_mask(5, 5), [(float("nan"), 1.0)], 1, True)


def test_decode_of_a_mask_with_very_many_runs():
    """Above the loop threshold decoding switches to np.repeat; both give the same pixels."""
    rows, cols = np.indices((301, 299))
    checker = np.asfortranarray((rows + cols) % 2 == 0)
    rle = masks.encode_mask(checker)
    assert len(masks.counts_from_string(rle.counts)) // 2 > masks._LOOP_RUNS
    np.testing.assert_array_equal(rle.decode(), checker)


@settings(max_examples=60, deadline=None)
@given(
    cases=st.lists(
        st.tuples(
            _masks(12), st.sampled_from(["ok", "cut", "noise", "drop"]), st.binary(max_size=6)
        ),
        min_size=1,
        max_size=12,
    ),
    chunk=st.integers(1, 200),
)
def test_batch_scan_agrees_with_the_single_check(cases, chunk):
    """Valid and broken counts strings: scan_rles says what check_rle says, area for area."""
    rles = []
    for mask, damage, noise in cases:
        rle = masks.encode_mask(mask)
        counts = rle.counts
        if damage == "cut":
            counts = counts[:-1]
        elif damage == "noise":
            counts = noise
        elif damage == "drop" and len(counts) > 1:
            counts = counts[: len(counts) // 2] + counts[len(counts) // 2 + 1 :]
        rles.append(masks.Rle(rle.size, counts))
    scan = masks.scan_rles(rles, chunk_chars=chunk)
    for i, rle in enumerate(rles):
        try:
            masks.check_rle(rle)
        except ValueError:
            assert i in scan.invalid
            continue
        assert i not in scan.invalid
        assert scan.areas[i] == rle.area
        assert scan.bboxes[i] == rle.bbox
