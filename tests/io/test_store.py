"""The open annotations file: lock, read-only cases, backups, temp cleanup, autosave."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sys
import time

import pytest

from samlabel.core.document import Document
from samlabel.core.errors import AnnotationFileError
from samlabel.io.coco import load_coco, save_coco
from samlabel.io.store import AnnotationStore


def _names(store: AnnotationStore) -> list[str]:
    return [c.name for c in load_coco(store.path).document.categories]


def test_edits_undo_and_redo_are_saved_with_a_backup_of_the_previous_version(tmp_path):
    path = tmp_path / "annotations.json"
    with AnnotationStore.open(path) as store:
        assert not store.read_only and not store.dirty
        doc = store.document
        doc.add_category("a")
        assert store.dirty
        assert store.save_if_dirty() and not store.dirty
        doc.add_category("b")
        store.flush()
        assert _names(store) == ["a", "b"]
        assert [
            c["name"]
            for c in json.loads((tmp_path / "annotations.json.bak").read_text())["categories"]
        ] == ["a"]
        doc.undo()  # undo is a change like any other
        assert store.dirty
        store.flush()
        assert _names(store) == ["a"]
        doc.redo()
    # close() saved the redo
    assert [c.name for c in load_coco(path).document.categories] == ["a", "b"]
    assert not (tmp_path / "annotations.json.lock.json").exists()


def test_second_opener_is_read_only_and_told_who_holds_the_file(tmp_path):
    path = tmp_path / "annotations.json"
    first = AnnotationStore.open(path)
    first.document.add_category("mine")
    first.flush()
    second = AnnotationStore.open(path)
    assert second.read_only
    assert (
        "in use by process" in second.read_only_reason
        and str(os.getpid()) in second.read_only_reason
    )
    assert [c.name for c in second.document.categories] == ["mine"]
    second.document.add_category("theirs")
    assert not second.save_if_dirty()
    with pytest.raises(AnnotationFileError, match="in use"):
        second.save()
    second.close()
    assert _names(first) == ["mine"]
    first.close()
    third = AnnotationStore.open(path)  # free again
    assert not third.read_only
    third.close()


def _hold_lock_then_wait(path: str, ready) -> None:
    store = AnnotationStore.open(path)
    store.document.add_category("from child")
    store.flush()
    ready.set()
    time.sleep(60)


@pytest.mark.skipif(sys.platform == "win32", reason="needs fork and SIGKILL")
def test_lock_of_a_killed_process_is_taken_over(tmp_path):
    path = tmp_path / "annotations.json"
    context = multiprocessing.get_context("fork")
    ready = context.Event()
    child = context.Process(target=_hold_lock_then_wait, args=(str(path), ready))
    child.start()
    try:
        assert ready.wait(20)
        blocked = AnnotationStore.open(path)
        assert blocked.read_only and f"process {child.pid}" in blocked.read_only_reason
        blocked.close()
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.join()
    owner_note = json.loads((tmp_path / "annotations.json.lock.json").read_text())
    assert owner_note["pid"] == child.pid  # the dead owner's note is still there
    store = AnnotationStore.open(path)
    assert not store.read_only
    assert [c.name for c in store.document.categories] == ["from child"]
    assert json.loads((tmp_path / "annotations.json.lock.json").read_text())["pid"] == os.getpid()
    store.close()


def test_stale_temp_files_are_removed_at_open(tmp_path):
    path = tmp_path / "annotations.json"
    save_coco(Document(), path)
    stale = tmp_path / ".annotations.json.k2j3h4.tmp"
    stale.write_text('{"half": ')
    unrelated = tmp_path / ".other.json.abc.tmp"
    unrelated.write_text("x")
    store = AnnotationStore.open(path)
    assert store.removed_temp_files == [stale]
    assert not stale.exists() and unrelated.exists()
    store.close()


def test_newer_major_schema_opens_read_only(tmp_path):
    path = tmp_path / "annotations.json"
    path.write_text(json.dumps({"info": {"samlabel_schema_version": "2.3"}, "images": []}))
    store = AnnotationStore.open(path)
    assert store.read_only and "newer samlabel" in store.read_only_reason
    store.document.add_category("x")
    store.close()
    assert json.loads(path.read_text())["info"]["samlabel_schema_version"] == "2.3"


def test_older_or_missing_schema_is_writable(tmp_path):
    path = tmp_path / "annotations.json"
    path.write_text(json.dumps({"info": {"samlabel_schema_version": "1.0"}}))
    with AnnotationStore.open(path) as store:
        assert not store.read_only


def test_a_missing_folder_is_an_error_not_a_silent_read_only_store(tmp_path):
    with pytest.raises(AnnotationFileError, match="folder does not exist"):
        AnnotationStore.open(tmp_path / "nope" / "annotations.json")


def test_saved_file_keeps_permissions_a_team_can_read(tmp_path):
    """A save must not make a shared annotations file private to its owner."""
    import os
    import stat

    from samlabel.io.atomic import atomic_write_bytes

    fresh = tmp_path / "new.json"
    atomic_write_bytes(fresh, b"{}")
    assert stat.S_IMODE(fresh.stat().st_mode) & 0o044 == 0o044 & ~_umask()

    shared = tmp_path / "shared.json"
    shared.write_text("{}")
    os.chmod(shared, 0o664)
    atomic_write_bytes(shared, b'{"a": 1}', backup=True)
    assert stat.S_IMODE(shared.stat().st_mode) == 0o664


def _umask() -> int:
    from samlabel.io.atomic import _current_umask

    return _current_umask()
