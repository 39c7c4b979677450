"""An image replaced on disk by one of another size, seen by the session (issue 12, item 5).

Once, nothing looked at the file when it was opened: the old masks were drawn misaligned and
every accept on the image failed with a ValueError. Now opening the image publishes a lasting
notice naming the file and both sizes, accepts are refused with a sentence (nothing added,
nothing saved) until the user rescales the annotations or sets them aside, and both choices
are undoable.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from samlabel.io.image_record import STALE_FIELD
from samlabel.session.image_size_guard import NOTICE_KEY
from samlabel.session.work import MaskRequest
from tests.qt.fakes import FakePredictor
from tests.session.helpers import Recorder, opened


def _disk(path: Path) -> dict:
    return json.loads(path.read_text("utf-8"))


def _accept_at(session, runner, x: float, y: float):
    session.add_point(x, y, 1)
    runner.run()
    job = session.accept()
    runner.run()
    return job


def _labelled_then_rotated(folder: Path):
    """img_000.png (160x120, W x H) labelled with one mask and saved; then another tool
    rotates it to 120x160 and the session comes back to it."""
    session, runner = opened(folder, FakePredictor())
    assert _accept_at(session, runner, 60, 50) is not None
    assert session.store.save()
    path = folder / "img_000.png"
    Image.open(path).transpose(Image.Transpose.ROTATE_90).save(path)
    session.go_to(1)
    runner.run()
    events = Recorder(session)
    session.go_to(0)
    runner.run()
    return session, runner, events


def _notices(events: Recorder) -> list[tuple]:
    return [entry[1:] for entry in events.seen if entry[0] == "notice" and entry[1] == NOTICE_KEY]


def test_the_change_is_told_and_an_accept_is_refused_until_the_user_chooses(image_folder):
    session, runner, events = _labelled_then_rotated(image_folder)
    path = image_folder / "annotations.json"
    before = path.read_bytes()
    ((_, level, text, offers),) = _notices(events)
    assert level == "warning" and offers == ("rescale", "set_aside")
    assert "img_000.png is now 120×160; its 1 annotation was made on 160×120" in text
    assert "rotated" in text and "not drawn" in text

    events.clear()
    session.add_point(60, 90, 1)
    runner.run()
    assert session.accept() is None
    assert not [r for r in runner.pending() if isinstance(r, MaskRequest)]
    (warning,) = [e[2] for e in events.seen if e[0] == "message" and e[1] == "warning"]
    assert warning.startswith("Not added: img_000.png is now 120×160")
    assert _notices(events)  # the choices are offered again with the refusal
    assert session.prompts.points  # the user's prompts are kept for after the choice
    (old,) = session.document.annotations
    session.edits.select_annotation(old.id)
    events.clear()
    session.edits.brush(np.array([[10.0, 100.0], [20.0, 110.0]]), 4.0, erase=False)
    assert session.document.annotations == (old,)  # a stroke at new-size pixels: refused
    assert any(e[0] == "message" and e[2].startswith("Not added") for e in events.seen)
    assert len(session.document.annotations) == 1
    session.store.save()
    assert path.read_bytes() == before  # nothing was saved
    session.shutdown()


def test_rescaling_makes_the_record_take_the_new_size_and_accepts_work_again(image_folder):
    session, runner, events = _labelled_then_rotated(image_folder)
    (old,) = session.document.annotations
    assert session.sizes.rescale()
    assert session.document.image(session.image_id).size == (160, 120)
    (rescaled,) = session.document.annotations
    assert rescaled.id == old.id and rescaled.rle.size == (160, 120)
    assert _notices(events)[-1][2] == ""  # resolved
    assert _accept_at(session, runner, 60, 90) is not None
    assert session.store.save()
    coco = _disk(image_folder / "annotations.json")
    record = next(i for i in coco["images"] if i["file_name"] == "img_000.png")
    assert (record["width"], record["height"]) == (120, 160)
    assert len(coco["annotations"]) == 2
    assert all(a["segmentation"]["size"] == [160, 120] for a in coco["annotations"])

    events.clear()
    session.undo()  # the accept
    session.undo()  # the rescale: the notice is back, the old mask as it was
    assert session.document.annotations == (old,)
    assert _notices(events)[-1][2].startswith("img_000.png is now 120×160")
    session.shutdown()


def test_setting_them_aside_keeps_them_in_the_file_and_undo_puts_them_back(image_folder):
    session, _runner, events = _labelled_then_rotated(image_folder)
    (old,) = session.document.annotations
    assert session.sizes.set_aside()
    assert not session.document.annotations
    assert _notices(events)[-1][2] == ""
    assert session.store.save()
    coco = _disk(image_folder / "annotations.json")
    record = next(i for i in coco["images"] if i["file_name"] == "img_000.png")
    (stale,) = record[STALE_FIELD]
    assert stale["id"] == old.id and stale["segmentation"]["size"] == [120, 160]
    assert "160x120" in stale["samlabel_stale"]
    assert coco["annotations"] == []
    session.undo()
    assert session.document.annotations == (old,)
    session.shutdown()


def test_an_image_without_annotations_takes_the_new_size_and_says_so(image_folder):
    session, runner = opened(image_folder, FakePredictor())
    path = image_folder / "img_001.png"
    Image.fromarray(np.zeros((50, 70, 3), np.uint8)).save(path)
    events = Recorder(session)
    session.go_to(1)
    runner.run()
    assert session.document.image(session.image_id).size == (50, 70)
    assert not _notices(events)
    infos = [e[2] for e in events.seen if e[0] == "message" and e[1] == "info"]
    assert any("img_001.png is now 70×50 (it was 160×120)" in t for t in infos)
    assert _accept_at(session, runner, 30, 20) is not None
    assert len(session.document.annotations) == 1
    session.shutdown()
