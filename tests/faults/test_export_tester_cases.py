"""More ways an export could lose or misplace labels, tried as a hostile tester would."""

from __future__ import annotations

import subprocess
import sys

import pytest

from samlabel.cli import main
from samlabel.core.document import Document
from samlabel.core.masks import empty_mask
from samlabel.io.coco import save_coco


def _file(tmp_path, names: list[str]):
    doc = Document()
    doc.add_images([(name, 6, 6) for name in names])
    doc.add_category("c")
    for image in doc.images:
        mask = empty_mask(6, 6)
        mask[1:3, 1:3] = True
        doc.add_annotation(image.id, 1, mask)
    path = tmp_path / "annotations.json"
    save_coco(doc, path)
    return path


def test_names_that_climb_out_of_the_folder_stay_inside_the_export(tmp_path, capsys):
    path = _file(tmp_path, ["../../escape.png", "/abs/x.png", "..", "sub/./y.png"])
    out = tmp_path / "deep" / "out"
    assert main(["export", str(path), "--format", "yolo", "--out", str(out)]) == 0
    written = sorted(str(p.relative_to(out)) for p in (out / "labels").rglob("*.txt"))
    assert written == [
        "labels/abs/x.txt",
        "labels/escape.txt",
        "labels/image-3.txt",
        "labels/sub/y.txt",
    ]
    assert not (tmp_path / "escape.txt").exists()
    assert "Wrote 4 label files" in capsys.readouterr().out


def test_export_onto_an_existing_file_is_a_sentence_and_the_file_is_kept(tmp_path, capsys):
    path = _file(tmp_path, ["a.png"])
    out = tmp_path / "out"
    out.write_text("not a folder")
    assert main(["export", str(path), "--format", "png", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert str(out) in err and "not a folder" in err and "Traceback" not in err
    assert out.read_text() == "not a folder"


def test_exporting_twice_replaces_labels_of_images_no_longer_there(tmp_path):
    out = tmp_path / "out"
    first = _file(tmp_path, ["a.png", "b.png"])
    assert main(["export", str(first), "--format", "yolo", "--out", str(out)]) == 0
    second = _file(tmp_path, ["a.png"])
    assert main(["export", str(second), "--format", "yolo", "--out", str(out)]) == 0
    assert sorted(p.name for p in (out / "labels").iterdir()) == ["a.txt"]  # no stale b.txt


@pytest.fixture
def tiny_disk(tmp_path):
    """A 96 KiB tmpfs (skipped where mounting is not allowed)."""
    mountpoint = tmp_path / "disk"
    mountpoint.mkdir()
    if (
        sys.platform != "linux"
        or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=96k", "tmpfs", str(mountpoint)],
            capture_output=True,
        ).returncode
    ):
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=True)


@pytest.mark.parametrize("kind", ["yolo", "png"])
def test_a_full_disk_mid_export_is_a_sentence_and_the_previous_export_stays(
    tmp_path, tiny_disk, capsys, kind
):
    out = tiny_disk / "out"
    small = _file(tmp_path, ["a.png"])
    assert main(["export", str(small), "--format", kind, "--out", str(out)]) == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    big = _file(tmp_path, [f"img_{n:04d}_{'x' * 100}.png" for n in range(400)])
    assert main(["export", str(big), "--format", kind, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert str(out) in err and "nothing in it was changed" in err and "Traceback" not in err
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert not list(tiny_disk.glob(".out.*.partial"))
