"""Images of extreme proportions and sizes, and odd paths, through the image reader.

SAM scales an image's long side to 1024 px: a 100000 x 10 strip would have a 0 px short
side. Every way in (pixels, header size, the window's overview) refuses it with one sentence
naming the file, its size and the limit; the file itself is never changed.
"""

from __future__ import annotations

import hashlib
import os

import numpy as np
import pytest
import tifffile
from PIL import Image

from samlabel.core.errors import ImageReadError
from samlabel.inference.transforms import preprocess
from samlabel.io.images import read_image, read_image_size, read_overview, to_display_rgb
from samlabel.io.images.model import MAX_ASPECT_RATIO


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _save(path, shape, dtype=np.uint8):
    if path.suffix == ".tif":
        tifffile.imwrite(path, np.zeros(shape, dtype))
    else:
        Image.fromarray(np.zeros(shape, dtype)).save(path)
    return path


@pytest.mark.parametrize(
    ("name", "shape", "size_text"),
    [
        ("strip.png", (10, 100_000), "100000 x 10"),
        ("column.png", (100_000, 10), "10 x 100000"),
        ("strip.tif", (3, 30_000), "30000 x 3"),
        ("line.png", (1, MAX_ASPECT_RATIO + 1), f"{MAX_ASPECT_RATIO + 1} x 1"),
    ],
)
@pytest.mark.parametrize("reader", ["pixels", "header", "overview"])
def test_too_elongated_images_are_refused_naming_file_size_and_limit(
    tmp_path, name, shape, size_text, reader
):
    path = _save(tmp_path / name, shape)
    before = _digest(path)
    read = {
        "pixels": read_image,
        "header": read_image_size,
        "overview": lambda p: read_overview(p, 4096),
    }[reader]
    with pytest.raises(ImageReadError) as caught:
        read(path)
    message = str(caught.value)
    assert str(path) in message and size_text in message and f"{MAX_ASPECT_RATIO}:1" in message
    assert "\n" not in message
    assert _digest(path) == before


@pytest.mark.parametrize(
    "shape", [(1, 1), (2, 2), (1, MAX_ASPECT_RATIO), (MAX_ASPECT_RATIO, 1), (3, 5, 3)]
)
def test_tiny_and_limit_images_are_read_and_preprocessed(tmp_path, shape):
    path = _save(tmp_path / "small.png", shape)
    loaded = read_image(path)
    assert loaded.size == shape[:2] and read_image_size(path) == shape[:2]
    tensor, (h, w) = preprocess(to_display_rgb(loaded))
    assert tensor.shape == (1, 3, 1024, 1024) and min(h, w) >= 1 and max(h, w) == 1024


def test_preprocess_refuses_an_array_it_cannot_scale(tmp_path):
    with pytest.raises(ValueError, match="100000 x 10 image is too elongated"):
        preprocess(np.zeros((10, 100_000, 3), np.uint8))


def test_a_symlink_loop_is_named(tmp_path):
    loop = tmp_path / "loop.png"
    os.symlink(loop, loop)
    for read in (read_image, read_image_size):
        with pytest.raises(ImageReadError) as caught:
            read(loop)
        assert str(loop) in str(caught.value) and "symbolic links" in str(caught.value)


def test_a_pipe_is_not_read_as_an_image(tmp_path):
    pipe = tmp_path / "frame.png"
    os.mkfifo(pipe)
    with pytest.raises(ImageReadError, match="pipe, socket or device") as caught:
        read_image(pipe)  # never blocks waiting for a writer
    assert str(pipe) in str(caught.value)


def test_the_window_reader_refuses_a_strip_before_drawing_it(tmp_path):
    from samlabel.session.source import read_source_image

    strip = _save(tmp_path / "strip.png", (10, 100_000))
    with pytest.raises(ImageReadError, match=r"strip\.png: it is 100000 x 10 pixels"):
        read_source_image(strip)  # was an OpenCV assertion while making its overview
