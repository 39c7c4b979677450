"""Opening a folder with its stacks' headers read in the runner's work, not by the caller:
the window asks, keeps showing the open folder, and the new one opens when the listing
comes back (reading 1,000 DICOM headers takes seconds)."""

from __future__ import annotations

from pathlib import Path

import pytest

import samlabel.io.stacks.detect as detect
from samlabel.session.work import ListRequest
from tests.io.stacks.factory import write_dicom_series
from tests.qt.fakes import FakePredictor
from tests.qt.images import write_images
from tests.session.helpers import Recorder, make_session, opened


@pytest.fixture
def reads(monkeypatch) -> list[Path]:
    """The stacks whose headers are read (every path that opens a stack goes through
    ``open_stack``), in order."""
    seen: list[Path] = []
    real = detect.open_stack

    def counting(path, *args, **kwargs):
        seen.append(Path(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr("samlabel.session.stack_items.open_stack", counting)
    return seen


def _study(root: Path, name: str) -> Path:
    folder = root / name
    write_images(folder, 1)
    write_dicom_series(folder / "ct", count=5, size=(20, 24))
    return folder


def test_stack_headers_are_read_in_the_runners_work(tmp_path, reads) -> None:
    first, second = _study(tmp_path, "a"), _study(tmp_path, "b")
    session, runner = opened(first, FakePredictor())
    assert reads == [first / "ct"]
    reads.clear()
    events = Recorder(session)

    session.start_opening_folder(second)
    # Nothing read yet, nothing changed: the caller returns at once, the open folder stays.
    assert reads == []
    assert [type(r) for r in runner.pending()] == [ListRequest]
    assert session.folder == first.resolve() and session.folders.is_opening()
    assert "folder_opened" not in events.names()

    runner.run()
    assert reads == [second / "ct"]  # once, in the runner's work: not again on opening
    assert session.folder == second.resolve() and not session.folders.is_opening()
    assert {s.uri: s.frames for s in session.images.stacks.values()} == {"ct": 5}
    assert "folder_opened" in events.names()
    assert session.image.source is not None  # its first row was read and shown


def test_a_newer_request_supersedes_the_one_being_listed(tmp_path) -> None:
    first, second = _study(tmp_path, "a"), _study(tmp_path, "b")
    session, runner = make_session(FakePredictor())
    session.start_opening_folder(first)
    session.start_opening_folder(second)
    runner.run()
    assert session.folder == second.resolve()


def test_a_folder_that_cannot_be_listed_is_a_message_and_the_open_one_stays(tmp_path) -> None:
    first = _study(tmp_path, "a")
    session, runner = opened(first, FakePredictor())
    events = Recorder(session)
    session.start_opening_folder(tmp_path / "gone")
    runner.run()
    assert session.folder == first.resolve()
    messages = [e for e in events.seen if e[0] == "message"]
    assert messages and messages[-1][1] == "error" and "gone" in messages[-1][2]
    assert not session.folders.is_opening()


def test_opening_a_folder_at_once_supersedes_a_listing_in_progress(tmp_path) -> None:
    first, second = _study(tmp_path, "a"), _study(tmp_path, "b")
    session, runner = make_session(FakePredictor())
    session.start_opening_folder(first)
    session.open_folder(second)  # the newest request: opened on this thread
    assert not session.folders.is_opening()
    runner.run()  # the first listing's answer comes, and is dropped
    assert session.folder == second.resolve()
