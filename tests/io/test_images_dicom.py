"""DICOM as radiology exports it: rescaled CT, MONOCHROME1, the file's window, multi-frame."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset

from samlabel.core.errors import ImageReadError
from samlabel.core.windowing import Window
from samlabel.io.images import read_image, read_image_size, to_display_rgb
from tests.io.images_factory import write_dicom


def test_ct_values_are_rescaled_and_the_file_window_is_the_default(tmp_path: Path) -> None:
    stored = np.array([[0, 1024, 1064], [1264, 2024, 4095]], dtype=np.uint16)
    path = write_dicom(
        tmp_path / "ct.dcm", stored, bits_stored=12, slope=1, intercept=-1024, window=(40, 400)
    )
    loaded = read_image(path)
    assert loaded.source_format == "DICOM" and loaded.bit_depth == 12
    assert loaded.pixels.dtype == np.float32
    np.testing.assert_array_equal(loaded.pixels, stored.astype(np.float32) - 1024)  # HU
    assert loaded.default_window == Window(-160, 240)
    shown = to_display_rgb(loaded)[..., 0]
    # air black, water (0 HU) and +40 HU inside the soft-tissue window, bone white
    assert shown.tolist() == [[0, 102, 128], [255, 255, 255]]


def test_slope_is_applied(tmp_path: Path) -> None:
    stored = np.array([[0, 10], [20, 30]], dtype=np.int16)
    path = write_dicom(tmp_path / "pet.dcm", stored, slope=0.5, intercept=2)
    loaded = read_image(path)
    np.testing.assert_allclose(loaded.pixels, stored * 0.5 + 2)
    assert loaded.default_window is not None  # automatic, the file has none


def test_monochrome1_shows_low_values_white_and_keeps_window_meaning(tmp_path: Path) -> None:
    stored = np.array([[0, 500, 1000]], dtype=np.uint16)
    path = write_dicom(tmp_path / "cr.dcm", stored, photometric="MONOCHROME1", window=(500, 1000))
    loaded = read_image(path)
    assert loaded.inverted
    np.testing.assert_array_equal(loaded.pixels, stored)  # values are not rewritten
    assert to_display_rgb(loaded)[0, :, 0].tolist() == [255, 127, 0]
    # A window the user picks applies to the same values and is still shown inverted.
    assert to_display_rgb(loaded, Window(0, 500))[0, :, 0].tolist() == [255, 0, 0]


def test_multi_frame_frames_are_pages(tmp_path: Path) -> None:
    frames = np.stack([np.full((4, 6), 100 * (i + 1), dtype=np.uint16) for i in range(3)])
    path = write_dicom(tmp_path / "cine.dcm", frames)
    last = read_image(path, page=2)
    assert last.page_count == 3 and (last.pixels == 300).all()
    assert read_image_size(path) == (4, 6)
    with pytest.raises(ImageReadError, match=r"frame 4 of .*cine\.dcm"):
        read_image(path, page=3)


def test_rgb_dicom_and_8_bit_grey(tmp_path: Path) -> None:
    rgb = np.random.default_rng(0).integers(0, 255, (5, 7, 3), dtype=np.uint8)
    loaded = read_image(write_dicom(tmp_path / "photo.dcm", rgb, photometric="RGB"))
    np.testing.assert_array_equal(loaded.pixels, rgb)
    assert loaded.default_window is None
    np.testing.assert_array_equal(to_display_rgb(loaded), rgb)

    grey = np.arange(12, dtype=np.uint8).reshape(3, 4)
    small = read_image(write_dicom(tmp_path / "g.dcm", grey))
    assert small.pixels.dtype == np.uint8 and small.default_window is None


def test_dicom_without_preamble_or_extension(tmp_path: Path) -> None:
    values = np.arange(12, dtype=np.uint16).reshape(3, 4)
    raw = write_dicom(tmp_path / "old.dcm", values, preamble=False)
    np.testing.assert_array_equal(read_image(raw).pixels, values)
    plain = write_dicom(tmp_path / "IM00001", values)  # series copied from a CD
    assert read_image(plain).source_format == "DICOM"


def test_dicom_without_pixels(tmp_path: Path) -> None:
    path = write_dicom(tmp_path / "sr.dcm", np.zeros((2, 2), np.uint16))
    ds = pydicom.dcmread(path)
    del ds.PixelData
    ds.save_as(path)
    with pytest.raises(ImageReadError, match=r"sr\.dcm: the DICOM file holds no pixel data"):
        read_image(path)


def test_one_frame_of_a_long_cine_reads_only_that_frame(tmp_path: Path) -> None:
    frames = np.arange(60 * 256 * 256, dtype=np.uint32).reshape(60, 256, 256)
    frames = (frames % 4096).astype(np.uint16)  # 7.5 MB of pixel data in the file
    path = write_dicom(tmp_path / "cine.dcm", frames, bits_stored=12)
    tracemalloc.start()
    try:
        frame = read_image(path, page=41)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(frame.pixels, frames[41])
    assert peak < 2_500_000  # one 128 kB frame and its window, not the 7.5 MB series


def test_enhanced_multi_frame_per_frame_rescale_and_shared_window(tmp_path: Path) -> None:
    frames = np.full((2, 3, 4), 100, dtype=np.uint16)
    path = write_dicom(tmp_path / "enhanced.dcm", frames)
    ds = pydicom.dcmread(path)
    per_frame = []
    for slope in (1.0, 2.0):
        transform = Dataset()
        transform.RescaleSlope, transform.RescaleIntercept = slope, -50
        group = Dataset()
        group.PixelValueTransformationSequence = [transform]
        per_frame.append(group)
    ds.PerFrameFunctionalGroupsSequence = per_frame
    voi = Dataset()
    voi.WindowCenter, voi.WindowWidth = 100, 50
    shared = Dataset()
    shared.FrameVOILUTSequence = [voi]
    ds.SharedFunctionalGroupsSequence = [shared]
    ds.save_as(path)

    first, second = read_image(path, page=0), read_image(path, page=1)
    assert (first.pixels == 50).all() and (second.pixels == 150).all()
    assert first.default_window == second.default_window == Window(75, 125)
