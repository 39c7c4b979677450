"""Stacks in the session: one row per stack, frames moved through and labelled like images,
per-frame COCO records with one track id per object, reopened on the right frames."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from samlabel.core.stack_frames import stack_frame, track_id_of
from samlabel.inference.embedding_cache import EmbeddingCache
from samlabel.session.stack_items import is_frame_path
from tests.io.stacks.factory import slice_pixels, write_dicom_series, write_nifti
from tests.qt.fakes import FakePredictor
from tests.qt.images import write_images
from tests.session.helpers import accept_at, make_session, opened

SIZE = (40, 48)  # (H, W) of the DICOM slices


@pytest.fixture
def stack_folder(tmp_path: Path) -> Path:
    """Two images, a NIfTI volume of 5 slices and a shuffled 6-slice DICOM series."""
    folder = tmp_path / "study"
    write_images(folder, 2)
    volume = np.stack([slice_pixels(k, 36, 44) for k in range(5)], axis=-1)  # (i, j, k)
    write_nifti(folder / "vol.nii", volume.transpose(1, 0, 2).copy())
    write_dicom_series(folder / "ct", count=6, size=SIZE)
    return folder


def _row(session, name: str) -> int:
    return next(r for r, s in session.images.stacks.items() if s.uri == name)


def test_each_stack_is_one_row_and_its_frames_are_read_in_order(stack_folder: Path) -> None:
    session, runner = opened(stack_folder, FakePredictor())
    names = [p.name for p in session.images.paths]
    assert names == ["ct#000", "img_000.png", "img_001.png", "vol.nii#000"]
    assert {s.uri: s.frames for s in session.images.stacks.values()} == {"ct": 6, "vol.nii": 5}
    assert not session.images.missing  # frame records are not missing files

    session.go_to(_row(session, "ct"))
    session.frames.step(3)
    runner.run()
    assert session.frames.frame == 3 and session.image_record.file_name == "ct#003"
    # Anatomical order, not the shuffled file names: slice 3 holds slice_pixels(3) - 1024.
    np.testing.assert_array_equal(
        session.image.source.loaded.pixels, slice_pixels(3, *SIZE).astype(np.float32) - 1024
    )
    assert session.image.embedding is not None and session.image.status == "ready"
    session.frames.step(99)  # clamped to the last frame
    runner.run()
    assert session.image_record.file_name == "ct#005"
    session.go_to(0)
    session.go_to(_row(session, "ct"))  # the row remembers its frame
    assert session.frames.frame == 5
    session.shutdown()


def test_an_object_labelled_on_two_frames_keeps_one_track_and_reopens(
    stack_folder: Path,
) -> None:
    session, runner = opened(stack_folder, FakePredictor())
    session.go_to(_row(session, "ct"))
    session.frames.go_to_frame(1)
    runner.run()
    accept_at(session, runner, 20, 15)
    session.frames.step(1)
    runner.run()
    accept_at(session, runner, 21, 16)
    accept_at(session, runner, 5, 5)  # a second object on the same frame: a new track
    session.shutdown()

    coco = json.loads((stack_folder / "annotations.json").read_text("utf-8"))
    names = {image["id"]: image["file_name"] for image in coco["images"]}
    tracks = [(names[a["image_id"]], a["track_id"]) for a in coco["annotations"]]
    assert tracks == [("ct#001", 1), ("ct#002", 1), ("ct#002", 2)]
    frame = next(i for i in coco["images"] if i["file_name"] == "ct#002")
    assert frame["samlabel_stack"] == {"uri": "ct", "frame": 2, "frames": 6}
    assert len(coco["images"]) == 2 + 6 + 5

    again, runner = opened(stack_folder, FakePredictor())
    assert not again.images.missing
    by_frame = {
        stack_frame(again.document.image(a.image_id)).frame: track_id_of(a)
        for a in again.document.annotations
        if track_id_of(a) == 1
    }
    assert by_frame == {1: 1, 2: 1}
    again.shutdown()


def test_frames_are_encoded_ahead_and_cached_on_disk_each_under_its_own_key(
    stack_folder: Path, tmp_path: Path
) -> None:
    cache = EmbeddingCache(tmp_path / "cache")

    def walk(predictor: FakePredictor) -> None:
        session, runner = make_session()
        session.set_predictor(predictor, "fake", cache)
        session.open_folder(stack_folder)
        session.go_to(_row(session, "ct"))
        runner.run()
        # What is encoded ahead is the next frames, not the next row's image.
        assert [p.name for p in session.frames.ahead(2)] == ["ct#001", "ct#002"]
        for _ in range(2):
            session.frames.step(1)
            runner.run()
            assert session.image.embedding is not None
        session.shutdown()

    first = FakePredictor()
    walk(first)
    assert len({mean for _, mean in first.encoded}) == 3  # three frames, three embeddings
    assert len(list((tmp_path / "cache").rglob("*.npz"))) == 3
    again = FakePredictor()
    walk(again)  # the next session finds every frame on disk
    assert again.encoded == []


def test_selecting_an_older_objects_mask_continues_its_track(stack_folder: Path) -> None:
    session, runner = opened(stack_folder, FakePredictor())
    session.go_to(_row(session, "vol.nii"))
    accept_at(session, runner, 10, 10)  # track 1
    accept_at(session, runner, 30, 30)  # a second object on the same frame: track 2
    first = next(a for a in session.document.annotations if track_id_of(a) == 1)
    session.edits.select_annotation(first.id)  # e.g. in the layer panel
    session.frames.step(1)
    runner.run()
    accept_at(session, runner, 11, 11)
    accept_at(session, runner, 31, 31)  # track 1 is on this frame now: a new track
    on_frame_1 = [
        track_id_of(a)
        for a in session.document.annotations
        if stack_frame(session.document.image(a.image_id)).frame == 1
    ]
    assert on_frame_1 == [1, 3]
    session.shutdown()


def test_another_folder_forgets_the_stacks_of_the_first(stack_folder: Path, tmp_path) -> None:
    session, runner = opened(stack_folder, FakePredictor())
    frame = session.images.stacks[_row(session, "ct")].frame_path(1)
    assert is_frame_path(frame)
    other = tmp_path / "other"
    write_images(other, 1)
    session.open_folder(other)
    runner.run()
    assert not is_frame_path(frame) and session.image.source is not None
    session.shutdown()
