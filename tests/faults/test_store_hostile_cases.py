"""More ways to lose work with the annotations file, tried as a hostile tester would (issue 12,
item 6; docs/annotations-file-safety.md lists them). Each checks the file on disk and what the
store or the session says.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from samlabel.core.masks import empty_mask
from samlabel.io import fingerprint
from samlabel.io.save_outcome import SaveKind
from samlabel.io.store import AnnotationStore
from samlabel.session.events import SessionEvents
from samlabel.session.file_guard import FileGuard


def _labelled(path: Path) -> AnnotationStore:
    store = AnnotationStore.open(path)
    doc = store.document
    doc.add_images([("a.png", 8, 6)], undoable=False)
    doc.add_category("tree")
    mask = empty_mask(6, 8)
    mask[1:3, 1:3] = True
    doc.add_annotation(1, 1, mask)
    store.save()
    return store


def _in_place_keeping_size_and_mtime(path: Path, old: str, new: str) -> None:
    """Rewrite ``path`` in place (same inode) with ``old`` replaced by ``new`` (same length)
    and its modification time set back, as ``cp -p`` or ``rsync -t`` over it would."""
    assert len(old) == len(new)
    stat = os.stat(path)
    text = path.read_text("utf-8").replace(old, new)
    with open(path, "r+", encoding="utf-8") as handle:
        handle.write(text)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert os.stat(path).st_size == stat.st_size


def test_an_edit_in_place_that_keeps_size_and_mtime_is_still_seen(tmp_path):
    path = tmp_path / "annotations.json"
    store = _labelled(path)
    _in_place_keeping_size_and_mtime(path, '"tree"', '"bush"')
    change = store.check_outside_change()
    assert change.changed and change.reload_safe and "changed by another program" in change.message
    store.reload()
    assert [c.name for c in store.document.categories] == ["bush"]
    # With unsaved work here, the next save merges theirs instead of overwriting it.
    store.document.add_category("ours")
    _in_place_keeping_size_and_mtime(path, '"bush"', '"palm"')
    outcome = store.save()
    assert outcome.kind is SaveKind.MERGED and "changed by another program" in outcome.message
    names = [c["name"] for c in json.loads(path.read_text("utf-8"))["categories"]]
    assert names == ["palm", "ours"]
    store.close()


def test_a_touched_file_is_read_once_not_at_every_look(tmp_path, monkeypatch):
    path = tmp_path / "annotations.json"
    store = _labelled(path)
    reads = []
    real = fingerprint.read_with_fingerprint
    monkeypatch.setattr(fingerprint, "read_with_fingerprint", lambda p: reads.append(p) or real(p))
    os.utime(path)  # touched: new mtime, same bytes
    for _ in range(5):
        assert not store.check_outside_change().changed
    assert len(reads) == 1
    store.document.add_category("more")
    assert store.save().kind is SaveKind.SAVED
    for _ in range(5):  # our own save is not another program's change, nor read again
        assert not store.check_outside_change().changed
    assert len(reads) == 1
    store.close()


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32", "utf-8-sig"])
def test_a_file_in_another_unicode_encoding_opens_is_told_and_saved_as_utf8(tmp_path, encoding):
    path = tmp_path / "annotations.json"
    _labelled(path).close()
    data = json.loads(path.read_text("utf-8"))
    data["categories"][0]["name"] = "árbol 木"
    path.write_bytes(json.dumps(data, ensure_ascii=False).encode(encoding))
    store = AnnotationStore.open(path)
    events, told = SessionEvents(), []
    events.message.subscribe(lambda level, text: told.append((level, text)))
    FileGuard(events, lambda: store).opened()
    ((level, text),) = told
    assert level == "warning" and "annotations.json is UTF-" in text and "saved as" in text
    assert len(store.document.annotations) == 1
    store.document.add_category("more")
    store.close()
    saved = json.loads(path.read_bytes().decode("utf-8"))  # plain UTF-8 now, no BOM
    assert [c["name"] for c in saved["categories"]] == ["árbol 木", "more"]
    assert len(saved["annotations"]) == 1
