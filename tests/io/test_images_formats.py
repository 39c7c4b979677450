"""Every everyday format and Pillow mode, converted the same way every time."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from samlabel.io.images import read_image, read_image_size, to_display_rgb
from tests.io.images_factory import upright_rgb


@pytest.fixture
def rgb() -> np.ndarray:
    return upright_rgb(20, 30)


@pytest.mark.parametrize(
    ("name", "fmt", "options"),
    [
        ("a.png", "PNG", {}),
        ("a.bmp", "BMP", {}),
        ("a.webp", "WEBP", {"lossless": True}),
        ("a.tif", "TIFF", {"compression": "tiff_lzw"}),  # LZW: decoded by Pillow here
    ],
)
def test_lossless_rgb_formats_round_trip(
    tmp_path: Path, rgb: np.ndarray, name: str, fmt: str, options: dict
) -> None:
    path = tmp_path / name
    Image.fromarray(rgb).save(path, **options)
    loaded = read_image(path)
    assert loaded.source_format == fmt
    assert loaded.mode.startswith("RGB") and loaded.bit_depth == 8
    assert loaded.default_window is None
    np.testing.assert_array_equal(loaded.pixels, rgb)
    np.testing.assert_array_equal(to_display_rgb(loaded), rgb)
    assert read_image_size(path) == (20, 30)


def test_jpeg_rgb_and_grey(tmp_path: Path, rgb: np.ndarray) -> None:
    Image.fromarray(rgb).save(tmp_path / "c.jpg", quality=95)
    Image.fromarray(rgb[..., 1]).save(tmp_path / "g.jpeg", quality=95)
    colour, grey = read_image(tmp_path / "c.jpg"), read_image(tmp_path / "g.jpeg")
    assert colour.pixels.shape == (20, 30, 3) and colour.source_format == "JPEG"
    assert np.abs(colour.pixels.astype(int) - rgb).mean() < 4
    assert grey.pixels.shape == (20, 30) and grey.mode == "grey 8-bit"
    shown = to_display_rgb(grey)
    assert shown.shape == (20, 30, 3)
    np.testing.assert_array_equal(shown[..., 0], shown[..., 2])


def test_cmyk_jpeg_becomes_rgb_deterministically(tmp_path: Path, rgb: np.ndarray) -> None:
    path = tmp_path / "print.jpg"
    Image.fromarray(rgb).convert("CMYK").save(path, quality=95)
    first, second = read_image(path), read_image(path)
    assert first.mode == "CMYK -> RGB 8-bit"
    np.testing.assert_array_equal(first.pixels, second.pixels)
    assert np.abs(first.pixels.astype(int) - rgb).mean() < 8


def test_one_bit_png_is_black_and_white(tmp_path: Path) -> None:
    bits = np.zeros((6, 8), dtype=bool)
    bits[2:4, 3:7] = True
    Image.fromarray(bits).save(tmp_path / "mask.png")
    loaded = read_image(tmp_path / "mask.png")
    assert loaded.bit_depth == 1 and loaded.pixels.dtype == np.uint8
    np.testing.assert_array_equal(loaded.pixels, bits * 255)


def test_palette_png_without_and_with_transparency(tmp_path: Path) -> None:
    indices = np.array([[0, 1], [2, 1]], dtype=np.uint8)
    image = Image.fromarray(indices, mode="P")
    image.putpalette([10, 20, 30, 200, 0, 0, 0, 250, 0] + [0] * 759)
    image.save(tmp_path / "p.png")
    image.save(tmp_path / "pt.png", transparency=1)  # index 1 fully transparent

    plain = read_image(tmp_path / "p.png")
    assert plain.pixels.shape == (2, 2, 3) and not plain.has_alpha
    assert plain.pixels[0, 1].tolist() == [200, 0, 0]

    clear = read_image(tmp_path / "pt.png")
    assert clear.has_alpha and clear.pixels.shape == (2, 2, 4)
    assert clear.mode == "P with transparency -> RGBA 8-bit"
    shown = to_display_rgb(clear)  # transparent shows black, the rest unchanged
    assert shown[0, 1].tolist() == [0, 0, 0]
    assert shown[1, 0].tolist() == [0, 250, 0]


def test_rgba_and_la_are_composited_over_black(tmp_path: Path) -> None:
    rgba = np.zeros((1, 3, 4), dtype=np.uint8)
    rgba[0, :, :3] = (200, 100, 50)
    rgba[0, :, 3] = (0, 128, 255)
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    loaded = read_image(tmp_path / "rgba.png")
    assert loaded.mode == "RGBA 8-bit" and loaded.has_alpha
    np.testing.assert_array_equal(loaded.pixels, rgba)
    assert to_display_rgb(loaded)[0].tolist() == [[0, 0, 0], [100, 50, 25], [200, 100, 50]]

    la = Image.fromarray(np.array([[[90, 255], [90, 0]]], dtype=np.uint8), mode="LA")
    la.save(tmp_path / "la.png")
    grey = read_image(tmp_path / "la.png")
    assert grey.mode == "LA -> RGBA 8-bit"
    assert to_display_rgb(grey)[0].tolist() == [[90, 90, 90], [0, 0, 0]]


def test_16_bit_grey_png_keeps_its_values_and_gets_an_automatic_window(tmp_path: Path) -> None:
    values = np.linspace(1000, 5000, 40 * 50).reshape(40, 50).astype(np.uint16)
    Image.fromarray(values).save(tmp_path / "scan.png")
    loaded = read_image(tmp_path / "scan.png")
    assert loaded.pixels.dtype == np.uint16 and loaded.bit_depth == 16
    np.testing.assert_array_equal(loaded.pixels, values)
    window = loaded.default_window
    assert window is not None and 1000 <= window.low < 1100 and 4900 < window.high <= 5000
    shown = to_display_rgb(loaded)
    # The automatic window spreads 1000..5000 over (nearly) the full grey range.
    assert shown[0, 0, 0] == 0 and shown[-1, -1, 0] == 255


def test_16_bit_rgb_png_is_not_cut_to_8_bits(tmp_path: Path) -> None:
    values = np.random.default_rng(3).integers(0, 65536, (9, 11, 3), dtype=np.uint16)
    cv2.imwrite(str(tmp_path / "deep.png"), values[..., ::-1])  # OpenCV writes BGR
    loaded = read_image(tmp_path / "deep.png")
    assert loaded.mode == "RGB 16-bit"
    np.testing.assert_array_equal(loaded.pixels, values)


def test_float_tiff_through_pillow_mode_f(tmp_path: Path) -> None:
    values = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)
    Image.fromarray(values, mode="F").save(tmp_path / "f.tif", compression="tiff_lzw")
    loaded = read_image(tmp_path / "f.tif")
    assert loaded.pixels.dtype == np.float32 and loaded.source_format == "TIFF"
    np.testing.assert_array_equal(loaded.pixels, values)


def test_animated_gif_frames_are_pages(tmp_path: Path) -> None:
    frames = [Image.fromarray(np.full((4, 5), v, dtype=np.uint8)) for v in (10, 120, 240)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    first = read_image(tmp_path / "anim.gif")
    third = read_image(tmp_path / "anim.gif", page=2)
    assert first.page_count == 3 and third.page == 2
    assert to_display_rgb(first)[0, 0, 0] == 10 and to_display_rgb(third)[0, 0, 0] == 240


def test_png_named_jpg_is_read_by_content(tmp_path: Path, rgb: np.ndarray) -> None:
    path = tmp_path / "really_a_png.jpg"
    Image.fromarray(rgb).save(path, format="PNG")
    loaded = read_image(path)
    assert loaded.source_format == "PNG"
    np.testing.assert_array_equal(loaded.pixels, rgb)


def test_unicode_and_very_long_paths(tmp_path: Path, rgb: np.ndarray) -> None:
    folder = tmp_path / ("ünïcødé 画像 " * 8) / ("x" * 200) / ("y" * 200)
    folder.mkdir(parents=True)
    path = folder / "Knöchel röntgen 🦴.png"
    assert len(str(path)) > 500
    Image.fromarray(rgb).save(path)
    np.testing.assert_array_equal(read_image(path).pixels, rgb)
    assert read_image_size(path) == (20, 30)
    deep_rgb = np.zeros((2, 3, 3), dtype=np.uint16)
    cv2.imencode(".png", deep_rgb)[1].tofile(folder / "tiefe 16-bit.png")
    assert read_image(folder / "tiefe 16-bit.png").pixels.dtype == np.uint16


def test_region_of_a_png_is_a_crop(tmp_path: Path, rgb: np.ndarray) -> None:
    Image.fromarray(rgb).save(tmp_path / "a.png")
    part = read_image(tmp_path / "a.png", region=(4, 2, 9, 17))
    assert part.is_region and part.full_size == (20, 30)
    np.testing.assert_array_equal(part.pixels, rgb[2:17, 4:9])
