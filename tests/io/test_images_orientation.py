"""All 8 EXIF orientations: the marker pixel lands at the same upright place in what is shown,
what SAM gets, the size saved to COCO, and a region read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image, ImageOps

from samlabel.io.images import (
    apply_orientation,
    read_image,
    read_image_size,
    region_to_stored,
    to_display_rgb,
)
from tests.io.images_factory import (
    MARKER,
    exif_with_orientation,
    stored_for,
    upright_rgb,
)

ORIENTATIONS = range(1, 9)


def _marker_is_red_at_its_place(rgb: np.ndarray, tolerance: int = 0) -> None:
    x0, y0, x1, y1 = MARKER
    # The centre of the marker square is red, the pixel left of it is not.
    centre = rgb[(y0 + y1) // 2, (x0 + x1) // 2].astype(int)
    assert centre[0] >= 255 - tolerance and centre[1] <= tolerance, centre
    assert rgb[y0 + 1, x0 - 2, 0] < 100


@pytest.mark.parametrize("orientation", ORIENTATIONS)
def test_numpy_orientation_matches_pillow_exif_transpose(orientation: int) -> None:
    stored = np.random.default_rng(orientation).integers(0, 255, (5, 7, 3), dtype=np.uint8)
    image = Image.fromarray(stored)
    image.info["exif"] = exif_with_orientation(orientation).tobytes()
    expected = np.asarray(ImageOps.exif_transpose(image))
    np.testing.assert_array_equal(apply_orientation(stored, orientation), expected)


@pytest.mark.parametrize("orientation", ORIENTATIONS)
def test_png_with_exif_orientation_reads_upright(tmp_path: Path, orientation: int) -> None:
    upright = upright_rgb()
    path = tmp_path / f"o{orientation}.png"
    stored = stored_for(upright, orientation)
    Image.fromarray(stored).save(path, exif=exif_with_orientation(orientation))

    loaded = read_image(path)
    assert loaded.orientation == orientation
    np.testing.assert_array_equal(loaded.pixels, upright)
    rgb = to_display_rgb(loaded)  # what the canvas shows and the encoder receives
    _marker_is_red_at_its_place(rgb)
    # COCO width/height come from the header and are the upright ones.
    assert read_image_size(path) == upright.shape[:2] == loaded.full_size
    # A region in upright coordinates holds the marker at the same offset.
    part = read_image(path, region=(2, 1, 20, 15))
    np.testing.assert_array_equal(part.pixels, upright[1:15, 2:20])


@pytest.mark.parametrize("orientation", ORIENTATIONS)
def test_phone_jpeg_with_exif_orientation_reads_upright(tmp_path: Path, orientation: int) -> None:
    upright = upright_rgb(48, 64)
    path = tmp_path / f"photo {orientation}.JPG"
    Image.fromarray(stored_for(upright, orientation)).save(
        path, quality=98, subsampling=0, exif=exif_with_orientation(orientation)
    )
    loaded = read_image(path)
    assert loaded.size == read_image_size(path) == (48, 64)
    _marker_is_red_at_its_place(to_display_rgb(loaded), tolerance=40)
    with Image.open(path) as im:  # same decoder, so exactly Pillow's own result
        np.testing.assert_array_equal(loaded.pixels, np.asarray(ImageOps.exif_transpose(im)))


@pytest.mark.parametrize("orientation", ORIENTATIONS)
def test_tiled_tiff_orientation_tag_and_region_reads(tmp_path: Path, orientation: int) -> None:
    upright = upright_rgb(70, 90)
    path = tmp_path / "tagged.tif"
    tifffile.imwrite(
        path,
        stored_for(upright, orientation),
        photometric="rgb",
        tile=(16, 16),
        compression="zlib",
        extratags=[(274, "H", 1, orientation, True)],
    )
    assert read_image_size(path) == (70, 90)
    np.testing.assert_array_equal(read_image(path).pixels, upright)
    for region in [(0, 0, 90, 70), (3, 5, 40, 66), (50, 17, 90, 18), (89, 69, 90, 70)]:
        x0, y0, x1, y1 = region
        part = read_image(path, region=region)
        assert part.region == region and part.full_size == (70, 90)
        np.testing.assert_array_equal(part.pixels, upright[y0:y1, x0:x1])


@pytest.mark.parametrize("orientation", ORIENTATIONS)
def test_region_to_stored_is_consistent(orientation: int) -> None:
    stored = np.arange(6 * 9).reshape(6, 9)
    upright = apply_orientation(stored, orientation)
    x0, y0, x1, y1 = 1, 2, 4, 5
    sx0, sy0, sx1, sy1 = region_to_stored((x0, y0, x1, y1), stored.shape, orientation)
    np.testing.assert_array_equal(
        apply_orientation(stored[sy0:sy1, sx0:sx1], orientation), upright[y0:y1, x0:x1]
    )
