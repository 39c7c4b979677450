"""A DICOM series folder opens as one volume in anatomical order, in modality units."""

from __future__ import annotations

import numpy as np
import pytest

from samlabel.io.images import to_display_rgb
from samlabel.io.stacks import DicomSeries, open_stack, stack_kind
from tests.io.stacks.factory import slice_pixels, write_dicom_series


def test_shuffled_file_names_open_in_anatomical_order(tmp_path):
    # File names and InstanceNumbers are a random permutation: only the positions tell.
    paths = write_dicom_series(tmp_path / "ct", count=7, shuffle=True)
    assert sorted(p.name for p in paths) != [p.name for p in paths]
    stack = open_stack(tmp_path / "ct", root=tmp_path)
    assert isinstance(stack, DicomSeries)
    assert (len(stack), stack.frame_size, stack.uri) == (7, (12, 16), "ct")
    for k in range(7):
        assert stack.slice_path(k) == paths[k]
        # Hounsfield units: stored value x slope + intercept.
        np.testing.assert_array_equal(stack.frame(k), slice_pixels(k) - 1024.0)
    assert stack.frame(0).dtype == np.float32
    assert stack.notes == []


def test_order_follows_the_slice_normal_of_an_oblique_sagittal_series(tmp_path):
    # Sagittal: rows along -z, columns along y; the normal is x. Positions differ in x only.
    orientation = (0, 1, 0, 0, 0, -1)
    write_dicom_series(tmp_path / "sag", count=5, orientation=orientation, seed=11)
    stack = open_stack(tmp_path / "sag")
    values = [int(stack.frame(k)[0, 0]) for k in range(5)]
    assert values == [100 * k - 1024 for k in range(5)]


def test_affine_maps_column_row_slice_to_ras_millimetres(tmp_path):
    write_dicom_series(tmp_path / "ct", count=4, spacing=2.5, origin_z=-40.0)
    stack = open_stack(tmp_path / "ct")
    # First voxel at LPS (-20, -30, -40): RAS (20, 30, -40). Columns step 0.75 mm along L,
    # rows 0.5 mm along P, slices 2.5 mm superior.
    col, row, k = 3, 2, 1
    world = stack.affine @ np.array([col, row, k, 1.0])
    np.testing.assert_allclose(world[:3], [20 - 0.75 * col, 30 - 0.5 * row, -40 + 2.5 * k])
    assert stack.spacing == pytest.approx((0.75, 0.5, 2.5))


def test_one_window_for_the_whole_volume(tmp_path):
    write_dicom_series(tmp_path / "ct", count=6)
    stack = open_stack(tmp_path / "ct")
    window = stack.default_window
    # Frames 0 and 5 differ by 500 HU: one window spans both, so they show differently.
    assert window.low <= -1024 + 10 and window.high >= 500 - 1024 + 150
    first = to_display_rgb(stack.loaded(0))
    last = to_display_rgb(stack.loaded(5))
    assert first.mean() < last.mean()


def test_a_folder_with_two_series_shows_the_larger_and_says_so(tmp_path):
    write_dicom_series(tmp_path / "mixed", count=5, series_uid="1.2.3.4", seed=1)
    other = write_dicom_series(tmp_path / "other", count=2, series_uid="1.2.3.9", seed=2)
    for path in other:
        path.rename(tmp_path / "mixed" / f"X{path.name}")
    assert stack_kind(tmp_path / "mixed") == "dicom-series"
    stack = open_stack(tmp_path / "mixed")
    assert len(stack) == 5
    assert len(stack.notes) == 1
    assert "2 DICOM series" in stack.notes[0] and "1.2.3.4" in stack.notes[0]


def test_monochrome1_and_the_files_own_window_apply_to_every_slice(tmp_path):
    write_dicom_series(tmp_path / "cr", count=3, photometric="MONOCHROME1", window=(-900, 200))
    stack = open_stack(tmp_path / "cr")
    assert stack.inverted
    assert (stack.default_window.low, stack.default_window.high) == (-1000, -800)
    # Pixel 0 of frame k is 100 k - 1024 HU: -1024 (below the window), -924, -824; the same
    # window maps them to 0, 97, 224, inverted after windowing to 255, 158, 31.
    shown = [int(to_display_rgb(stack.loaded(k))[0, 0, 0]) for k in range(3)]
    assert shown == [255, 158, 31]
