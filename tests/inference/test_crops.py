"""Crops of huge images: where they are cut, and prompts and masks mapped in and out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile
from hypothesis import given
from hypothesis import strategies as st

from samlabel.core.masks import encode_mask
from samlabel.core.windowing import Window
from samlabel.inference.crops import Crop, crop_around, read_crop
from samlabel.inference.embedding_cache import EmbeddingKey


def test_crop_is_centred_on_the_click_and_shifted_inside_the_image() -> None:
    assert crop_around(5000, 3000, (20000, 30000), 1024).region == (4488, 2488, 5512, 3512)
    assert crop_around(10, 19990, (20000, 30000), 1024).region == (0, 18976, 1024, 20000)
    # A side shorter than the crop is taken whole.
    assert crop_around(400, 100, (300, 40000), 1024).region == (0, 0, 1024, 300)


@given(
    x=st.floats(0, 29999),
    y=st.floats(0, 19999),
    side=st.integers(1, 4096),
)
def test_crop_always_fits_and_holds_the_click(x: float, y: float, side: int) -> None:
    crop = crop_around(x, y, (20000, 30000), side)
    assert crop.size == (side, side)
    assert crop.contains(x, y) or side < 2


def test_points_boxes_and_masks_round_trip_through_the_crop() -> None:
    crop = Crop((1000, 500, 1200, 600), (2000, 3000))
    points = [(1010.5, 520.0, 1), (1199.0, 599.5, 0)]
    inside = crop.points_to_crop(points)
    assert inside == [(10.5, 20.0, 1), (199.0, 99.5, 0)]
    assert crop.points_to_full(inside) == points
    assert crop.box_to_full(crop.box_to_crop((1001, 501, 1100, 550))) == (1001, 501, 1100, 550)
    mask = np.zeros((100, 200), bool)
    mask[20:30, 10:50] = True
    full = crop.mask_to_full(mask)
    assert full.shape == (2000, 3000) and full.flags.f_contiguous
    assert full.sum() == mask.sum() and full[520:530, 1010:1050].all()
    assert encode_mask(full).bbox == (1010.0, 520.0, 40.0, 10.0)
    with pytest.raises(ValueError, match="does not fit"):
        crop.mask_to_full(np.zeros((5, 5), bool))
    with pytest.raises(ValueError, match="inside"):
        Crop((0, 0, 3001, 10), (2000, 3000))


def test_read_crop_reads_the_region_through_the_overview_window(tmp_path: Path) -> None:
    pixels = np.zeros((600, 800), np.uint16)
    pixels[300:310, 400:420] = 4000
    path = tmp_path / "scan.tif"
    tifffile.imwrite(path, pixels, tile=(128, 128))
    crop = crop_around(410, 305, (600, 800), 64)
    rgb, loaded = read_crop(path, crop, Window(0, 4000))
    assert rgb.shape == (64, 64, 3) and loaded.region == crop.region
    x0, y0 = crop.offset
    assert (rgb[300 - y0 : 310 - y0, 400 - x0 : 420 - x0] == 255).all()
    assert rgb.sum() == 10 * 20 * 3 * 255


def test_cache_keys_of_crops_differ_by_region_and_whole_image_keys_name_the_content(
    tmp_path: Path,
) -> None:
    path = tmp_path / "a.tif"
    tifffile.imwrite(path, np.zeros((8, 8), np.uint8))
    whole = EmbeddingKey.for_file("m", path)
    a = EmbeddingKey.for_file("m", path, region=(0, 0, 4, 4))
    b = EmbeddingKey.for_file("m", path, region=(4, 4, 8, 8))
    assert len({whole.digest(), a.digest(), b.digest()}) == 3
    assert whole.digest() == EmbeddingKey.for_bytes("m", path.read_bytes()).digest()
