"""Damaged or odd stacks: one sentence naming the file and the problem; what can be read
safely stays usable, and what was left out is said in ``notes``."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from samlabel.core.errors import ImageReadError
from samlabel.io.stacks import open_stack
from tests.io.stacks.factory import (
    read_index,
    slice_pixels,
    write_dicom_series,
    write_nifti,
    write_video,
)


def _one_sentence(error: ImageReadError, name: str) -> str:
    text = str(error)
    assert name in text and "\n" not in text and "Traceback" not in text
    return text


def test_missing_slices_are_reported_and_the_rest_shown_in_order(tmp_path):
    write_dicom_series(tmp_path / "ct", count=8, skip=(3, 4))
    stack = open_stack(tmp_path / "ct")
    assert len(stack) == 6
    assert [int(stack.frame(k)[0, 0]) + 1024 for k in range(6)] == [0, 100, 200, 500, 600, 700]
    assert len(stack.notes) == 1
    assert "about 2 slice(s) are missing between positions -35.0 mm and -27.5 mm" in stack.notes[0]


def test_a_slice_of_another_size_is_left_out_and_named(tmp_path):
    paths = write_dicom_series(tmp_path / "ct", count=5, series_uid="1.2.3", seed=1)
    odd = write_dicom_series(tmp_path / "odd", count=1, size=(20, 20), series_uid="1.2.3")[0]
    odd = odd.rename(tmp_path / "ct" / "ODD1")
    stack = open_stack(tmp_path / "ct")
    assert len(stack) == 5 and stack.frame_size == (12, 16)
    assert [stack.slice_path(k) for k in range(5)] == paths
    assert "1 slice(s) are not 16x12 pixels" in stack.notes[0] and "ODD1" in stack.notes[0]


def test_a_damaged_slice_fails_alone_naming_its_file(tmp_path):
    paths = write_dicom_series(tmp_path / "ct", count=4)
    paths[2].write_bytes(paths[2].read_bytes()[:-200])  # pixel data cut short
    stack = open_stack(tmp_path / "ct")
    with pytest.raises(ImageReadError) as caught:
        stack.frame(2)
    _one_sentence(caught.value, paths[2].name)
    np.testing.assert_array_equal(stack.frame(3), slice_pixels(3) - 1024.0)


def test_a_truncated_video_keeps_the_frames_before_the_cut(tmp_path):
    path = write_video(tmp_path / "clip.avi", 100, "MJPG")
    path.write_bytes(path.read_bytes()[: int(path.stat().st_size * 0.6)])
    with open_stack(path) as stack:
        assert 40 <= len(stack) < 100
        assert "can be decoded (the file is probably truncated)" in stack.notes[0]
        for k in [*range(len(stack)), 5, len(stack) - 1, 0]:
            assert read_index(stack.frame(k)) == k
        with pytest.raises(ImageReadError) as caught:
            stack.frame(len(stack))
        _one_sentence(caught.value, "clip.avi")


def test_an_mp4_cut_before_its_index_is_refused_in_a_sentence(tmp_path):
    path = write_video(tmp_path / "clip.mp4", 50)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ImageReadError) as caught:
        open_stack(path)
    _one_sentence(caught.value, "clip.mp4")


def test_a_4d_nifti_is_refused_and_a_4d_file_of_one_volume_opens(tmp_path):
    path = write_nifti(tmp_path / "fmri.nii.gz", np.zeros((8, 8, 4, 3), dtype=np.int16))
    with pytest.raises(ImageReadError) as caught:
        open_stack(path)
    text = _one_sentence(caught.value, "fmri.nii.gz")
    assert "4-D" in text and "8x8x4x3" in text
    single = write_nifti(tmp_path / "one.nii", np.ones((8, 6, 4, 1), dtype=np.int16))
    stack = open_stack(single)
    assert (len(stack), stack.frame_size) == (4, (6, 8))
    assert stack.frame(3).shape == (6, 8)


def test_a_truncated_gzipped_nifti_is_refused_in_a_sentence(tmp_path):
    path = write_nifti(tmp_path / "v.nii.gz", np.arange(4096, dtype=np.int16).reshape(16, 16, 16))
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ImageReadError) as caught:
        open_stack(path)
    _one_sentence(caught.value, "v.nii.gz")


def test_tiff_pages_of_another_size_are_left_out(tmp_path):
    path = tmp_path / "mixed.tif"
    with tifffile.TiffWriter(path) as tw:
        for k, shape in enumerate([(12, 16), (12, 16), (6, 8), (12, 16)]):
            tw.write(np.full(shape, k, dtype=np.uint16), photometric="minisblack")
    with open_stack(path) as stack:
        assert len(stack) == 3
        assert [int(stack.frame(k)[0, 0]) for k in range(3)] == [0, 1, 3]
        assert "1 page(s) are not 16x12 pixels like the first" in stack.notes[0]
        assert "pages 2," in stack.notes[0] or "pages 2 " in stack.notes[0]


@pytest.mark.parametrize("name", ["nothing-here", "photo.png"])
def test_what_is_not_a_stack_is_said_in_a_sentence(tmp_path, name):
    if name.endswith(".png"):
        (tmp_path / name).write_bytes(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(ImageReadError) as caught:
        open_stack(tmp_path / name)
    _one_sentence(caught.value, name)


def test_slices_without_positions_are_ordered_by_instance_number_and_it_is_said(tmp_path):
    import pydicom

    paths = write_dicom_series(tmp_path / "ct", count=5, shuffle=True, seed=4)
    for path in paths:
        ds = pydicom.dcmread(path)
        del ds.ImagePositionPatient
        ds.save_as(path)
    stack = open_stack(tmp_path / "ct")
    numbers = [int(pydicom.dcmread(stack.slice_path(k)).InstanceNumber) for k in range(5)]
    assert numbers == sorted(numbers)
    assert stack.affine is None
    assert "ordered by InstanceNumber" in stack.notes[0]


def test_a_missing_path_of_a_given_kind_is_said_in_a_sentence(tmp_path):
    for kind in ("dicom-series", "frames", "tiff", "nifti", "video"):
        with pytest.raises(ImageReadError) as caught:
            open_stack(tmp_path / "gone", kind=kind)
        _one_sentence(caught.value, "gone")


def test_each_frame_names_the_file_and_place_that_hold_it(tmp_path):
    # What an embedding cache keys on: a slice left out of a series must not shift the others.
    paths = write_dicom_series(tmp_path / "ct", count=4, skip=(1,))
    stack = open_stack(tmp_path / "ct")
    assert [stack.frame_file(k) for k in range(3)] == [(p, 0) for p in paths]
    path = tmp_path / "mixed.tif"
    with tifffile.TiffWriter(path) as tw:
        for shape in [(12, 16), (6, 8), (12, 16)]:
            tw.write(np.zeros(shape, dtype=np.uint16), photometric="minisblack")
    with open_stack(path) as tiff:
        assert [tiff.frame_file(k) for k in range(2)] == [(path, 0), (path, 2)]
    video = write_video(tmp_path / "v.avi", 3, "MJPG")
    with open_stack(video) as clip:
        assert clip.frame_file(2) == (video, 2)
