"""Broken and hostile files: each fails alone, loudly, with a sentence naming it."""

from __future__ import annotations

import struct
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from samlabel.core.errors import ImageReadError
from samlabel.io.images import list_images, read_image, read_image_size
from tests.io.images_factory import upright_rgb


def _png_bytes(width: int, height: int) -> bytes:
    path_data = upright_rgb(height, width)
    from io import BytesIO

    buffer = BytesIO()
    Image.fromarray(path_data).save(buffer, format="PNG")
    return buffer.getvalue()


def _claim_png_size(data: bytes, width: int, height: int) -> bytes:
    """Rewrite the IHDR size (with a valid CRC): a decompression bomb's header."""
    ihdr = b"IHDR" + struct.pack(">II", width, height) + data[24:29]
    return data[:12] + ihdr + struct.pack(">I", zlib.crc32(ihdr)) + data[33:]


def test_zero_byte_file(tmp_path: Path) -> None:
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(ImageReadError, match=r"empty\.jpg: the file is empty \(0 bytes\)\."):
        read_image(tmp_path / "empty.jpg")


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(ImageReadError, match=r"gone\.png: the file does not exist\."):
        read_image(tmp_path / "gone.png")
    (tmp_path / "dir.png").mkdir()
    with pytest.raises(ImageReadError, match=r"dir\.png: it is a folder"):
        read_image_size(tmp_path / "dir.png")


def test_text_file_named_like_an_image(tmp_path: Path) -> None:
    (tmp_path / "notes.png").write_text("this is not an image\n")
    with pytest.raises(ImageReadError, match=r"notes\.png: its content is not a .* image"):
        read_image(tmp_path / "notes.png")


def test_name_too_long_for_the_file_system(tmp_path: Path) -> None:
    path = tmp_path / ("n" * 300 + ".png")
    with pytest.raises(ImageReadError, match=r"path is too long") as caught:
        read_image(path)
    assert caught.value.path == path


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_truncated_files_fail_instead_of_showing_grey(tmp_path: Path, fmt: str) -> None:
    noise = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    path = tmp_path / f"cut.{fmt.lower()}"
    Image.fromarray(noise).save(path, format=fmt)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(ImageReadError, match=rf"cut\.{fmt.lower()}: .*(damaged|truncated)"):
        read_image(path)


@pytest.mark.parametrize("compression", [None, "zlib"])
def test_truncated_tiff(tmp_path: Path, compression: str | None) -> None:
    noise = np.random.default_rng(0).integers(0, 65535, (64, 64), dtype=np.uint16)
    path = tmp_path / "cut.tif"
    tifffile.imwrite(path, noise, compression=compression, rowsperstrip=8)
    with tifffile.TiffFile(path) as tf:
        cut_at = tf.pages[0].dataoffsets[3]  # keeps the tags and three of eight strips
    path.write_bytes(path.read_bytes()[:cut_at])
    with pytest.raises(ImageReadError, match=r"cut\.tif: the file is truncated"):
        read_image(path)
    with pytest.raises(ImageReadError, match=r"cut\.tif: the file is truncated"):
        read_image(path, region=(0, 0, 8, 8))  # even where the region's strips are intact


def test_corrupt_compressed_tiff_strip(tmp_path: Path) -> None:
    noise = np.random.default_rng(0).integers(0, 65535, (64, 64), dtype=np.uint16)
    path = tmp_path / "bad.tif"
    tifffile.imwrite(path, noise, compression="zlib", rowsperstrip=8)
    with tifffile.TiffFile(path) as tf:
        offset = tf.pages[0].dataoffsets[2]
    data = bytearray(path.read_bytes())
    data[offset : offset + 40] = b"\x00" * 40
    path.write_bytes(bytes(data))
    with pytest.raises(ImageReadError, match=r"bad\.tif: the TIFF data is damaged"):
        read_image(path)


def test_giant_png_header_is_refused_before_allocating(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(_claim_png_size(_png_bytes(8, 8), 100_000, 100_000))
    tracemalloc.start()
    try:
        with pytest.raises(ImageReadError, match=r"bomb\.png: .*100000 x 100000 pixels.*limit"):
            read_image(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000
    assert read_image_size(path) == (100_000, 100_000)  # the header alone is fine to report


def test_giant_jpeg_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.jpg"
    Image.fromarray(upright_rgb(8, 8)).save(path, quality=90)
    data = bytearray(path.read_bytes())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 60_000, 60_000)
    path.write_bytes(bytes(data))
    with pytest.raises(ImageReadError, match=r"bomb\.jpg: .*60000 x 60000 pixels"):
        read_image(path)


def test_giant_tiff_header_is_refused_before_allocating(tmp_path: Path) -> None:
    path = tmp_path / "bomb.tif"
    tifffile.imwrite(path, np.zeros((4, 4), np.uint8))
    with tifffile.TiffFile(path) as tf:
        tags = tf.pages[0].tags
        patches = [(tags[256].valueoffset, 200_000), (tags[257].valueoffset, 200_000)]
        kinds = [tags[256].dtype, tags[257].dtype]
    data = bytearray(path.read_bytes())
    for (offset, value), kind in zip(patches, kinds, strict=True):
        fmt = "<I" if int(kind) == 4 else "<H"
        data[offset : offset + struct.calcsize(fmt)] = struct.pack(fmt, min(value, 65535))
    path.write_bytes(bytes(data))
    tracemalloc.start()
    try:
        with pytest.raises(ImageReadError, match=r"bomb\.tif: .*pixels.*limit"):
            read_image(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000


def test_page_out_of_range(tmp_path: Path) -> None:
    Image.fromarray(upright_rgb()).save(tmp_path / "one.png")
    with pytest.raises(ImageReadError, match=r"page 2 of .*one\.png: it has 1 page"):
        read_image(tmp_path / "one.png", page=1)


def test_one_bad_file_does_not_stop_the_folder(tmp_path: Path) -> None:
    Image.fromarray(upright_rgb()).save(tmp_path / "img1.png")
    (tmp_path / "img2.jpg").write_bytes(b"")
    (tmp_path / "img3.png").write_bytes(b"<html>404</html>")
    Image.fromarray(upright_rgb()).save(tmp_path / "img10.png")
    loaded, failed = [], []
    for path in list_images(tmp_path):
        try:
            loaded.append(read_image(path).path.name)
        except ImageReadError as err:
            failed.append(str(err))
    assert loaded == ["img1.png", "img10.png"]
    assert len(failed) == 2 and "img2.jpg" in failed[0] and "img3.png" in failed[1]
    assert all(message.endswith(".") and "\n" not in message for message in failed)
