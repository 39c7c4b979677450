"""The saved mask is Meta's, pixel for pixel: ``Prediction.full_mask`` / ``full_mask_rle``.

Compared with Meta's own ``Sam.postprocess_masks`` (segment-anything) on random logits of
several image shapes, on smooth logits with exact zeros, and with the masks Meta's predictor
returned for the reference fixtures.
"""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils

from samlabel.inference import full_mask as full_mask_module
from samlabel.inference import full_mask_dense
from samlabel.inference.api import Prediction
from samlabel.inference.full_mask import full_size_mask
from samlabel.inference.transforms import resized_size
from tests.meta_reference import segment_anything

SIZES = [
    (1, 1),
    (2, 3),
    (101, 57),  # odd, tall, smaller than the 1024 frame
    (57, 101),
    (1024, 768),  # the crop is the original size: no second interpolation
    (864, 1152),  # about 1 MP
    (4000, 300),  # very tall
    (300, 4000),  # very wide
    (3000, 4000),  # 12 MP
]


def meta_masks(low_res: np.ndarray, original_size: tuple[int, int]) -> np.ndarray:
    """``(K, H, W)`` bool from Meta's ``Sam.postprocess_masks`` (torch) on ``(K, 256, 256)``."""
    import torch

    sam_module = segment_anything().modeling.sam.Sam
    input_size = resized_size(original_size)

    class _Frame:  # postprocess_masks reads only image_encoder.img_size from the model
        image_encoder = type("Encoder", (), {"img_size": 1024})()

    with torch.no_grad():
        masks = sam_module.postprocess_masks(
            _Frame(), torch.from_numpy(low_res)[None], input_size, original_size
        )
    return (masks[0] > 0).numpy()


def smooth_logits(seed: int, with_zeros: bool = False) -> np.ndarray:
    """Blob-shaped ``(256, 256)`` logits; with_zeros sets a band around the boundary to 0.0."""
    rng = np.random.default_rng(seed)
    coarse = rng.standard_normal((12, 12)).astype(np.float32)
    logits = cv2.resize(coarse, (256, 256), interpolation=cv2.INTER_CUBIC) * 4
    if with_zeros:
        logits[np.abs(logits) < 0.5] = 0.0
    return logits


@pytest.fixture(params=["default", "exact passes"])
def mask_path(request, monkeypatch):
    """Run a test on each way of computing a full-size mask: the default (boundary tiles for
    one object, else the fixed-point resize with exact uncertain pixels), and the exact
    passes the fixed-point resize falls back to."""
    if request.param == "exact passes":
        monkeypatch.setattr(full_mask_module, "fixed_point_mask", lambda *a, **k: None)
    return request.param


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_full_size_masks_are_meta_pixels_for_every_shape(size, mask_path):
    rng = np.random.default_rng(size[0] * 7919 + size[1])
    low_res = np.stack(
        [
            rng.standard_normal((256, 256)).astype(np.float32),  # boundary everywhere
            smooth_logits(size[0]),
            smooth_logits(size[1], with_zeros=True),  # logits exactly at 0
            # Tenths: many blends land within a rounding of 0, where only torch's order of
            # operations gives torch's sign (a plain float32 blend misses ~100 pixels at 1 MP).
            (rng.integers(-9, 10, (256, 256)) / 10).astype(np.float32),
        ]
    )
    expected = meta_masks(low_res, size)
    prediction = Prediction(np.zeros(4, np.float32), low_res, size, resized_size(size))
    for i in range(4):
        got = prediction.full_mask(i)
        assert got.shape == size
        mismatched = int((got != expected[i]).sum())
        assert mismatched == 0, f"candidate {i}: {mismatched} pixels differ from Meta's"
    assert np.array_equal(prediction.masks, expected)


@pytest.mark.parametrize("dense_above", [0.0, 1.01], ids=["whole-image passes", "tiles only"])
def test_both_ways_of_computing_give_meta_pixels(monkeypatch, dense_above):
    """Without the fixed-point path, texture-like masks take whole-image passes, object-like
    ones boundary tiles; each way alone must give Meta's pixels for any mask."""
    monkeypatch.setattr(full_mask_module, "fixed_point_mask", lambda *a, **k: None)
    monkeypatch.setattr(full_mask_module, "DENSE_ABOVE", dense_above)
    size = (1201, 1599)
    rng = np.random.default_rng(5)
    low_res = np.stack(
        [
            smooth_logits(5, with_zeros=True),
            (rng.integers(-9, 10, (256, 256)) / 10).astype(np.float32),
        ]
    )
    expected = meta_masks(low_res, size)
    for i in range(2):
        assert np.array_equal(full_size_mask(low_res[i], resized_size(size), size), expected[i])


def test_all_zero_and_all_positive_logits(mask_path):
    size = (333, 517)
    zeros = np.zeros((256, 256), np.float32)
    assert not full_size_mask(zeros, resized_size(size), size).any()  # 0 is outside
    tiny = np.full((256, 256), 1e-38, np.float32)  # positive, yet near underflow
    assert np.array_equal(
        full_size_mask(tiny, resized_size(size), size), meta_masks(tiny[None], size)[0]
    )


def test_fixture_masks_are_reproduced_exactly(fixtures_dir):
    for name in ("sam_vit_random", "mobile_sam_random"):
        expected = np.load(fixtures_dir / name / "expected.npz")
        cases = json.loads((fixtures_dir / name / "cases.json").read_text())
        case_names = [c["name"] for c in cases["cases"]]
        checked = 0
        for case in case_names:
            masks = expected[f"{case}__masks"]
            low_res = expected[f"{case}__low_res_logits"]
            size = masks.shape[1:]
            for i in range(masks.shape[0]):
                got = full_size_mask(low_res[i], resized_size(size), size)
                assert np.array_equal(got, masks[i]), f"{name} {case} mask {i}"
                checked += 1
        assert checked >= 3


def test_rle_of_the_chosen_mask_decodes_to_the_mask():
    size = (1200, 1601)
    low_res = np.stack([smooth_logits(3), -smooth_logits(3), np.full((256, 256), 5.0, np.float32)])
    prediction = Prediction(np.zeros(3, np.float32), low_res, size, resized_size(size))
    for i in range(3):
        rle = prediction.full_mask_rle(i)
        mask = prediction.full_mask(i)
        coco = rle.to_coco()
        assert coco["size"] == [1200, 1601]
        assert np.array_equal(rle.decode(), mask)
        # The same string pycocotools writes for that mask.
        assert rle.counts == mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))["counts"]
    assert prediction.full_mask_rle(2).area == 1200 * 1601  # starts with a foreground run


def texture_logits(seed: int, count: int = 3, cell: int = 2, scale: float = 1.0) -> np.ndarray:
    """``(count, 256, 256)`` logits with a boundary in every low-res tile, as random weights
    draw them: noise on a ``cell``-pixel grid, bilinearly smoothed, times ``scale``."""
    rng = np.random.default_rng(seed)
    coarse = rng.standard_normal((count, 256 // cell, 256 // cell)).astype(np.float32)
    smooth = [cv2.resize(c, (256, 256), interpolation=cv2.INTER_LINEAR) for c in coarse]
    return (np.stack(smooth) * np.float32(scale)).astype(np.float32)


def torch_masks(low_res: np.ndarray, original_size: tuple[int, int]) -> np.ndarray:
    """``(K, H, W)`` bool with torch's ``F.interpolate`` written out as Meta's postprocess."""
    import torch
    import torch.nn.functional as F

    h, w = resized_size(original_size)
    with torch.no_grad():
        up = F.interpolate(torch.from_numpy(low_res)[None], (1024, 1024), mode="bilinear")
        full = F.interpolate(up[..., :h, :w], original_size, mode="bilinear")
    return (full[0] > 0).numpy()


def test_three_texture_candidates_at_12_mp_are_torch_pixels(mask_path):
    size = (3000, 4000)
    low_res = texture_logits(12)
    prediction = Prediction(np.zeros(3, np.float32), low_res, size, resized_size(size))
    expected = torch_masks(low_res, size)
    masks = prediction.masks
    assert masks.shape == (3, *size) and all(m.flags.f_contiguous for m in masks)
    for i in range(3):
        mismatched = int((masks[i] != expected[i]).sum())
        assert mismatched == 0, f"candidate {i}: {mismatched} pixels differ from torch's"


@pytest.mark.parametrize(
    "size", [(864, 1152), (1201, 1599), (2000, 1500), (640, 480)], ids=lambda s: f"{s[0]}x{s[1]}"
)
@pytest.mark.parametrize("cell", [1, 4])
def test_texture_masks_are_torch_pixels(size, cell, mask_path):
    low_res = texture_logits(size[0] + cell, count=2, cell=cell)
    expected = torch_masks(low_res, size)
    for i in range(2):
        assert np.array_equal(full_size_mask(low_res[i], resized_size(size), size), expected[i])


def test_texture_near_underflow_is_torch_pixels(mask_path):
    """Values near float32's smallest: products and blends underflow, signs turn to 0."""
    size = (1201, 1599)
    low_res = texture_logits(3, count=2, scale=1e-38)
    low_res[1] = np.where(low_res[1] > 0, np.float32(1e-45), low_res[1])  # subnormal steps
    expected = torch_masks(low_res, size)
    for i in range(2):
        assert np.array_equal(full_size_mask(low_res[i], resized_size(size), size), expected[i])


def test_a_wrong_estimate_of_the_switch_row_is_caught(monkeypatch):
    """The zero crossing only estimates where a pair's blend changes sign: the exact check of
    the rows either side must catch an estimate that is off, and blend those rows one by one."""
    monkeypatch.setattr(full_mask_module, "fixed_point_mask", lambda *a, **k: None)
    real = full_mask_dense._first_row_at
    monkeypatch.setattr(
        full_mask_dense, "_first_row_at", lambda rows, position: real(rows, position) + 1
    )
    size = (2000, 1500)
    low_res = texture_logits(8, count=1)
    assert np.array_equal(
        full_size_mask(low_res[0], resized_size(size), size), torch_masks(low_res, size)[0]
    )


@pytest.mark.parametrize(
    "size", [(300, 420), (256, 256), (100, 57), (1500, 2000)], ids=lambda s: f"{s[0]}x{s[1]}"
)
def test_sam2_stretched_masks_are_one_torch_resize(size):
    """SAM 2 resizes the low-res logits straight to the image: the same passes, exactly."""
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng(size[0])
    low_res = np.stack(
        [texture_logits(size[1], count=1)[0], (rng.integers(-9, 10, (256, 256)) / 10)]
    ).astype(np.float32)
    with torch.no_grad():
        up = F.interpolate(torch.from_numpy(low_res)[None], size, mode="bilinear")
    expected = (up[0] > 0).numpy()
    for i in range(2):
        got = full_mask_dense.stretched_mask(low_res[i], size)
        assert got.flags.f_contiguous and np.array_equal(got, expected[i])
    # What a SAM 2 prediction saves: the fixed-point path (or these passes where it does
    # not apply), the same pixels. It used a plain float32 resize before, off by a few.
    prediction = Prediction(np.zeros(2, np.float32), low_res, size, (1024, 1024), stretched=True)
    for i in range(2):
        got = prediction.full_mask(i)
        assert got.flags.f_contiguous and np.array_equal(got, expected[i])
    assert np.array_equal(prediction.masks, expected)


@pytest.mark.parametrize("input_size", [(768, 1024), (1024, 768), (1024, 1024), (300, 1024)])
def test_the_quick_boundary_estimate_never_overstates(input_size):
    """Texture-like logits skip counting boundary tiles when a cheap lower bound already
    exceeds the share up to which the tiles path is taken; the bound must never claim
    "many" where the count finds few (that would only cost time, but shows a wrong bound)."""
    from samlabel.inference.full_mask import (
        TILES_ONLY_BELOW,
        TILES_ONLY_BELOW_HUGE,
        _boundary_tiles,
        _surely_many_boundary_tiles,
    )

    rng = np.random.default_rng(7)
    cases = [smooth_logits(seed) for seed in range(4)]
    cases += list(texture_logits(3000, count=2))
    for density in (0.0005, 0.002, 0.01, 0.05):  # scattered positive specks
        specks = -np.abs(rng.standard_normal((256, 256))).astype(np.float32)
        chosen = rng.random((256, 256)) < density
        specks[chosen] = 1.0
        cases.append(specks)
    for share in (TILES_ONLY_BELOW, TILES_ONLY_BELOW_HUGE):
        verdicts = []
        for logits in cases:
            fraction = _boundary_tiles(logits, input_size).fraction
            sure = _surely_many_boundary_tiles(logits, input_size, share)
            assert not sure or fraction > share
            verdicts.append(sure)
        assert any(verdicts) and not all(verdicts)


@pytest.mark.parametrize("size", [(3000, 4000), (4000, 6000)], ids=["12MP", "24MP"])
def test_one_object_on_a_large_image_takes_its_boundary_tiles(monkeypatch, size):
    """A single object's mask on a large image is made from its boundary tiles alone (the
    cheapest way there), and its pixels are still Meta's."""
    rows, cols = np.mgrid[0:256, 0:256]
    disc = ((20 - np.hypot(rows - 90, cols - 120)) / 4).astype(np.float32)
    taken = []
    real = full_mask_module._mask_by_tiles

    def spy(logits, input_size, original_size, tiles):
        taken.append(tiles.fraction)
        return real(logits, input_size, original_size, tiles)

    monkeypatch.setattr(full_mask_module, "_mask_by_tiles", spy)
    got = full_size_mask(disc, resized_size(size), size)
    assert taken and taken[0] < 0.01
    assert np.array_equal(got, torch_masks(disc[None], size)[0])
