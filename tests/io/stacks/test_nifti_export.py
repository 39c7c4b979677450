"""A volume's labels exported as NIfTI read back voxel for voxel as the COCO masks, placed on
the source's own voxels (checked through world coordinates, not through our own mapping)."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest

from samlabel.cli import main
from samlabel.core.document import Document
from samlabel.core.stack_frames import add_frame_annotation, add_stack_frames, stack_frame
from samlabel.io.coco import load_coco, save_coco
from samlabel.io.nifti_export import export_nifti
from samlabel.io.stacks import open_stack
from tests.io.stacks.factory import write_dicom_series, write_nifti


def _label(root, uri) -> Document:
    """Two categories and two tracks on a few frames of the stack at ``root / uri``."""
    document = Document()
    liver, lesion = document.add_category("liver").id, document.add_category("lesion").id
    with open_stack(root / uri, root) as stack:
        frames = add_stack_frames(document, stack.uri, len(stack), *stack.frame_size)
        height, width = stack.frame_size
    rng = np.random.default_rng(7)
    for k in (0, 2, 3):
        organ = np.zeros((height, width), dtype=bool, order="F")
        organ[1 + k : 8, 2 : width - 3 - k] = True
        add_frame_annotation(document, frames[k].id, liver, organ, track_id=4)
        spot = np.asfortranarray(rng.random((height, width)) > 0.8)
        add_frame_annotation(document, frames[k].id, lesion, spot, track_id=9, reviewed=False)
    save_coco(document, root / "annotations.json")
    return load_coco(root / "annotations.json").document


def _expected(document: Document, by: str) -> dict[int, np.ndarray]:
    """Frame -> (H, W) expected label plane, from the COCO masks (later drawn wins)."""
    planes = {}
    for image in document.images:
        plane = np.zeros(image.size, dtype=np.int64)
        for annotation in document.annotations_for_image(image.id):
            value = (
                [c.id for c in document.categories].index(annotation.category_id) + 1
                if by == "category"
                else annotation.extra["track_id"]
            )
            plane[annotation.rle.decode()] = value
        planes[stack_frame(image).frame] = plane
    return planes


def _check_voxels(written: nib.Nifti1Image, stack, planes: dict[int, np.ndarray]) -> None:
    """Every voxel of the written map, taken to world and back to (column, row, frame) of the
    stack as shown, holds the label of that pixel in the COCO masks."""
    data = np.asarray(written.dataobj)
    assert data.ndim == 3
    ijk = np.indices(data.shape).reshape(3, -1)
    world = written.affine @ np.vstack([ijk, np.ones(ijk.shape[1])])
    crf = np.rint(np.linalg.inv(stack.affine) @ world)[:3].astype(int)
    height, width = stack.frame_size
    assert crf.min() >= 0 and (crf.max(axis=1) < [width, height, len(stack)]).all()
    expected = np.array([planes[k][r, c] for c, r, k in crf.T])
    np.testing.assert_array_equal(data.reshape(-1), expected)
    assert np.count_nonzero(expected) > 20


def test_dicom_series_labels_export_voxel_for_voxel(tmp_path):
    write_dicom_series(tmp_path / "ct", count=5, shuffle=True)
    document = _label(tmp_path, "ct")
    out = tmp_path / "nifti"
    assert (
        main(["export", str(tmp_path / "annotations.json"), "--format", "nifti", "--out", str(out)])
        == 0
    )
    written = nib.load(out / "ct-labels.nii.gz")
    assert written.get_data_dtype() == np.uint8
    with open_stack(tmp_path / "ct", tmp_path) as stack:
        np.testing.assert_allclose(written.affine, stack.affine, atol=1e-4)
        assert written.header["sform_code"] == 1
        _check_voxels(written, stack, _expected(document, "category"))
    legend = json.loads((out / "labels.json").read_text())
    assert legend["files"] == {"ct": "ct-labels.nii.gz"}
    assert [e["name"] for e in legend["legend"]] == ["background", "liver", "lesion"]


@pytest.mark.parametrize("by", ["category", "track"])
def test_nifti_source_labels_land_on_the_source_grid(tmp_path, by):
    # A volume stored in an unusual voxel order (S reversed, R, A) with 0.8/0.8/3 mm voxels.
    data = np.arange(5 * 16 * 12, dtype=np.int16).reshape(5, 16, 12)
    affine = np.array([[0, 0.8, 0, -10], [0, 0, 0.8, 5], [-3.0, 0, 0, 40], [0, 0, 0, 1]])
    write_nifti(tmp_path / "mr.nii.gz", data, affine)
    document = _label(tmp_path, "mr.nii.gz")
    out = tmp_path / "nifti"
    argv = ["export", str(tmp_path / "annotations.json"), "--format", "nifti", "--out", str(out)]
    assert main([*argv, "--nifti-values", by]) == 0
    written = nib.load(out / "mr-labels.nii.gz")
    source = nib.load(tmp_path / "mr.nii.gz")
    assert written.shape == source.shape
    np.testing.assert_allclose(written.affine, source.affine)
    with open_stack(tmp_path / "mr.nii.gz", tmp_path) as stack:
        _check_voxels(written, stack, _expected(document, by))
    if by == "track":
        assert set(np.unique(np.asarray(written.dataobj))) == {0, 4, 9}


def test_a_missing_source_is_named_and_the_command_fails(tmp_path, capsys):
    write_dicom_series(tmp_path / "ct", count=4)
    _label(tmp_path, "ct")
    for path in (tmp_path / "ct").iterdir():
        path.unlink()
    (tmp_path / "ct").rmdir()
    out = tmp_path / "nifti"
    assert (
        main(["export", str(tmp_path / "annotations.json"), "--format", "nifti", "--out", str(out)])
        == 1
    )
    said = capsys.readouterr().out
    assert "Wrote 0 NIfTI label maps" in said and "ct was left out" in said


def test_a_stack_without_geometry_exports_on_one_millimetre_voxels(tmp_path):
    from tests.io.stacks.factory import write_png_frames

    write_png_frames(tmp_path / "seq", 4)
    document = _label(tmp_path, "seq")
    result = export_nifti(document, tmp_path, tmp_path / "out")
    assert result.skipped == [] and result.written == [tmp_path / "out" / "seq-labels.nii.gz"]
    written = nib.load(result.written[0])
    np.testing.assert_array_equal(written.affine, np.eye(4))
    data = np.asarray(written.dataobj)
    assert data.shape == (96, 48, 4)  # (column, row, frame)
    planes = _expected(document, "category")
    for k in range(4):
        np.testing.assert_array_equal(data[:, :, k].T, planes[k])
