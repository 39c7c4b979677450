"""Multi-page TIFFs and NIfTI volumes as stacks: pages and slices read on demand."""

from __future__ import annotations

import numpy as np
import pytest

from samlabel.io.stacks import NiftiStack, TiffStack, open_stack, stack_kind
from tests.io.stacks.factory import slice_pixels, write_multipage_tiff, write_nifti


def test_multipage_tiff_frames_are_its_pages(tmp_path):
    path = write_multipage_tiff(tmp_path / "z.tif", count=9)
    assert stack_kind(path) == "tiff"
    with open_stack(path, root=tmp_path) as stack:
        assert isinstance(stack, TiffStack)
        assert (len(stack), stack.frame_size, stack.uri) == (9, (12, 16), "z.tif")
        assert stack.dtype == np.uint16
        for k in (8, 0, 4):
            np.testing.assert_array_equal(stack.frame(k), slice_pixels(k).astype(np.uint16))
        assert len(stack.cache) == 3  # only the pages asked for were decoded


def test_single_page_tiff_is_not_a_stack(tmp_path):
    assert stack_kind(write_multipage_tiff(tmp_path / "one.tif", count=1)) is None


def _volume(shape=(16, 12, 5)) -> np.ndarray:
    x, y, z = shape
    return np.arange(x * y * z, dtype=np.int16).reshape(shape)


def test_nifti_frames_are_axial_slices_anterior_up_patient_right_on_the_left(tmp_path):
    data = _volume()
    path = write_nifti(tmp_path / "vol.nii", data)  # identity affine: voxel axes are R, A, S
    stack = open_stack(path, root=tmp_path)
    assert isinstance(stack, NiftiStack)
    assert (len(stack), stack.frame_size, stack.uri) == (5, (12, 16), "vol.nii")
    for k in range(5):
        # Row 0 is the most anterior voxel row; column 0 the patient's rightmost voxel.
        expected = data[::-1, ::-1, k].T
        np.testing.assert_array_equal(stack.frame(k), expected)
    # The shown grid's affine puts (column, row, frame) where the file puts the same voxel.
    col, row, k = 3, 5, 2
    world = stack.affine @ [col, row, k, 1]
    np.testing.assert_allclose(world[:3], [16 - 1 - col, 12 - 1 - row, k])


def test_nifti_slices_are_read_through_the_proxy_not_the_whole_volume(tmp_path):
    stack = open_stack(write_nifti(tmp_path / "vol.nii", _volume()))
    stack.frame(3)
    assert not stack._image.in_memory


@pytest.mark.parametrize("name", ["vol.nii", "vol.nii.gz"])
def test_the_same_anatomy_stored_in_another_voxel_order_shows_the_same(tmp_path, name):
    data = _volume()
    reference = open_stack(write_nifti(tmp_path / f"ras-{name}", data))
    # Stored as (S reversed, R, A): voxel (a, b, c) is RAS voxel (b, c, Z - 1 - a).
    z = data.shape[2]
    stored = np.flip(data.transpose(2, 0, 1), axis=0)
    affine = np.array([[0, 1, 0, 0], [0, 0, 1, 0], [-1, 0, 0, z - 1], [0, 0, 0, 1]], float)
    other = open_stack(write_nifti(tmp_path / name, stored, affine))
    assert (len(other), other.frame_size) == (len(reference), reference.frame_size)
    for k in range(len(other)):
        np.testing.assert_array_equal(other.frame(k), reference.frame(k))
    np.testing.assert_allclose(other.affine, reference.affine)


def test_nifti_spacing_comes_from_the_affine(tmp_path):
    affine = np.diag([0.8, 0.8, 3.0, 1.0])
    stack = open_stack(write_nifti(tmp_path / "v.nii.gz", _volume(), affine))
    assert stack.spacing == pytest.approx((0.8, 0.8, 3.0))
    assert stack_kind(tmp_path / "v.nii.gz") == "nifti"


def test_a_gzipped_volume_is_read_from_a_temporary_copy_removed_on_close(tmp_path):
    from samlabel.core.paths import cache_dir

    data = _volume()
    with open_stack(write_nifti(tmp_path / "v.nii.gz", data)) as stack:
        copies = list((cache_dir() / "stacks").glob("*.nii"))
        assert len(copies) == 1
        np.testing.assert_array_equal(stack.frame(4), data[::-1, ::-1, 4].T)
    assert not copies[0].exists()


def test_lzw_pages_tifffile_cannot_decode_here_are_read_by_pillow(tmp_path):
    from PIL import Image

    pages = [Image.fromarray(np.full((12, 16), 40 * k, dtype=np.uint8)) for k in range(4)]
    path = tmp_path / "lzw.tif"
    pages[0].save(path, save_all=True, append_images=pages[1:], compression="tiff_lzw")
    with open_stack(path) as stack:
        assert len(stack) == 4
        assert [int(stack.frame(k)[5, 5]) for k in (3, 0, 2)] == [120, 0, 80]
