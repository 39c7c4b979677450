"""The window driven like a user would, with the fake predictor (fast, deterministic)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt, QTimer

from samlabel.core.errors import CheckpointError
from samlabel.qt.actions import ACTIONS, MENUS
from tests.qt.fakes import FakePredictor, image_mean
from tests.qt.window_helpers import (
    click_image,
    drag_box,
    key,
    open_window,
    saved_coco,
    wait_idle,
    wait_ready,
)


@pytest.fixture
def window(qtbot, tmp_path: Path, image_folder: Path):
    win = open_window(qtbot, tmp_path / "settings.ini", FakePredictor())
    assert win.folders.open_folder(image_folder)
    wait_ready(qtbot, win)
    return win


def test_title_names_the_folder_and_marks_unsaved_work(qtbot, window, image_folder) -> None:
    qtbot.waitUntil(lambda: window.controller.is_saved(), timeout=3000)
    window.refresh_title()
    assert window.windowTitle() == f"samlabel — {image_folder.resolve()}"
    click_image(qtbot, window, 80, 60)
    key(qtbot, window, Qt.Key.Key_Return)
    window.refresh_title()
    assert window.windowTitle().endswith(" *")
    qtbot.waitUntil(lambda: window.controller.is_saved(), timeout=3000)
    window.refresh_title()
    assert window.windowTitle() == f"samlabel — {image_folder.resolve()}"


def test_click_shows_the_mask_and_keys_pick_accept_and_undo(qtbot, window) -> None:
    c = window.controller
    x, y = click_image(qtbot, window, 80, 60)
    assert abs(x - 80.5) < 1.5 and abs(y - 60.5) < 1.5
    prediction = c.prompts.prediction
    assert prediction is not None and c.prompts.selected == 1  # the best score
    shown, region = window.canvas.live_mask_view()
    assert shown.any() and region[2] > region[0]
    assert window.candidates.selected == 1
    key(qtbot, window, Qt.Key.Key_3)
    assert c.prompts.selected == 2 and window.candidates.selected == 2
    bigger = window.canvas.live_mask_view()[0].sum()
    key(qtbot, window, Qt.Key.Key_1)
    assert window.canvas.live_mask_view()[0].sum() < bigger
    key(qtbot, window, Qt.Key.Key_Tab)
    assert c.prompts.selected == 1
    # Right click and Shift+click exclude.
    click_image(qtbot, window, 90, 60, Qt.MouseButton.RightButton)
    click_image(qtbot, window, 70, 60, modifier=Qt.KeyboardModifier.ShiftModifier)
    assert [p[2] for p in c.prompts.points] == [1, 0, 0]
    key(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert [p[2] for p in c.prompts.points] == [1, 0]
    key(qtbot, window, Qt.Key.Key_Return)
    assert c.prompts.is_empty()
    coco = saved_coco(window)
    assert len(coco["annotations"]) == 1
    assert coco["annotations"][0]["samlabel_prompts"]["points"][1][2] == 0
    assert coco["categories"][0]["name"] == "object"
    # With no prompts left, Ctrl+Z undoes the accepted annotation; Ctrl+Shift+Z redoes it.
    key(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert saved_coco(window)["annotations"] == []
    modifiers = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    key(qtbot, window, Qt.Key.Key_Z, modifiers)
    assert len(saved_coco(window)["annotations"]) == 1


def test_escape_discards_and_box_drag_prompts(qtbot, window) -> None:
    c = window.controller
    click_image(qtbot, window, 50, 50)
    key(qtbot, window, Qt.Key.Key_Escape)
    assert c.prompts.is_empty() and window.canvas.live_mask_view() is None
    drag_box(qtbot, window, (30, 30), (100, 90))
    box = c.prompts.box
    assert box is not None and abs(box[0] - 30) < 2 and abs(box[3] - 90) < 2
    assert c.prompts.points == ()


def test_navigation_keys_and_list(qtbot, window) -> None:
    c = window.controller
    for key_code, row in (
        (Qt.Key.Key_D, 1),
        (Qt.Key.Key_Right, 2),
        (Qt.Key.Key_A, 1),
        (Qt.Key.Key_Left, 0),
        (Qt.Key.Key_Left, 0),
    ):
        key(qtbot, window, key_code)
        assert c.row == row
    index = c.images.index(3)
    rect = window.image_list.visualRect(index)
    qtbot.mouseClick(window.image_list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert c.row == 3
    wait_ready(qtbot, window)
    assert window.canvas.image_size == (120, 160)


def test_prompts_before_the_embedding_are_kept(qtbot, tmp_path, image_folder) -> None:
    win = open_window(qtbot, tmp_path / "s.ini", FakePredictor(encode_delay=0.6))
    win.folders.open_folder(image_folder)
    qtbot.waitUntil(lambda: win.controller.source is not None, timeout=5000)
    assert win.controller.embedding is None
    click_image(qtbot, win, 40, 40)
    assert win.controller.prompts.prediction is None
    assert "Computing the embedding" in win.status.state_label.text()
    qtbot.waitUntil(lambda: win.controller.prompts.prediction is not None, timeout=5000)
    assert win.canvas.live_mask_view()[0].any()


def test_gui_stays_responsive_and_stale_jobs_are_dropped(qtbot, tmp_path, image_folder) -> None:
    predictor = FakePredictor(encode_delay=0.8)
    win = open_window(qtbot, tmp_path / "s.ini", predictor)
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    win.folders.open_folder(image_folder)
    qtbot.wait(150)
    # Move on while the first image encodes: the second request goes stale before it starts.
    key(qtbot, win, Qt.Key.Key_D)
    qtbot.wait(100)
    key(qtbot, win, Qt.Key.Key_D)
    for _ in range(5):  # pan and zoom meanwhile
        win.canvas.zoom_by(1.1)
        win.canvas.pan_by(3, 2)
        qtbot.wait(30)
    qtbot.waitUntil(lambda: win.controller.embedding is not None, timeout=10000)
    timer.stop()
    gaps = np.diff(ticks)
    assert len(ticks) > 50 and gaps.max() < 0.1, f"longest gap {gaps.max() * 1000:.0f} ms"
    assert win.controller.row == 2
    # img_000 was running when the user left it; the request for img_001 went stale before
    # it started and was dropped; img_002 (current) and the two after it were encoded.
    win.controller.runner.wait_until_idle(10)
    from samlabel.session.source import read_source_image

    names = {image_mean(read_source_image(p).display): p.name for p in win.controller.paths}
    encoded = [names[mean] for _, mean in predictor.encoded]
    assert encoded == ["img_000.png", "img_002.png", "img_003.png", "img_004.png"]
    assert win.controller.embedding.features.mean() == pytest.approx(
        image_mean(win.controller.source.display) / 255.0, rel=1e-4
    )


def test_no_model_window_explains_and_offers_a_checkpoint(qtbot, tmp_path, image_folder) -> None:
    win = open_window(qtbot, tmp_path / "s.ini", None)
    win.notify_no_model()
    assert "model" in win.message_bar.text.lower()
    assert win.message_bar.action_button.text() == "Choose model…"
    assert win.folders.open_folder(image_folder)
    wait_ready(qtbot, win)
    click_image(qtbot, win, 40, 40)  # kept as a prompt, explained, no crash
    assert win.controller.prompts.points and win.controller.prompts.prediction is None
    assert win.status.model_label.text() == "No model"


def test_model_that_fails_to_load_leaves_the_app_usable(qtbot, tmp_path, image_folder) -> None:
    win = open_window(qtbot, tmp_path / "s.ini", None)

    def broken_loader(path: Path):
        raise CheckpointError(f"{path}: not a SAM checkpoint (no image_encoder weights).", path)

    win.models.loader = broken_loader
    bad = tmp_path / "weights.pth"
    bad.write_bytes(b"junk")
    win.models.load_model(bad)
    qtbot.waitUntil(lambda: "weights.pth" in win.message_bar.text, timeout=5000)
    assert "not a SAM checkpoint" in win.message_bar.text
    win.models.loader = lambda path: FakePredictor()
    win.models.load_model(bad)
    qtbot.waitUntil(lambda: win.controller.predictor is not None, timeout=5000)
    assert win.folders.open_folder(image_folder)
    wait_ready(qtbot, win)


def test_unreadable_image_is_reported_and_the_next_one_works(qtbot, window, image_folder):
    broken = image_folder / "img_001.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\ntruncated")
    key(qtbot, window, Qt.Key.Key_D)
    qtbot.waitUntil(lambda: "img_001.png" in window.message_bar.text, timeout=5000)
    key(qtbot, window, Qt.Key.Key_D)
    wait_ready(qtbot, window)
    assert window.controller.row == 2


def test_categories_layers_brush_and_eraser(qtbot, window) -> None:
    c = window.controller
    window.categories.add_category("car")
    window.categories.add_category("tree")
    assert [cat.name for cat in c.document.categories] == ["car", "tree"]
    key(qtbot, window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert c.current_category == c.document.categories[0].id
    click_image(qtbot, window, 50, 50)
    key(qtbot, window, Qt.Key.Key_Return)
    wait_idle(window)  # the accepted mask is made in the background
    key(qtbot, window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert window.category_box.currentText() == "tree"
    click_image(qtbot, window, 110, 70)
    key(qtbot, window, Qt.Key.Key_Return)
    wait_idle(window)  # the accepted mask is made in the background
    layers = c.layers
    assert layers.rowCount() == 2
    top, bottom = layers.annotation_ids()
    assert c.document.annotation(top).category_id == c.document.categories[1].id
    # Rename through the model (what editing the list does), recolour, hide, reorder.
    categories = c.categories
    assert categories.setData(categories.index(0), "vehicle")
    assert c.document.categories[0].name == "vehicle"
    window.categories.recolour_category(c.document.categories[0].id, "#00ff00")
    assert window.settings.category_color("vehicle") == "#00ff00"
    assert layers.setData(layers.index(0), Qt.CheckState.Unchecked, Qt.ItemDataRole.CheckStateRole)
    assert not layers.is_visible(top)
    assert [v.visible for v in window.canvas._annotations] == [True, False]
    window.layer_panel.select(bottom)
    assert c.selected_annotation == bottom
    window.layer_panel.up_button.click()
    assert layers.annotation_ids() == [bottom, top]
    window.layer_panel.categoryRequested.emit(bottom, c.document.categories[1].id)
    assert c.document.annotation(bottom).category_id == c.document.categories[1].id
    # Brush adds, eraser removes pixels of the selected mask.
    area = c.document.annotation(bottom).area
    key(qtbot, window, Qt.Key.Key_B)
    assert window.canvas.tool == "brush"
    c.brush(np.array([[5.0, 5.0], [20.0, 5.0]]), 4.0, False)
    assert c.document.annotation(bottom).area > area
    key(qtbot, window, Qt.Key.Key_E)
    c.brush(np.array([[50.0, 50.0]]), 6.0, True)
    assert c.document.annotation(bottom).area < area + 200
    key(qtbot, window, Qt.Key.Key_Delete)
    assert layers.rowCount() == 1
    coco = saved_coco(window)
    assert len(coco["annotations"]) == 1 and coco["categories"][0]["name"] == "vehicle"
    # Double click zooms in on it.
    scale = window.canvas.scale
    window.view.zoom_to_annotation(layers.annotation_ids()[0])
    assert window.canvas.scale != scale


def test_zoom_fit_and_pan_keys(qtbot, window) -> None:
    canvas = window.canvas
    fit_scale = canvas.scale
    key(qtbot, window, Qt.Key.Key_Plus)
    assert canvas.scale == pytest.approx(fit_scale * 1.25)
    key(qtbot, window, Qt.Key.Key_Minus)
    key(qtbot, window, Qt.Key.Key_Minus)
    assert canvas.scale < fit_scale
    key(qtbot, window, Qt.Key.Key_F)
    assert canvas.scale == pytest.approx(fit_scale)
    before = canvas.offset
    qtbot.mousePress(canvas, Qt.MouseButton.MiddleButton, pos=canvas.rect().center())
    qtbot.mouseMove(
        canvas,
        canvas.rect().center()
        + canvas.rect().topLeft()
        + (canvas.rect().center() - canvas.rect().center()),
    )
    qtbot.mouseRelease(canvas, Qt.MouseButton.MiddleButton, pos=canvas.rect().center())
    canvas.pan_by(10, -5)
    assert canvas.offset.x() == pytest.approx(before.x() + 10)


def test_settings_persist_between_sessions(qtbot, tmp_path, image_folder) -> None:
    settings = tmp_path / "settings.ini"
    win = open_window(qtbot, settings, FakePredictor())
    win.folders.open_folder(image_folder)
    win.radius_slider.setValue(33)
    win.categories.add_category("cell")
    win.categories.recolour_category(win.controller.document.categories[0].id, "#123456")
    win.close()
    again = open_window(qtbot, settings, FakePredictor())
    assert again.settings.last_folder == image_folder
    assert again.canvas.brush_radius == 33
    assert again.settings.category_color("cell") == "#123456"


def test_menus_and_shortcuts_are_data(window) -> None:
    shortcuts: dict[str, str] = {}
    assert set(window.bindings) == {spec.name for spec in ACTIONS}
    for spec in ACTIONS:
        assert callable(window.bindings[spec.name]), spec.name
        for sequence in spec.shortcuts:
            assert sequence not in shortcuts, f"{sequence} used by {shortcuts.get(sequence)}"
            shortcuts[sequence] = spec.name
    names = {spec.name for spec in ACTIONS}
    for _title, entries in MENUS:
        assert set(entries) - {"-"} <= names
    menu_titles = [a.text() for a in window.menuBar().actions()]
    assert menu_titles[:2] == ["&File", "&Edit"]
    assert window.actions["accept"].shortcut().toString() == "Return"
    assert window.bindings["accept"] == window.edits.accept_mask
    toolbar = {a.objectName() for a in window.toolbar.actions()}
    assert {"open_folder", "accept", "undo", "tool_brush"} <= toolbar


def test_menu_entries_run_their_command(qtbot, window) -> None:
    c = window.controller
    click_image(qtbot, window, 80, 60)
    window.actions["accept"].trigger()  # through the action, as the Edit menu does
    wait_idle(window)  # the accepted mask is made in the background
    assert len(c.document.annotations) == 1
    window.actions["tool_eraser"].trigger()
    assert window.canvas.tool == "eraser" and not window.actions["tool_brush"].isChecked()
    window.categories.add_category("car")
    window.categories.add_category("tree")
    assert c.document.category(c.current_category).name == "tree"
    window.actions["category_2"].trigger()  # Ctrl+2: the second category
    assert c.document.category(c.current_category).name == "car"
    window.actions["next_image"].trigger()
    assert c.row == 1


def _export(qtbot, window, kind, out) -> bool:
    """Start an export, wait for it without blocking the event loop, return its success."""
    job = window.exports.export_to(kind, out)
    qtbot.waitUntil(job.done, timeout=60_000)
    return bool(job.ok)


def test_export_runs_in_the_background_on_a_snapshot(qtbot, window, tmp_path) -> None:
    """The window keeps working while an export writes; edits after it started stay out."""
    click_image(qtbot, window, 80, 60)
    key(qtbot, window, Qt.Key.Key_Return)
    wait_idle(window)  # the accepted mask is made in the background
    out = tmp_path / "export"
    out.mkdir()
    job = window.exports.export_to("coco-polygons", out)
    click_image(qtbot, window, 40, 30)  # a second object, accepted after the export began
    key(qtbot, window, Qt.Key.Key_Return)
    wait_idle(window)  # the accepted mask is made in the background
    qtbot.waitUntil(job.done, timeout=60_000)
    assert job.ok, job.message
    exported = __import__("json").loads((out / "annotations_polygons.json").read_text())
    assert len(exported["annotations"]) == 1
    assert len(window.controller.document.annotations) == 2
    qtbot.waitUntil(lambda: str(out) in window.status.currentMessage(), timeout=5_000)


def test_exports_write_files_a_trainer_can_read(qtbot, window, tmp_path) -> None:
    click_image(qtbot, window, 80, 60)
    key(qtbot, window, Qt.Key.Key_Return)
    wait_idle(window)  # the accepted mask is made in the background
    out = tmp_path / "export"
    out.mkdir()
    assert _export(qtbot, window, "coco-polygons", out)
    polygons = __import__("json").loads((out / "annotations_polygons.json").read_text())
    assert isinstance(polygons["annotations"][0]["segmentation"], list)
    assert _export(qtbot, window, "png", out)
    assert _export(qtbot, window, "yolo", out)
    label = next((out / "labels").glob("*.txt")).read_text().split()
    assert label[0] == "0" and all(0.0 <= float(v) <= 1.0 for v in label[1:])


def test_damaged_annotations_file_is_reported_and_kept(qtbot, tmp_path, image_folder) -> None:
    annotations = image_folder / "annotations.json"
    annotations.write_text('{"images": [', encoding="utf-8")
    win = open_window(qtbot, tmp_path / "s.ini", FakePredictor())
    assert not win.folders.open_folder(image_folder)
    assert "annotations.json" in win.message_bar.text
    assert annotations.read_text(encoding="utf-8") == '{"images": ['


def test_file_held_by_another_window_opens_read_only(qtbot, tmp_path, image_folder) -> None:
    from samlabel.io.store import AnnotationStore

    other = AnnotationStore.open(image_folder / "annotations.json")
    try:
        win = open_window(qtbot, tmp_path / "s.ini", FakePredictor())
        assert win.folders.open_folder(image_folder)
        assert "will not be saved" in win.message_bar.text
    finally:
        other.close()


def test_ctrl_click_selects_the_mask_under_the_cursor(qtbot, window) -> None:
    c = window.controller
    click_image(qtbot, window, 40, 40)
    key(qtbot, window, Qt.Key.Key_Return)
    wait_idle(window)  # the accepted mask is made in the background
    first = c.selected_annotation
    click_image(qtbot, window, 120, 80)
    key(qtbot, window, Qt.Key.Key_Return)
    wait_idle(window)  # the accepted mask is made in the background
    assert c.selected_annotation != first
    pos = window.canvas.image_to_widget(40, 40).toPoint()
    qtbot.mouseClick(
        window.canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier, pos
    )
    assert c.selected_annotation == first and window.layer_panel.selected == first
    assert c.prompts.is_empty()  # Ctrl+click selects; it adds no prompt


def test_many_annotations_appear_without_freezing_the_window(qtbot, window) -> None:
    c = window.controller
    image_id = c.image_id
    category = c.ensure_category()
    for index in range(60):
        mask = np.zeros((120, 160), bool, order="F")
        mask[
            (index % 10) * 12 : (index % 10) * 12 + 10, (index // 10) * 25 : (index // 10) * 25 + 20
        ] = True
        c.document.add_annotation(image_id, category, mask)
    key(qtbot, window, Qt.Key.Key_D)
    wait_ready(qtbot, window)
    key(qtbot, window, Qt.Key.Key_A)
    wait_ready(qtbot, window)
    qtbot.waitUntil(lambda: window.overlays.complete, timeout=5000)
    assert len(window.canvas._annotations) == 60
    assert window.canvas.annotation_at(5, 5) is not None


def test_typing_a_category_name_does_not_trigger_shortcuts(qtbot, window) -> None:
    c = window.controller
    window.categories.add_category("cat")
    click_image(qtbot, window, 80, 60)
    view = window.category_panel.view
    view.setFocus()
    view.edit(c.categories.index(0))
    editor = view.focusWidget()
    qtbot.keyClick(editor, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(editor, "dad")  # A and D would switch images
    qtbot.keyClick(editor, Qt.Key.Key_Return)  # the view commits the edit on the next event
    qtbot.waitUntil(lambda: c.document.categories[0].name == "dad", timeout=2000)
    assert c.row == 0 and c.document.annotations == ()  # no image switch, no accept
