"""More ways to lose work with the annotations file, tried as a hostile tester would."""

from __future__ import annotations

import json
import os
import threading
import time

import pytest

from samlabel.core.errors import AnnotationFileError
from samlabel.io.save_outcome import SaveKind
from samlabel.io.store import AnnotationStore


def _names(path) -> list[str]:
    return [c["name"] for c in json.loads(path.read_text())["categories"]]


def test_a_save_from_another_thread_never_merges_behind_the_windows_back(tmp_path):
    path = tmp_path / "annotations.json"
    store = AnnotationStore.open(path)
    store.document.add_category("ours")
    store.save()
    data = json.loads(path.read_text())
    data["categories"].append({"id": 9, "name": "theirs"})
    time.sleep(0.01)
    path.write_text(json.dumps(data))
    theirs = path.read_bytes()
    store.document.add_category("ours too")
    outcomes = []
    worker = threading.Thread(target=lambda: outcomes.append(store.save()))
    worker.start()
    worker.join()
    assert outcomes[0].kind is SaveKind.DEFERRED and str(path) in outcomes[0].message
    assert path.read_bytes() == theirs and store.dirty  # nothing written, nothing dropped
    assert store.save().kind is SaveKind.MERGED  # from the document's own thread
    assert _names(path) == ["ours", "theirs", "ours too"]
    store.close()


def test_saving_through_a_symbolic_link_updates_the_file_it_points_to(tmp_path):
    real = tmp_path / "project" / "annotations.json"
    real.parent.mkdir()
    real.write_text(json.dumps({"categories": [{"id": 1, "name": "tree"}]}))
    link = tmp_path / "annotations.json"
    os.symlink(real, link)
    store = AnnotationStore.open(link)
    store.document.add_category("rock")
    store.close()
    assert link.is_symlink() and _names(real) == ["tree", "rock"]
    assert (real.parent / "annotations.json.bak").exists()


def test_a_folder_in_place_of_the_annotations_file_is_a_sentence(tmp_path):
    (tmp_path / "annotations.json").mkdir()
    with pytest.raises(AnnotationFileError, match=r"annotations\.json: cannot be read"):
        AnnotationStore.open(tmp_path / "annotations.json")


def test_utf8_file_with_a_byte_order_mark_opens_and_its_fields_are_kept(tmp_path):
    path = tmp_path / "annotations.json"
    body = {"info": {"description": "Ünïcode"}, "categories": [{"id": 1, "name": "bäume"}]}
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(body, ensure_ascii=False).encode())
    store = AnnotationStore.open(path)
    store.document.add_category("x")
    store.close()
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["info"]["description"] == "Ünïcode" and _names(path) == ["bäume", "x"]


def test_save_as_refuses_a_file_another_window_holds(tmp_path):
    held = AnnotationStore.open(tmp_path / "held.json")
    store = AnnotationStore.open(tmp_path / "annotations.json")
    store.document.add_category("x")
    with pytest.raises(AnnotationFileError, match="in use by process"):
        store.save_as(tmp_path / "held.json", overwrite=True)
    assert store.path == tmp_path / "annotations.json" and not store.read_only
    store.close()
    held.close()
    assert _names(tmp_path / "annotations.json") == ["x"]


def test_annotations_removed_outside_and_untouched_here_stay_removed(tmp_path):
    path = tmp_path / "annotations.json"
    store = AnnotationStore.open(path)
    store.document.add_category("a")
    store.document.add_category("b")
    store.save()
    data = json.loads(path.read_text())
    data["categories"] = [c for c in data["categories"] if c["name"] != "a"]
    time.sleep(0.01)
    path.write_text(json.dumps(data))
    store.document.add_category("c")
    outcome = store.save()
    assert outcome.kind is SaveKind.MERGED and "removed 1 category" in outcome.message
    assert _names(path) == ["b", "c"]
    store.close()


def test_conflicting_top_level_field_keeps_their_file(tmp_path):
    path = tmp_path / "annotations.json"
    path.write_text(json.dumps({"info": {"description": "base"}, "licenses": [1]}))
    store = AnnotationStore.open(path)
    store.document.add_category("x")
    store.save()
    store.foreign["licenses"] = [2]  # a change here (e.g. a future licence editor)
    store.document.add_category("y")
    data = json.loads(path.read_text())
    data["licenses"] = [3]
    time.sleep(0.01)
    path.write_text(json.dumps(data))
    theirs = path.read_bytes()
    outcome = store.save()
    assert outcome.kind is SaveKind.CONFLICT and "'licenses'" in outcome.message
    assert path.read_bytes() == theirs
    assert json.loads(outcome.conflict_path.read_text())["licenses"] == [2]
    store.close()


def test_closing_from_another_thread_with_a_merge_pending_keeps_the_work(tmp_path):
    path = tmp_path / "annotations.json"
    store = AnnotationStore.open(path)
    store.document.add_category("ours")
    store.save()
    data = json.loads(path.read_text())
    data["info"]["description"] = "theirs"
    time.sleep(0.01)
    path.write_text(json.dumps(data))
    store.document.add_category("unsaved")
    errors = []

    def close_elsewhere():
        try:
            store.close()
        except AnnotationFileError as error:
            errors.append(str(error))

    worker = threading.Thread(target=close_elsewhere)
    worker.start()
    worker.join()
    assert errors and "not closed" in errors[0] and str(path) in errors[0]
    assert not store.closed and store.dirty
    store.close()  # from the document's thread: merged, then closed
    assert _names(path) == ["ours", "unsaved"]
    assert json.loads(path.read_text())["info"]["description"] == "theirs"
