"""Propagate in the session: masks carried through a stack as unreviewed annotations of
their track, corrections carried on, cancel between frames, several objects, resuming from
the record beside the annotations file. The engine is a stand-in (tests/session/
propagation_fakes.py); the real SAM 2.1 memory runs in tests/qt/test_propagation_window.py."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from samlabel.core.stack_frames import is_reviewed, track_id_of, unreviewed_frames
from samlabel.session.propagation import record_path
from tests.qt.fakes import FakePredictor
from tests.qt.images import make_image, write_images
from tests.session.helpers import accept_at, opened
from tests.session.propagation_fakes import SHIFT, PropagatingPredictor

FRAMES = 5


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    """A folder with one photo and a 5-frame numbered sequence ``clip/`` of 48 x 64."""
    folder = tmp_path / "study"
    (folder / "clip").mkdir(parents=True)
    for k in range(FRAMES):
        Image.fromarray(make_image(48, 64, k)).save(folder / "clip" / f"frame_{k:03d}.png")
    write_images(folder, 1, (48, 64))
    return folder


def _masks(session, frame: int) -> list:
    """The annotations of frame ``frame`` of the stack (row 0)."""
    image_id = session.images.stacks[0].frame_ids[frame]
    return list(session.document.annotations_for_image(image_id))


def _started(clip: Path, predictor=None):
    session, runner = opened(clip, predictor or PropagatingPredictor())
    assert session.frames.stack is not None and session.frames.frame == 0
    return session, runner


def _propagate(session, stop_after: int | None = None, direction: str | None = None) -> None:
    assert session.propagation.propagate(direction)
    session.propagation.runner.run(stop_after)


def test_propagating_adds_one_unreviewed_mask_per_frame_under_the_track(clip: Path) -> None:
    session, runner = _started(clip)
    accept_at(session, runner, 20, 24)
    (first,) = _masks(session, 0)
    first_mask = session.document.mask(first.id)
    _propagate(session)

    assert not session.propagation.is_running() and session.propagation.progress == (5, 5)
    assert _masks(session, 0) == [first]  # the accepted mask is not touched
    for frame in range(1, FRAMES):
        (annotation,) = _masks(session, frame)
        assert track_id_of(annotation) == track_id_of(first) == 1
        assert not is_reviewed(annotation) and annotation.category_id == first.category_id
        expected = np.roll(first_mask, SHIFT * frame, axis=1)
        assert np.array_equal(session.document.mask(annotation.id), expected)
    assert unreviewed_frames(session.document, "clip") == [1, 2, 3, 4]

    assert session.store.save()
    coco = json.loads((clip / "annotations.json").read_text("utf-8"))
    names = {image["id"]: image["file_name"] for image in coco["images"]}
    saved = sorted(
        (names[a["image_id"]], a["track_id"], a.get("samlabel_reviewed", True))
        for a in coco["annotations"]
    )
    assert saved == [("clip#000", 1, True)] + [(f"clip#00{k}", 1, False) for k in range(1, 5)]
    assert session.propagation.flush_records(10)  # the record is written off this thread
    record = json.loads(record_path(clip / "annotations.json").read_text("utf-8"))
    assert sorted(record["stacks"]["clip"]["tracked"]["1"]) == ["0", "1", "2", "3", "4"]


def test_a_correction_replaces_the_propagated_mask_and_is_carried_on(clip: Path) -> None:
    predictor = PropagatingPredictor()
    session, runner = _started(clip, predictor)
    accept_at(session, runner, 20, 24)
    _propagate(session)
    before = {f: _masks(session, f)[0].id for f in range(FRAMES)}

    session.frames.go_to_frame(2)
    runner.run()
    accept_at(session, runner, 40, 30)  # another place: the correction
    (corrected,) = _masks(session, 2)
    assert is_reviewed(corrected) and track_id_of(corrected) == 1
    corrected_mask = session.document.mask(corrected.id)

    _propagate(session)  # from frame 2, where the correction is
    assert session.propagation.progress == (3, 3)
    for frame in (3, 4):
        (annotation,) = _masks(session, frame)
        assert not is_reviewed(annotation)
        expected = np.roll(corrected_mask, SHIFT * (frame - 2), axis=1)
        assert np.array_equal(session.document.mask(annotation.id), expected), frame
    assert [_masks(session, f)[0].id for f in (0, 1)] == [before[0], before[1]]
    assert _masks(session, 2) == [corrected]
    # One engine: the second run was given only the new conditioning frame.
    (engine,) = predictor.engines
    assert engine.prompted == [(0, 1), (2, 1)]

    session.undo()  # frame 4's propagated mask goes back to the first run's
    (annotation,) = _masks(session, 4)
    assert annotation.id == before[4]


def test_cancel_stops_between_frames_and_keeps_what_arrived(clip: Path) -> None:
    session, runner = _started(clip)
    seen = []
    session.events.message.subscribe(lambda level, text: seen.append(text))
    accept_at(session, runner, 20, 24)
    _propagate(session, stop_after=2)
    assert not session.propagation.is_running()
    assert [len(_masks(session, f)) for f in range(FRAMES)] == [1, 1, 0, 0, 0]
    assert any("cancelled" in text for text in seen)


def test_reviewed_frames_are_never_replaced_and_r_confirms_a_frame(clip: Path) -> None:
    session, runner = _started(clip)
    accept_at(session, runner, 20, 24)
    _propagate(session)
    session.frames.go_to_frame(3)
    runner.run()
    assert session.propagation.mark_frame_reviewed()
    (confirmed,) = _masks(session, 3)
    assert is_reviewed(confirmed)
    assert not session.propagation.mark_frame_reviewed()  # nothing left to confirm
    session.frames.go_to_frame(0)
    runner.run()
    _propagate(session)
    assert _masks(session, 3) == [confirmed]
    assert unreviewed_frames(session.document, "clip") == [1, 2, 4]


def test_several_objects_are_carried_at_once(clip: Path) -> None:
    session, runner = _started(clip)
    accept_at(session, runner, 12, 12)
    accept_at(session, runner, 50, 36)  # a second object on the same frame: a new track
    _propagate(session, direction="both")
    assert session.propagation.progress == (FRAMES, FRAMES)  # nothing before frame 0
    for frame in range(1, FRAMES):
        assert sorted(track_id_of(a) for a in _masks(session, frame)) == [1, 2]
    session.frames.go_to_frame(2)
    runner.run()
    session.propagation.set_direction("both")
    _propagate(session)  # frames 2..4, then 2..0
    assert session.propagation.progress == (FRAMES + 1, FRAMES + 1)


def test_propagation_resumes_after_reopening(clip: Path) -> None:
    session, runner = _started(clip)
    accept_at(session, runner, 20, 24)
    _propagate(session, stop_after=3)  # frames 0, 1, 2; then the window went away
    session.close_folder()

    predictor = PropagatingPredictor()
    session, runner = _started(clip, predictor)
    assert [len(_masks(session, f)) for f in range(FRAMES)] == [1, 1, 1, 0, 0]
    session.frames.go_to_frame(3)
    runner.run()
    _propagate(session)
    assert [len(_masks(session, f)) for f in range(FRAMES)] == [1, 1, 1, 1, 1]
    (engine,) = predictor.engines
    assert engine.prompted == [(0, 1)]  # the accepted mask, from the annotations file
    assert sorted(engine.memories) == [(1, 1), (1, 2)]  # tracked frames before the start


def test_propagate_says_why_it_cannot_run(clip: Path) -> None:
    session, runner = opened(clip, FakePredictor())
    seen = []
    session.events.message.subscribe(lambda level, text: seen.append(text))
    assert "needs a SAM 2 model" in session.propagation.unavailable()
    assert not session.propagation.propagate()
    assert "needs a SAM 2 model" in seen[-1]

    session, runner = _started(clip)
    session.events.message.subscribe(lambda level, text: seen.append(text))
    assert not session.propagation.propagate()  # nothing accepted yet
    assert "Accept a mask" in seen[-1]
    session.go_to(1)  # the photo
    runner.run()
    assert "stack" in session.propagation.unavailable()


def _saved_masks(clip: Path) -> int:
    return len(json.loads((clip / "annotations.json").read_text("utf-8"))["annotations"])


def test_a_run_is_one_undo_step_while_its_frames_are_saved_as_they_arrive(clip: Path) -> None:
    session, runner = _started(clip)
    accept_at(session, runner, 20, 24)
    steps = len(session.document.history)
    saved = []

    def save_while_running() -> None:  # what the autosave does after each change
        if session.propagation.is_running():
            session.store.save()  # False when nothing changed (frame 0 keeps its mask)
            saved.append(_saved_masks(clip))

    session.propagation.changed.subscribe(save_while_running)
    _propagate(session)
    assert saved == [1, 1, 2, 3, 4, 5]  # started, then frames 0 (the accepted one) to 4
    assert len(session.document.history) == steps + 1
    propagated = session.document.state

    session.undo()
    assert [len(_masks(session, f)) for f in range(FRAMES)] == [1, 0, 0, 0, 0]
    assert is_reviewed(_masks(session, 0)[0])
    session.redo()
    assert session.document.state is propagated
    assert unreviewed_frames(session.document, "clip") == [1, 2, 3, 4]


def test_undo_after_a_cancelled_run_removes_only_what_that_run_added(clip: Path) -> None:
    session, runner = _started(clip)
    accept_at(session, runner, 20, 24)
    _propagate(session)
    first_run = {f: _masks(session, f)[0].id for f in range(FRAMES)}
    session.frames.go_to_frame(2)
    runner.run()
    accept_at(session, runner, 40, 30)  # a correction on frame 2
    corrected = _masks(session, 2)

    _propagate(session, stop_after=3)  # frames 2 (reviewed: left alone), 3 and 4; Esc
    assert [_masks(session, f)[0].id != first_run[f] for f in (3, 4)] == [True, True]
    session.undo()
    assert {f: _masks(session, f)[0].id for f in (0, 1, 3, 4)} == {
        f: first_run[f] for f in (0, 1, 3, 4)
    }
    assert _masks(session, 2) == corrected  # the correction is an undo step of its own
    session.undo()
    assert _masks(session, 2)[0].id == first_run[2]


def test_undo_while_a_run_adds_frames_stops_it_and_takes_them_back(clip: Path) -> None:
    session, runner = _started(clip)
    seen = []
    session.events.message.subscribe(lambda level, text: seen.append(text))
    accept_at(session, runner, 20, 24)

    def undo_at_frame_3() -> None:
        if session.propagation.is_running() and session.propagation.progress[0] == 3:
            session.undo()

    session.propagation.changed.subscribe(undo_at_frame_3)
    _propagate(session)
    assert not session.propagation.is_running()
    assert [len(_masks(session, f)) for f in range(FRAMES)] == [1, 0, 0, 0, 0]
    assert "stopped" in seen[-1]
    session.redo()
    assert [len(_masks(session, f)) for f in range(FRAMES)] == [1, 1, 1, 0, 0]


def test_the_run_says_where_it_goes_and_how_many_frames_wait_for_review(clip: Path) -> None:
    session, runner = _started(clip)
    seen = []
    session.events.message.subscribe(lambda level, text: seen.append(text))
    session.frames.go_to_frame(1)
    runner.run()
    accept_at(session, runner, 20, 24)
    texts = []
    session.propagation.changed.subscribe(lambda: texts.append(session.propagation.progress_text()))
    _propagate(session, direction="both")  # frames 1..4, then 1..0
    assert texts[:3] == [
        "Propagating both ways from frame 2: 0 of 6 frames",
        "Propagating both ways from frame 2: 1 of 6 frames",
        "Propagating both ways from frame 2: 2 of 6 frames",
    ]
    assert texts[-1] == "" and session.propagation.progress_text() == ""
    assert seen[-1].startswith("Propagation done: 4 frames to review")


def test_the_record_is_written_off_the_calling_thread(clip: Path, monkeypatch) -> None:
    """After every frame the record beside the annotations file is rewritten (fsynced): in a
    writer thread, so a slow disk never stalls the window; opening a folder waits for it."""
    import threading

    from samlabel.io import background_writer

    writers = []
    real = background_writer.atomic_write_bytes

    def spy(path, data):
        writers.append(threading.current_thread())
        return real(path, data)

    monkeypatch.setattr(background_writer, "atomic_write_bytes", spy)
    session, runner = _started(clip)
    accept_at(session, runner, 20, 24)
    _propagate(session)
    assert session.propagation.flush_records(10)
    assert writers and threading.main_thread() not in writers
    record = json.loads(record_path(clip / "annotations.json").read_text("utf-8"))
    assert sorted(record["stacks"]["clip"]["tracked"]["1"]) == ["0", "1", "2", "3", "4"]


def test_a_stuck_record_write_does_not_hang_opening_the_folder(clip: Path, monkeypatch) -> None:
    """A record write that never finishes (a dead network share) holds up opening the folder
    again for a bounded time only; the folder opens with the record that is on disk."""
    import threading

    from samlabel.io import background_writer
    from samlabel.session import propagation

    session, runner = _started(clip)
    accept_at(session, runner, 20, 24)
    release = threading.Event()
    real = background_writer.atomic_write_bytes

    def stuck(path, data):
        release.wait(30)
        return real(path, data)

    monkeypatch.setattr(background_writer, "atomic_write_bytes", stuck)
    monkeypatch.setattr(propagation, "RECORD_FLUSH_SECONDS", 0.2)
    try:
        _propagate(session, stop_after=2)
        session.close_folder()
        assert not session.propagation.flush_records(0.05)  # still on its way
        reopened, _ = _started(clip)
        assert [len(_masks(reopened, f)) for f in range(FRAMES)][:2] == [1, 1]
    finally:
        release.set()
    assert session.propagation.flush_records(10)
