"""Files that cannot be saved where they are: told at open, in one sentence, and a way out.

Read-only file or folder, a file held by another window, a name too long for the files
saving puts beside it. Each case checks the file on disk and the reason the user is shown.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from samlabel.core.errors import AnnotationFileError
from samlabel.io.coco import load_coco
from samlabel.io.save_outcome import SaveKind
from samlabel.io.store import AnnotationStore


def _one_sentence(text: str) -> bool:
    return text.count(". ") == 0 and "\n" not in text


def _saved_file(folder, names=("tree",)) -> bytes:
    store = AnnotationStore.open(folder / "annotations.json")
    for name in names:
        store.document.add_category(name)
    store.close()
    return (folder / "annotations.json").read_bytes()


def test_read_only_file_opens_read_only_and_save_as_continues_elsewhere(tmp_path):
    before = _saved_file(tmp_path)
    path = tmp_path / "annotations.json"
    path.chmod(0o444)
    store = AnnotationStore.open(path)
    assert store.read_only and store.read_only_kind == "not_writable"
    assert str(path) in store.read_only_reason and "read-only" in store.read_only_reason
    assert _one_sentence(store.read_only_reason)
    store.document.add_category("rock")
    assert store.try_save().kind is SaveKind.NOTHING
    other = tmp_path / "elsewhere" / "labels.json"
    other.parent.mkdir()
    outcome = store.save_as(other)
    assert outcome.kind is SaveKind.SAVED and str(other) in outcome.message
    assert not store.read_only and store.path == other
    store.document.add_category("moss")  # the store continues in the new place
    store.close()
    assert [c.name for c in load_coco(other).document.categories] == ["tree", "rock", "moss"]
    assert path.read_bytes() == before


def test_read_only_folder_by_permissions_is_said_at_open(tmp_path):
    folder = tmp_path / "shared"
    folder.mkdir()
    before = _saved_file(folder)
    folder.chmod(0o555)
    try:
        store = AnnotationStore.open(folder / "annotations.json")
        assert store.read_only and f"folder {folder} is not writable" in store.read_only_reason
        store.document.add_category("rock")
        with pytest.raises(AnnotationFileError, match="exists"):
            store.save_as(folder / "annotations.json")  # never over the file itself
        store.save_as(tmp_path / "mine.json")
        store.close()
    finally:
        folder.chmod(0o755)
    assert (folder / "annotations.json").read_bytes() == before
    assert [c.name for c in load_coco(tmp_path / "mine.json").document.categories] == [
        "tree",
        "rock",
    ]


@pytest.fixture
def read_only_mount(tmp_path):
    """A tmpfs holding an annotations file, remounted read-only (skipped if not allowed)."""
    mountpoint = tmp_path / "ro"
    mountpoint.mkdir()
    if (
        sys.platform != "linux"
        or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mountpoint)],
            capture_output=True,
        ).returncode
    ):
        pytest.skip("cannot mount a tmpfs here")
    try:
        before = _saved_file(mountpoint)
        subprocess.run(["mount", "-o", "remount,ro", str(mountpoint)], check=True)
        yield mountpoint, before
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=True)


def test_read_only_mount_is_said_at_open_and_nothing_is_lost_with_save_as(
    read_only_mount, tmp_path
):
    mountpoint, before = read_only_mount
    store = AnnotationStore.open(mountpoint / "annotations.json")
    assert store.read_only and "read-only" in store.read_only_reason
    assert _one_sentence(store.read_only_reason)
    store.document.add_category("rock")
    store.save_as(tmp_path / "copy.json")
    store.close()
    assert (mountpoint / "annotations.json").read_bytes() == before
    assert "rock" in [c.name for c in load_coco(tmp_path / "copy.json").document.categories]


def test_file_held_by_another_window_names_it_and_can_be_taken_when_released(tmp_path):
    _saved_file(tmp_path)
    path = tmp_path / "annotations.json"
    first = AnnotationStore.open(path)
    second = AnnotationStore.open(path)
    assert second.read_only and second.read_only_kind == "locked"
    reason = second.read_only_reason
    assert str(path) in reason and f"process {os.getpid()}" in reason
    assert socket.gethostname() in reason and _one_sentence(reason)
    second.document.add_category("from second")  # unsaved while the first holds the file
    assert not second.try_take_lock() and second.read_only
    first.document.add_category("from first")
    first.close()  # the other window lets go, after saving its own change
    assert second.try_take_lock() and not second.read_only
    assert second.save().kind is SaveKind.MERGED
    second.close()
    names = [c.name for c in load_coco(path).document.categories]
    assert names == ["tree", "from first", "from second"]


def test_released_lock_with_nothing_unsaved_reloads_the_other_windows_work(tmp_path):
    _saved_file(tmp_path)
    path = tmp_path / "annotations.json"
    first = AnnotationStore.open(path)
    second = AnnotationStore.open(path)
    first.document.add_category("from first")
    first.close()
    assert second.try_take_lock()
    assert [c.name for c in second.document.categories] == ["tree", "from first"]
    second.close()


def test_name_too_long_for_the_files_beside_it_opens_read_only(tmp_path):
    # Fits the file system (255 bytes) but not its temporary file ".<name>.XXXXXXXX.tmp".
    name = "a" * 238 + ".json"
    path = tmp_path / name
    path.write_text(json.dumps({"categories": [{"id": 1, "name": "tree"}]}))
    before = path.read_bytes()
    store = AnnotationStore.open(path)
    assert store.read_only and store.read_only_kind == "name_too_long"
    assert "243 bytes" in store.read_only_reason and "rename it" in store.read_only_reason
    store.document.add_category("rock")
    store.close()
    assert path.read_bytes() == before


def test_name_longer_than_the_file_system_allows_is_refused_with_a_sentence(tmp_path):
    path = tmp_path / ("b" * 300 + ".json")
    with pytest.raises(AnnotationFileError) as caught:
        AnnotationStore.open(path)
    assert "305 bytes" in str(caught.value) and "shorter name" in str(caught.value)


def test_save_as_in_another_folder_keeps_pointing_at_the_same_images(tmp_path):
    photos = tmp_path / "mount" / "photos"
    photos.mkdir(parents=True)
    store = AnnotationStore.open(photos / "annotations.json")
    store.document.add_images([("a.png", 4, 4), ("sub/b.png", 4, 4)], undoable=False)
    store.save()
    target = tmp_path / "home" / "labels.json"
    target.parent.mkdir()
    store.save_as(target)
    names = [i.file_name for i in store.document.images]
    assert names == ["../mount/photos/a.png", "../mount/photos/sub/b.png"]
    resolved = [(target.parent / name).resolve() for name in names]
    assert resolved == [(photos / "a.png").resolve(), (photos / "sub" / "b.png").resolve()]
    store.close()
    loaded = load_coco(target).document
    assert [i.file_name for i in loaded.images] == names
    assert [i.file_name for i in load_coco(photos / "annotations.json").document.images] == [
        "a.png",
        "sub/b.png",
    ]
