"""A damaged settings file or config folder never stops the window: defaults, one log line."""

from __future__ import annotations

import logging
from pathlib import Path

from samlabel.qt.settings import DEFAULT_BRUSH_RADIUS, SettingsStore
from tests.qt.window_helpers import open_window


def _warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_an_absurd_brush_radius_starts_with_the_default(qtbot, tmp_path: Path, caplog) -> None:
    settings = tmp_path / "settings.ini"
    settings.write_text("[tools]\nbrush_radius=99999999999999999999\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="samlabel"):
        window = open_window(qtbot, settings)
    assert window.radius_slider.value() == DEFAULT_BRUSH_RADIUS
    assert window.canvas.brush_radius == DEFAULT_BRUSH_RADIUS
    lines = _warnings(caplog)
    assert len(lines) == 1 and "brush_radius" in lines[0] and str(settings) in lines[0]


def test_a_config_folder_that_is_a_file_gives_defaults(
    qtbot, tmp_path: Path, monkeypatch, caplog
) -> None:
    not_a_folder = tmp_path / "config"
    not_a_folder.write_text("something else\n", encoding="utf-8")
    monkeypatch.setenv("SAMLABEL_CONFIG_DIR", str(not_a_folder))
    with caplog.at_level(logging.WARNING, logger="samlabel"):
        settings = SettingsStore()
        settings.brush_radius = 30  # not remembered, but no error
        settings.sync()
    assert settings.last_folder is None
    assert not_a_folder.read_text(encoding="utf-8") == "something else\n"
    lines = _warnings(caplog)
    assert len(lines) == 1 and str(not_a_folder) in lines[0]


def test_a_bad_stored_colour_does_not_block_the_category_name(
    qtbot, tmp_path: Path, image_folder: Path, caplog
) -> None:
    settings = tmp_path / "settings.ini"
    settings.write_text("[category_colors]\ncar=not-a-colour\n", encoding="utf-8")
    window = open_window(qtbot, settings)
    assert window.folders.open_folder(image_folder)
    with caplog.at_level(logging.WARNING, logger="samlabel"):
        window.categories.add_category("car")
    names = [c.name for c in window.controller.document.categories]
    assert names == ["car"]
    assert window.message_bar.text == ""  # nothing refused
    lines = _warnings(caplog)
    assert len(lines) == 1 and "car" in lines[0]
