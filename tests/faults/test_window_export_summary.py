"""The window's export says what the export did (issue 12, item 4).

Once, ``a.jpg`` and ``a.png`` in one folder both exported to ``labels/a.txt``: one image's
labels were lost and the window said "Exported". Now both are written under distinct names
and the message bar keeps the export's summary, which names them.
"""

from __future__ import annotations

import pytest
from PIL import Image

from tests.faults.window_faults import OFFSCREEN_NOISE, accept_one
from tests.qt.fakes import FakePredictor
from tests.qt.images import make_image
from tests.qt.window_helpers import open_window

pytestmark = pytest.mark.qt_log_ignore(OFFSCREEN_NOISE)


def test_an_export_with_a_name_clash_writes_both_and_says_so(qtbot, tmp_path):
    folder = tmp_path / "clash"
    folder.mkdir()
    Image.fromarray(make_image(120, 160, 1)).save(folder / "a.jpg")
    Image.fromarray(make_image(120, 160, 2)).save(folder / "a.png")
    window = open_window(qtbot, tmp_path / "s.ini", FakePredictor())
    assert window.folders.open_folder(folder)
    accept_one(qtbot, window)
    window.controller.next_image()
    accept_one(qtbot, window)
    out = tmp_path / "yolo"
    out.mkdir()
    job = window.exports.export_to("yolo", out)
    qtbot.waitUntil(job.done, timeout=60_000)
    assert job.ok
    # done() is set in the export's thread; the bar follows on the GUI thread.
    qtbot.waitUntil(lambda: "share a name" in window.message_bar.text, timeout=5000)
    labels = sorted(p.name for p in (out / "labels").glob("*.txt"))
    assert len(labels) == 2 and all(p.read_text().strip() for p in (out / "labels").glob("*"))
    text = window.message_bar.text
    assert "share a name" in text and "a.jpg" in text and "a.png" in text
