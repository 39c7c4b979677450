"""Saving onto a really full disk and a really read-only filesystem (Linux, as root).

A tiny tmpfs is mounted for each test; where mounting is not allowed the tests are skipped
(the patched-write tests in test_coco_bad_files.py cover the same paths everywhere).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from samlabel.core.errors import AnnotationFileError
from samlabel.io.coco import load_coco
from samlabel.io.store import AnnotationStore

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="mounts a Linux tmpfs")


@pytest.fixture
def tiny_disk(tmp_path):
    """A 64 KiB tmpfs, unmounted afterwards."""
    mountpoint = tmp_path / "disk"
    mountpoint.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mountpoint)],
        capture_output=True,
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=True)


def _fill_categories(store: AnnotationStore, count: int) -> None:
    start = len(store.document.categories)
    for i in range(start, start + count):
        store.document.add_category(f"{i:04d} " + "x" * 500)


def test_a_full_disk_keeps_the_previous_file_and_the_unsaved_work(tiny_disk):
    path = tiny_disk / "annotations.json"
    store = AnnotationStore.open(path)
    _fill_categories(store, 3)
    store.save()
    before = path.read_bytes()
    _fill_categories(store, 300)  # ~150 KB: does not fit in 64 KiB
    with pytest.raises(AnnotationFileError, match=r"annotations\.json.*disk is full"):
        store.save()
    assert path.read_bytes() == before
    assert not list(tiny_disk.glob("*.tmp"))  # the half-written temp file is gone
    assert store.dirty
    # The user deletes categories; the next save fits and holds the work.
    while len(store.document.categories) > 10:
        store.document.delete_category(store.document.categories[-1].id)
    store.close()
    assert len(load_coco(path).document.categories) == 10


def test_a_read_only_filesystem_opens_read_only_and_keeps_the_file(tiny_disk):
    path = tiny_disk / "annotations.json"
    with AnnotationStore.open(path) as store:
        _fill_categories(store, 2)
    before = path.read_bytes()
    (tiny_disk / "annotations.json.lock").unlink()
    subprocess.run(["mount", "-o", "remount,ro", str(tiny_disk)], check=True)
    store = AnnotationStore.open(path)
    assert store.read_only and "read-only" in store.read_only_reason
    assert len(store.document.categories) == 2
    store.close()
    assert path.read_bytes() == before
