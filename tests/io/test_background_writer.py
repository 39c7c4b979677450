"""Files written in a background thread: newest content only, never an older version after a
newer one, nothing raised into the caller for a folder that refuses writes."""

from __future__ import annotations

import threading
from pathlib import Path

from samlabel.io import background_writer
from samlabel.io.background_writer import BackgroundWriter


def test_write_returns_at_once_and_flush_waits_for_the_file(tmp_path: Path, monkeypatch) -> None:
    release = threading.Event()
    threads = []
    real = background_writer.atomic_write_bytes

    def held(path, data):
        threads.append(threading.current_thread().name)
        assert release.wait(10)
        return real(path, data)

    monkeypatch.setattr(background_writer, "atomic_write_bytes", held)
    writer = BackgroundWriter("test-writer")
    target = tmp_path / "record.json"
    writer.write(target, lambda: b"first")  # returns while the write is held
    assert not writer.flush(timeout=0.05)
    assert not target.exists()
    release.set()
    assert writer.flush(timeout=10)
    assert target.read_bytes() == b"first"
    assert threads == ["test-writer"]


def test_the_newest_content_lands_last_and_writes_in_between_are_skipped(
    tmp_path: Path, monkeypatch
) -> None:
    release = threading.Event()
    started = threading.Event()
    written = []
    real = background_writer.atomic_write_bytes

    def held(path, data):
        started.set()
        assert release.wait(10)
        written.append(data)
        return real(path, data)

    monkeypatch.setattr(background_writer, "atomic_write_bytes", held)
    writer = BackgroundWriter()
    target = tmp_path / "record.json"
    writer.write(target, lambda: b"1")
    assert started.wait(10)  # "1" is being written; the next ones wait
    for version in (b"2", b"3", b"4"):
        writer.write(target, lambda version=version: version)
    release.set()
    assert writer.flush(timeout=10)
    assert written == [b"1", b"4"]
    assert target.read_bytes() == b"4"


def test_a_folder_that_refuses_writes_raises_nothing_and_the_writer_goes_on(
    tmp_path: Path,
) -> None:
    writer = BackgroundWriter()
    missing = tmp_path / "no such folder" / "record.json"  # the write fails (no folder)
    writer.write(missing, lambda: b"x")

    def broken() -> bytes:
        raise ValueError("a bug while serialising")

    writer.write(tmp_path / "other.json", broken)
    assert writer.flush(timeout=10)
    writer.write(tmp_path / "record.json", lambda: b"after")
    assert writer.flush(timeout=10)
    assert (tmp_path / "record.json").read_bytes() == b"after"
    assert not missing.exists() and not (tmp_path / "other.json").exists()


def test_the_thread_ends_when_there_is_nothing_to_write(tmp_path: Path) -> None:
    writer = BackgroundWriter("idle-writer")
    writer.write(tmp_path / "a.json", lambda: b"a")
    assert writer.flush(timeout=10)
    for thread in threading.enumerate():
        if thread.name == "idle-writer":
            thread.join(10)
    assert "idle-writer" not in {thread.name for thread in threading.enumerate()}
