"""Frame records (``ct#012``) next to plain images: neither taken for missing or unreadable
files while their stack is there."""

from __future__ import annotations

from pathlib import Path

from samlabel.core.document import Document
from samlabel.core.stack_frames import add_stack_frames
from samlabel.core.sync import sync_images
from samlabel.io.image_record import check_image_file
from tests.io.stacks.factory import write_dicom_series


def test_sync_counts_frames_of_a_present_stack_as_present_and_of_a_gone_one_as_missing() -> None:
    document = Document()
    add_stack_frames(document, "ct", 3, 12, 16)
    add_stack_frames(document, "old", 2, 12, 16)
    document.add_images([("a.png", 16, 12)], undoable=False)
    report = sync_images(document, ["a.png"], lambda name: (12, 16), stacks=["ct"])
    assert [r.file_name for r in report.missing] == ["old#000", "old#001"]
    assert not report.added
    # Without the stack named, its frames are missing too (never added as files).
    report = sync_images(document, ["a.png"], lambda name: (12, 16))
    assert len(report.missing) == 5 and not report.added


def test_a_frame_record_is_checked_against_its_stacks_frame_size(tmp_path: Path) -> None:
    write_dicom_series(tmp_path / "ct", count=3, size=(12, 16))
    document = Document()
    same = add_stack_frames(document, "ct", 3, 12, 16)[1]
    assert check_image_file(document, same.id, tmp_path) is None
    other = Document()
    wrong = add_stack_frames(other, "ct", 3, 10, 16)[2]
    change = check_image_file(other, wrong.id, tmp_path)
    assert change is not None and change.on_disk == (12, 16) and change.file_name == "ct#002"
