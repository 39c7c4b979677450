"""Overviews of huge pages: right size, right content, small memory, pyramids used."""

from __future__ import annotations

import tracemalloc
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile
from PIL import Image

from samlabel.io.images import (
    QT_MAX_SIDE,
    needs_tiled_view,
    read_image,
    read_overview,
    to_display_rgb,
)
from tests.io.images_factory import exif_with_orientation, stored_for, upright_rgb


def _area(values: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return cv2.resize(values, (size[1], size[0]), interpolation=cv2.INTER_AREA)


def test_needs_tiled_view(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not needs_tiled_view((4000, 6000))
    assert needs_tiled_view((100, QT_MAX_SIDE + 1))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    assert needs_tiled_view((40, 30))


def test_small_image_overview_is_the_image(tmp_path: Path) -> None:
    Image.fromarray(upright_rgb()).save(tmp_path / "a.png")
    overview = read_overview(tmp_path / "a.png", max_side=100)
    np.testing.assert_array_equal(overview.pixels, upright_rgb())
    assert overview.scale == (1.0, 1.0) and not overview.is_region


@pytest.mark.parametrize("layout", [{"tile": (64, 64)}, {"rowsperstrip": 16}])
def test_tiled_tiff_overview_matches_area_resize(tmp_path: Path, layout: dict) -> None:
    rng = np.random.default_rng(0)
    values = cv2.GaussianBlur(rng.integers(0, 65535, (600, 900), dtype=np.uint16), (0, 0), 8)
    tifffile.imwrite(tmp_path / "t.tif", values, compression="zlib", **layout)
    overview = read_overview(tmp_path / "t.tif", max_side=300)
    assert overview.size == (200, 300) and overview.full_size == (600, 900)
    assert overview.scale == (pytest.approx(1 / 3), pytest.approx(1 / 3))
    assert overview.pixels.dtype == np.uint16 and overview.default_window is not None
    expected = _area(values, (200, 300)).astype(float)
    # Tiles of 64 px split output pixels at rounded edges: tiny differences at tile borders.
    assert np.abs(overview.pixels - expected).mean() < 0.01 * values.max()


def test_pyramid_level_is_used_when_present(tmp_path: Path) -> None:
    base = np.full((1024, 1536), 100, np.uint8)
    with tifffile.TiffWriter(tmp_path / "pyr.tif") as tw:
        tw.write(base, tile=(256, 256), subifds=2, compression="zlib")
        # Levels are written with values the base does not have, to see which one was read.
        tw.write(np.full((512, 768), 150, np.uint8), tile=(256, 256), subfiletype=1)
        tw.write(np.full((256, 384), 200, np.uint8), tile=(256, 256), subfiletype=1)
    assert read_image(tmp_path / "pyr.tif").page_count == 1
    assert (read_overview(tmp_path / "pyr.tif", max_side=600).pixels == 150).all()
    assert (read_overview(tmp_path / "pyr.tif", max_side=300).pixels == 200).all()
    assert (read_overview(tmp_path / "pyr.tif", max_side=1000).pixels == 100).all()


def test_gdal_style_reduced_pages_are_levels_not_pages(tmp_path: Path) -> None:
    with tifffile.TiffWriter(tmp_path / "gdal.tif") as tw:
        tw.write(np.full((800, 1200), 10, np.uint8), tile=(256, 256))
        tw.write(np.full((400, 600), 20, np.uint8), tile=(256, 256), subfiletype=1)
        tw.write(np.full((5, 5), 30, np.uint8))  # a second real page
    assert read_image(tmp_path / "gdal.tif").page_count == 2
    assert (read_image(tmp_path / "gdal.tif", page=1).pixels == 30).all()
    assert (read_overview(tmp_path / "gdal.tif", max_side=600).pixels == 20).all()


@pytest.mark.parametrize("orientation", [1, 6, 3, 8])
def test_jpeg_overview_uses_reduced_decoding_and_orientation(
    tmp_path: Path, orientation: int
) -> None:
    upright = cv2.resize(upright_rgb(24, 40), (1600, 960), interpolation=cv2.INTER_NEAREST)
    path = tmp_path / "big.jpg"
    Image.fromarray(stored_for(upright, orientation)).save(
        path, quality=95, exif=exif_with_orientation(orientation)
    )
    overview = read_overview(path, max_side=200)
    assert overview.size == (120, 200) and overview.full_size == (960, 1600)
    expected = _area(upright, (120, 200)).astype(int)
    assert np.abs(to_display_rgb(overview).astype(int) - expected).mean() < 6


def test_overview_of_an_orthomosaic_too_wide_for_qt_stays_small(tmp_path: Path) -> None:
    height, width, tile = 3_000, 33_000, 1024  # 99 MP, above Pillow's default limit too
    plain = np.full((tile, tile), 40, np.uint8)
    marked = plain.copy()
    marked[:, :] = 240  # one bright tile at tile row 1, column 17
    plain_z, marked_z = zlib.compress(plain.tobytes()), zlib.compress(marked.tobytes())
    tiles = (
        marked_z if (ty, tx) == (1, 17) else plain_z
        for ty in range(-(-height // tile))
        for tx in range(-(-width // tile))
    )
    path = tmp_path / "ortho.tif"
    tifffile.imwrite(
        path, tiles, shape=(height, width), dtype=np.uint8, tile=(tile, tile), compression="zlib"
    )
    assert needs_tiled_view((height, width))
    tracemalloc.start()
    try:
        overview = read_overview(path, max_side=1500)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 10_000_000  # one 1 MB tile and the small result, never the 99 MB page
    assert overview.size == (136, 1500)
    sy, sx = overview.scale
    bright = np.argwhere(overview.pixels > 200)
    assert bright[:, 0].min() == round(1 * tile * sy) and bright[:, 1].min() == round(
        17 * tile * sx
    )
