"""TIFF as scientific and field users have them: 8/16-bit, float, 1..5 bands, pages, regions."""

from __future__ import annotations

import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from samlabel.core.errors import ImageReadError
from samlabel.core.windowing import Window
from samlabel.io.images import read_image, read_image_size, to_display_rgb


def _ramp(shape: tuple[int, ...], dtype: type) -> np.ndarray:
    return (np.arange(int(np.prod(shape))) % 251).reshape(shape).astype(dtype)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_grey_tiff_keeps_dtype_and_values(tmp_path: Path, dtype: type) -> None:
    values = _ramp((30, 40), dtype) * (200 if dtype == np.uint16 else 1)
    tifffile.imwrite(tmp_path / "g.tif", values)
    loaded = read_image(tmp_path / "g.tif")
    assert loaded.pixels.dtype == dtype and loaded.mode.startswith("grey")
    np.testing.assert_array_equal(loaded.pixels, values)
    assert (loaded.default_window is None) == (dtype == np.uint8)


def test_signed_16_bit_becomes_float32_with_values_kept(tmp_path: Path) -> None:
    values = np.array([[-1000, 0], [1000, 3000]], dtype=np.int16)
    tifffile.imwrite(tmp_path / "s.tif", values)
    loaded = read_image(tmp_path / "s.tif")
    assert loaded.pixels.dtype == np.float32
    np.testing.assert_array_equal(loaded.pixels, values)


def test_float_tiff_with_nan_displays(tmp_path: Path) -> None:
    values = np.linspace(0, 1, 100, dtype=np.float32).reshape(10, 10)
    values[0, 0] = np.nan
    tifffile.imwrite(tmp_path / "dem.tif", values)
    loaded = read_image(tmp_path / "dem.tif")
    shown = to_display_rgb(loaded)
    assert shown[0, 0].tolist() == [0, 0, 0]
    assert shown[-1, -1, 0] == 255 and 100 < shown[5, 0, 0] < 155


@pytest.mark.parametrize("bands", [2, 3, 4, 5])
def test_multi_band_tiff_shows_the_first_three_bands(tmp_path: Path, bands: int) -> None:
    values = _ramp((12, 16, bands), np.uint16) * 100
    tifffile.imwrite(tmp_path / "ms.tif", values, photometric="minisblack", planarconfig="contig")
    loaded = read_image(tmp_path / "ms.tif")
    assert loaded.pixels.shape == (12, 16, bands) and not loaded.has_alpha
    np.testing.assert_array_equal(loaded.pixels, values)
    window = Window(0, 25000)
    shown = to_display_rgb(loaded, window)
    expected = values[..., :3] if bands >= 3 else np.repeat(values[..., :1], 3, axis=2)
    np.testing.assert_array_equal(
        shown, np.rint(np.clip(expected / 25000 * 255, 0, 255)).astype(np.uint8)
    )


def test_rgba_tiff_with_alpha_extrasample(tmp_path: Path) -> None:
    values = np.zeros((2, 2, 4), dtype=np.uint8)
    values[..., :3] = 200
    values[..., 3] = [[0, 255], [255, 0]]
    tifffile.imwrite(tmp_path / "a.tif", values, photometric="rgb", extrasamples=["unassalpha"])
    loaded = read_image(tmp_path / "a.tif")
    assert loaded.has_alpha and loaded.mode == "RGBA 8-bit"
    assert to_display_rgb(loaded)[..., 0].tolist() == [[0, 200], [200, 0]]


def test_multi_page_tiff_pages(tmp_path: Path) -> None:
    pages = np.stack([np.full((5, 6), v, dtype=np.uint16) for v in (100, 200, 300)])
    tifffile.imwrite(tmp_path / "stack.tif", pages, photometric="minisblack")
    second = read_image(tmp_path / "stack.tif", page=1)
    assert second.page_count == 3 and second.page == 1
    assert (second.pixels == 200).all()
    with pytest.raises(ImageReadError, match=r"page 4 of .*stack\.tif.*3 page"):
        read_image(tmp_path / "stack.tif", page=3)


def test_min_is_white_bilevel_tiff_looks_like_pillow_shows_it(tmp_path: Path) -> None:
    bits = np.zeros((8, 8), dtype=bool)
    bits[2:5, 1:7] = True
    tifffile.imwrite(tmp_path / "fax.tif", bits, photometric="miniswhite")
    loaded = read_image(tmp_path / "fax.tif")
    assert loaded.inverted
    with Image.open(tmp_path / "fax.tif") as im:
        expected = np.asarray(im.convert("L"))
    np.testing.assert_array_equal(to_display_rgb(loaded)[..., 0], expected)


def test_palette_tiff_becomes_rgb(tmp_path: Path) -> None:
    colormap = np.zeros((3, 256), dtype=np.uint16)
    colormap[:, 1] = (65535, 0, 0)
    colormap[:, 2] = (0, 0, 65535)
    tifffile.imwrite(
        tmp_path / "pal.tif",
        np.array([[0, 1], [2, 1]], np.uint8),
        photometric="palette",
        colormap=colormap,
    )
    loaded = read_image(tmp_path / "pal.tif")
    assert loaded.pixels[0, 1].tolist() == [255, 0, 0]
    assert loaded.pixels[1, 0].tolist() == [0, 0, 255]


@pytest.mark.parametrize(
    "layout",
    [
        {"tile": (32, 48), "compression": "zlib"},
        {"rowsperstrip": 5, "compression": "zlib"},
        {},  # uncompressed contiguous: memory-mapped
        {"tile": (16, 16), "planarconfig": "separate", "compression": "zlib"},
    ],
)
def test_region_reads_match_the_full_page(tmp_path: Path, layout: dict) -> None:
    values = _ramp((150, 170, 3), np.uint16) * 7
    # planar data is written band-first; the reader returns bands last either way
    data = np.moveaxis(values, -1, 0) if layout.get("planarconfig") == "separate" else values
    tifffile.imwrite(tmp_path / "r.tif", data, photometric="rgb", **layout)
    for region in [(0, 0, 170, 150), (17, 33, 101, 149), (169, 0, 170, 1), (40, 40, 41, 120)]:
        x0, y0, x1, y1 = region
        part = read_image(tmp_path / "r.tif", region=region)
        np.testing.assert_array_equal(part.pixels, values[y0:y1, x0:x1])


def test_region_outside_the_image_is_refused(tmp_path: Path) -> None:
    tifffile.imwrite(tmp_path / "r.tif", np.zeros((10, 10), np.uint8))
    for region in [(0, 0, 11, 5), (5, 5, 5, 6), (-1, 0, 3, 3)]:
        with pytest.raises(ImageReadError, match=r"region .* of .*r\.tif"):
            read_image(tmp_path / "r.tif", region=region)


def test_orthomosaic_wider_than_qt_can_draw(tmp_path: Path, monkeypatch) -> None:
    """40,000 px wide (above Qt's 32,767): refused whole under a lowered limit, read by region."""
    width, height = 40_000, 64
    row = (np.arange(width) % 256).astype(np.uint8)
    values = np.broadcast_to(row, (height, width)).copy()
    values[10:20, 35_000:35_010] = 255 - values[10:20, 35_000:35_010]  # a marker far right
    tifffile.imwrite(tmp_path / "ortho.tif", values, tile=(64, 512), compression="zlib")
    assert read_image_size(tmp_path / "ortho.tif") == (height, width)

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000_000)  # 2.56 MP image > 1 MP limit
    with pytest.raises(ImageReadError, match=r"ortho\.tif.*40000 x 64 pixels.*limit"):
        read_image(tmp_path / "ortho.tif")
    part = read_image(tmp_path / "ortho.tif", region=(34_990, 0, 35_030, 32))
    np.testing.assert_array_equal(part.pixels, values[0:32, 34_990:35_030])
    assert part.full_size == (height, width)
    whole = read_image(tmp_path / "ortho.tif", allow_huge=True)
    np.testing.assert_array_equal(whole.pixels, values)


def test_region_of_a_single_strip_file_counts_the_strip_it_must_decode(
    tmp_path: Path, monkeypatch
) -> None:
    values = _ramp((500, 400), np.uint8)
    tifffile.imwrite(tmp_path / "one_strip.tif", values, compression="zlib", rowsperstrip=500)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 50_000)  # 0.2 MP strip > 0.05 MP limit
    with pytest.raises(ImageReadError, match=r"one_strip\.tif: its tiles/strips around the"):
        read_image(tmp_path / "one_strip.tif", region=(0, 0, 10, 10))
    part = read_image(tmp_path / "one_strip.tif", region=(0, 0, 10, 10), allow_huge=True)
    np.testing.assert_array_equal(part.pixels, values[:10, :10])


def test_window_of_a_30000_by_20000_orthomosaic_costs_only_the_window(
    tmp_path: Path, record_property
) -> None:
    """600 MP, refused whole at Pillow's default limit; a 512 px window reads in a few MB."""
    height, width, tile = 20_000, 30_000, 1024
    plain = (np.arange(tile)[None, :] % 251).astype(np.uint8).repeat(tile, axis=0)
    marked = plain.copy()
    marked[100:110, 200:210] = 255  # lies at x = 17 * 1024 + 200, y = 11 * 1024 + 100
    plain_z, marked_z = zlib.compress(plain.tobytes()), zlib.compress(marked.tobytes())

    def encoded_tiles():  # tifffile writes already-compressed tiles as they are
        for ty in range(-(-height // tile)):
            for tx in range(-(-width // tile)):
                yield marked_z if (ty, tx) == (11, 17) else plain_z

    path = tmp_path / "orthomosaic.tif"
    tifffile.imwrite(
        path,
        encoded_tiles(),
        shape=(height, width),
        dtype=np.uint8,
        tile=(tile, tile),
        compression="zlib",
    )
    assert read_image_size(path) == (height, width)
    with pytest.raises(ImageReadError, match=r"orthomosaic\.tif: .*30000 x 20000 pixels"):
        read_image(path)

    mx, my = 17 * tile + 200, 11 * tile + 100
    tracemalloc.start()
    try:
        part = read_image(path, region=(mx - 300, my - 200, mx + 212, my + 312))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    record_property("peak_traced_bytes", peak)
    assert peak < 16_000_000  # a few tiles, never the 600 MB page
    assert part.full_size == (height, width) and part.size == (512, 512)
    found = np.argwhere(part.pixels == 255)
    ys, xs = found[:, 0] + part.region[1], found[:, 1] + part.region[0]
    marker = (ys >= my) & (ys < my + 10) & (xs >= mx) & (xs < mx + 10)
    assert len(found) == 100 and marker.all()  # the whole marker, at its full-image place
    assert part.pixels[0, 0] == (mx - 300) % tile % 251  # and the ramp around it


def test_second_page_after_a_reduced_page_region_and_pillow_fallback(tmp_path: Path) -> None:
    """Pages are counted without overview levels, for every way a page is decoded."""
    second = _ramp((40, 50), np.uint8)
    with tifffile.TiffWriter(tmp_path / "raw.tif") as tw:
        tw.write(np.zeros((60, 80), np.uint8))
        tw.write(np.ones((30, 40), np.uint8), subfiletype=1)  # overview of page 1
        tw.write(second)  # page 2: uncompressed, memory-mapped for regions
    part = read_image(tmp_path / "raw.tif", page=1, region=(5, 6, 30, 33))
    np.testing.assert_array_equal(part.pixels, second[6:33, 5:30])

    frames = [Image.fromarray(np.zeros((60, 80), np.uint8)), Image.fromarray(second)]
    frames[0].save(
        tmp_path / "lzw.tif", save_all=True, append_images=frames[1:], compression="tiff_lzw"
    )
    loaded = read_image(tmp_path / "lzw.tif", page=1)  # LZW: Pillow decodes it here
    assert (loaded.page, loaded.page_count, loaded.source_format) == (1, 2, "TIFF")
    np.testing.assert_array_equal(loaded.pixels, second)
