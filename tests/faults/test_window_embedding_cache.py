"""An embedding cache folder that refuses writes, in the window (issue 12).

Once, the cache said so only in the log: the user saw every image encoded again after each
return to it, with no reason given. Now the window pins the cache's sentence in the message
bar once (not again for every image), and labelling goes on.
"""

from __future__ import annotations

import pytest

from tests.faults.window_faults import OFFSCREEN_NOISE, accept_one, flushed, image_folder, on_disk
from tests.qt.fakes import FakePredictor
from tests.qt.window_helpers import open_window, wait_ready

pytestmark = pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)


def test_a_cache_folder_that_refuses_writes_is_said_once(qtbot, tmp_path, monkeypatch):
    in_the_way = tmp_path / "cache-is-a-file"
    in_the_way.write_text("not a folder")
    monkeypatch.setenv("SAMLABEL_CACHE_DIR", str(in_the_way))
    folder = image_folder(tmp_path, "e")
    window = open_window(qtbot, tmp_path / "s.ini", FakePredictor(), cache=True)
    assert window.folders.open_folder(folder)
    wait_ready(qtbot, window)
    bar = window.message_bar
    qtbot.waitUntil(lambda: "embedding_cache" in bar.pinned_keys, timeout=5000)
    text = bar.pinned_text("embedding_cache")
    assert "cannot be cached in" in text and "cache-is-a-file" in text
    assert "SAMLABEL_CACHE_DIR" in text
    bar.dismiss()
    window.controller.go_to(1)
    wait_ready(qtbot, window)
    assert "embedding_cache" not in bar.pinned_keys  # said once, not for every image
    accept_one(qtbot, window)  # labelling goes on
    flushed(window)
    assert len(on_disk(folder / "annotations.json")["annotations"]) == 1
    assert in_the_way.read_text() == "not a folder"
