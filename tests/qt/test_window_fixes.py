"""What a new user met in the window: the encoding timer, the folder's place after a restart,
the empty Categories panel, and the no-model banner that a click used to replace."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView

from samlabel.qt.panels import NO_CATEGORIES_HINT
from tests.qt.fakes import FakePredictor
from tests.qt.window_helpers import click_image, key, open_window, wait_idle, wait_ready


def test_encoding_time_counts_from_when_the_encoding_began(qtbot, tmp_path, image_folder):
    window = open_window(qtbot, tmp_path / "s.ini", FakePredictor(encode_delay=1.5))
    assert window.folders.open_folder(image_folder)
    label = window.status.state_label
    qtbot.waitUntil(lambda: "Computing the embedding of img_000.png" in label.text(), timeout=3000)
    seconds = float(re.search(r"([\d.]+) s$", label.text()).group(1))
    assert 0.0 <= seconds < 1.5  # not the machine's uptime, not an older encode's start
    qtbot.waitUntil(lambda: window.controller.embedding is not None, timeout=10000)
    assert label.text().startswith("Ready")


def test_the_folder_reopens_on_its_last_image_and_category(qtbot, tmp_path, image_folder):
    settings = tmp_path / "s.ini"
    window = open_window(qtbot, settings, FakePredictor())
    assert window.folders.open_folder(image_folder)
    wait_ready(qtbot, window)
    window.categories.add_category("car")
    window.categories.add_category("tree")
    key(qtbot, window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)  # "car"
    for _ in range(3):
        key(qtbot, window, Qt.Key.Key_D)
    wait_ready(qtbot, window)
    window.close()

    again = open_window(qtbot, settings, FakePredictor())
    assert again.folders.open_folder(image_folder)
    c = again.controller
    assert c.row == 3 and c.paths[3].name == "img_003.png"
    assert c.document.category(c.current_category).name == "car"
    assert again.category_box.currentText() == "car"
    wait_ready(qtbot, again)
    click_image(qtbot, again, 80, 60)
    key(qtbot, again, Qt.Key.Key_Return)
    wait_idle(again)  # the accepted mask is made in the background
    (accepted,) = c.document.annotations
    assert c.document.category(accepted.category_id).name == "car"
    assert c.document.image(accepted.image_id).file_name == "img_003.png"


def test_another_folder_starts_at_its_first_image(qtbot, tmp_path, image_folder):
    settings = tmp_path / "s.ini"
    window = open_window(qtbot, settings, FakePredictor())
    assert window.folders.open_folder(image_folder)
    wait_ready(qtbot, window)
    key(qtbot, window, Qt.Key.Key_D)
    assert window.controller.row == 1
    other = tmp_path / "other"
    other.mkdir()
    for path in sorted(image_folder.glob("*.png"))[:2]:
        (other / path.name).write_bytes(path.read_bytes())
    assert window.folders.open_folder(other)
    assert window.controller.row == 0


def test_empty_categories_panel_explains_and_the_first_accept_says_where_it_went(
    qtbot, tmp_path, image_folder
):
    window = open_window(qtbot, tmp_path / "s.ini", FakePredictor())
    assert window.folders.open_folder(image_folder)
    wait_ready(qtbot, window)
    panel = window.category_panel
    assert panel.hint.isVisible() and panel.hint.text() == NO_CATEGORIES_HINT
    click_image(qtbot, window, 80, 60)
    key(qtbot, window, Qt.Key.Key_Return)
    wait_idle(window)  # the accepted mask is made in the background
    c = window.controller
    assert [category.name for category in c.document.categories] == ["object"]
    assert not panel.hint.isVisible()
    assert "object" in window.message_bar.text
    assert window.message_bar.action_button.text() == "Rename…"
    window.message_bar.action_button.click()
    assert panel.view.state() == QAbstractItemView.State.EditingState
    # A second accept under the same category says nothing more.
    window.message_bar.dismiss()
    click_image(qtbot, window, 30, 30)
    key(qtbot, window, Qt.Key.Key_Return)
    wait_idle(window)
    assert window.message_bar.text == ""


def test_a_click_without_a_model_keeps_the_choose_model_button(qtbot, tmp_path, image_folder):
    window = open_window(qtbot, tmp_path / "s.ini", None)
    window.notify_no_model()
    assert window.folders.open_folder(image_folder)
    wait_ready(qtbot, window)
    click_image(qtbot, window, 40, 40)
    bar = window.message_bar
    assert "model" in bar.text.lower()
    assert bar.action_button.isVisible() and bar.action_button.text() == "Choose model…"


def test_readme_names_the_keys_the_window_uses() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text("utf-8")
    assert "Ctrl+1…9" in readme
    assert "number keys or the category" not in readme
