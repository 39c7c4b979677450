"""Which files of a folder the labelling list offers, in the order a person expects."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from samlabel.io.images import SUPPORTED_EXTENSIONS, list_images, natural_key
from tests.io.images_factory import write_dicom


def _touch(folder: Path, *names: str) -> None:
    for name in names:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")


def test_natural_order_any_case_extensions_and_skips(tmp_path: Path) -> None:
    _touch(
        tmp_path,
        "img10.jpg",
        "img2.JPG",
        "img1.png",
        "Img3.TIFF",
        "scan.dcm",
        "field.webp",
        "annotations.json",
        "annotations.json.tmp",
        "notes.txt",
        ".hidden.png",
        "._img1.png",  # macOS resource-fork companion
        ".thumbs/img0.png",
        "sub/img5.png",
    )
    names = [p.name for p in list_images(tmp_path)]
    assert names == ["field.webp", "img1.png", "img2.JPG", "Img3.TIFF", "img10.jpg", "scan.dcm"]


def test_recursive_listing_keeps_folders_together(tmp_path: Path) -> None:
    _touch(tmp_path, "b/2.png", "b/10.png", "a10/1.png", "a2/1.png", "top.png", ".git/x.png")
    found = [p.relative_to(tmp_path).as_posix() for p in list_images(tmp_path, recursive=True)]
    assert found == ["a2/1.png", "a10/1.png", "b/2.png", "b/10.png", "top.png"]


def test_extensionless_dicom_files_are_listed_other_extensionless_files_not(
    tmp_path: Path,
) -> None:
    write_dicom(tmp_path / "IM00002", np.zeros((2, 2), np.uint16))
    write_dicom(tmp_path / "IM00010", np.zeros((2, 2), np.uint16))
    _touch(tmp_path, "DICOMDIR_README", "LICENSE")
    assert [p.name for p in list_images(tmp_path)] == ["IM00002", "IM00010"]


def test_supported_extensions_are_lower_case_with_dot() -> None:
    assert {".jpg", ".png", ".tif", ".tiff", ".dcm", ".webp", ".bmp"} <= SUPPORTED_EXTENSIONS
    assert all(ext.startswith(".") and ext == ext.lower() for ext in SUPPORTED_EXTENSIONS)


def test_natural_key_orders_numbers_by_value() -> None:
    names = ["frame_100.png", "frame_20.png", "Frame_3.png", "frame_3b.png"]
    ordered = sorted((Path(n) for n in names), key=natural_key)
    assert [p.name for p in ordered] == [
        "Frame_3.png",
        "frame_3b.png",
        "frame_20.png",
        "frame_100.png",
    ]


def test_our_own_mask_export_inside_the_folder_is_not_listed(tmp_path: Path) -> None:
    _touch(
        tmp_path,
        "field/img1.png",
        "field/export/instances/img1.png",
        "field/export/semantic/img1.png",
        "field/export/instances.json",
        "field/export/categories.json",
    )
    found = [p.relative_to(tmp_path).as_posix() for p in list_images(tmp_path, recursive=True)]
    assert found == ["field/img1.png"]
