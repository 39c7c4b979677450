"""Start-up guards, the exception hooks and the settings file."""

from __future__ import annotations

import sys
import threading

import pytest

from samlabel.qt.exception_hook import ExceptionReporter, install_exception_hooks
from samlabel.qt.settings import SettingsStore


def test_void_qt_calls_do_not_consume_references_to_none(qtbot) -> None:
    """The installed binding must not leak None (PySide6 6.12.0 does on Python 3.11)."""
    from PySide6.QtWidgets import QLabel

    from samlabel.qt.compat import protect_none_refcount

    protect_none_refcount()
    label = QLabel()
    qtbot.addWidget(label)
    if sys.version_info >= (3, 12):
        pytest.skip("None is immortal on Python 3.12+")
    before = sys.getrefcount(None)
    for _ in range(2000):
        label.setText("x")
    assert sys.getrefcount(None) - before > -100


def test_exceptions_are_logged_and_shown_once(qtbot, caplog) -> None:
    shown: list[str] = []
    reporter = ExceptionReporter(lambda title, text: shown.append(text))
    restore = install_exception_hooks(reporter)
    try:
        for _ in range(3):
            try:
                raise ValueError("broken slot")
            except ValueError:
                sys.excepthook(*sys.exc_info())
        thread = threading.Thread(target=lambda: 1 / 0, name="worker-x")
        thread.start()
        thread.join()
        qtbot.waitUntil(lambda: len(shown) == 2, timeout=2000)
    finally:
        restore()
    assert "ValueError: broken slot" in shown[0]
    assert "ZeroDivisionError" in shown[1]
    assert reporter.count == 4
    assert "worker-x" in caplog.text and "broken slot" in caplog.text
    assert sys.excepthook is not None and threading.excepthook is not reporter


def test_exception_in_a_slot_or_shortcut_is_reported_and_the_app_carries_on(qtbot) -> None:
    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QAction, QKeySequence
    from PySide6.QtWidgets import QWidget

    shown: list[str] = []
    reporter = ExceptionReporter(lambda title, text: shown.append(text))
    widget = QWidget()
    qtbot.addWidget(widget)
    action = QAction(widget)
    action.setShortcut(QKeySequence("K"))
    widget.addAction(action)

    def broken() -> None:
        raise RuntimeError("handler bug")

    action.triggered.connect(broken)
    restore = install_exception_hooks(reporter)
    try:
        QTimer.singleShot(0, broken)
        qtbot.wait(50)
        action.trigger()
        ticks = []
        QTimer.singleShot(0, lambda: ticks.append(1))
        qtbot.waitUntil(lambda: bool(ticks and shown), timeout=2000)
    finally:
        restore()
    assert reporter.count == 2 and len(shown) == 1  # logged twice, shown once
    assert "handler bug" in shown[0]


def test_settings_round_trip_and_bad_values(tmp_path) -> None:
    path = tmp_path / "s.ini"
    settings = SettingsStore(path)
    assert settings.last_folder is None and settings.brush_radius == 12
    settings.last_folder = tmp_path
    settings.model_path = tmp_path / "m.pth"
    settings.brush_radius = 40
    settings.set_category_color("road", "#abcdef")
    settings.sync()
    again = SettingsStore(path)
    assert again.last_folder == tmp_path and again.model_path == tmp_path / "m.pth"
    assert again.brush_radius == 40 and again.category_color("road") == "#abcdef"
    path.write_text("[tools]\nbrush_radius=lots\n")
    assert SettingsStore(path).brush_radius == 12
