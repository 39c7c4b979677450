"""Builds the window's QActions, menus and toolbar from the data in :mod:`samlabel.qt.actions`.

Each action runs the callable bound to its name (``MainWindow.bindings``); nothing is looked
up by name at run time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QMenu, QMenuBar, QToolBar, QWidget

from samlabel.qt.actions import ACTIONS, MENUS, TOOLBAR
from samlabel.qt.assets import icon


def build_actions(
    window: QWidget, bindings: Mapping[str, Callable[[], None]]
) -> dict[str, QAction]:
    """One QAction per spec of :data:`ACTIONS`, added to ``window`` (so its shortcuts work
    even with the menu bar hidden) and running ``bindings[name]``."""
    actions: dict[str, QAction] = {}
    for spec in ACTIONS:
        action = QAction(spec.text, window)
        action.setObjectName(spec.name)
        if spec.shortcuts:
            action.setShortcuts([QKeySequence(s) for s in spec.shortcuts])
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setCheckable(spec.checkable)
        if spec.icon:
            action.setIcon(icon(spec.icon))
        tip = spec.tip or spec.text.replace("&", "")
        if spec.shortcuts:
            tip = f"{tip} ({spec.shortcuts[0]})"
        action.setToolTip(tip)
        action.setStatusTip(tip)
        run = bindings[spec.name]
        # triggered(checked) carries an argument the commands do not take.
        action.triggered.connect(lambda _checked=False, run=run: run())
        window.addAction(action)
        actions[spec.name] = action
    return actions


def build_menus(menu_bar: QMenuBar, actions: Mapping[str, QAction]) -> dict[str, QMenu]:
    """The menus of :data:`MENUS`, by title without ``&`` (``"File"``)."""
    menus: dict[str, QMenu] = {}
    for title, names in MENUS:
        menu = menu_bar.addMenu(title)
        menu.setObjectName(title.replace("&", "").lower() + "Menu")
        for name in names:
            if name == "-":
                menu.addSeparator()
            else:
                menu.addAction(actions[name])
        menus[title.replace("&", "")] = menu
    return menus


def build_toolbar(
    window: QMainWindow,
    actions: Mapping[str, QAction],
    widgets: Mapping[str, tuple[str, QWidget]],
) -> QToolBar:
    """The main toolbar of :data:`TOOLBAR`; ``widgets["|name"]`` is ``(label, widget)`` for
    its non-action entries (the category chooser, the brush radius)."""
    toolbar = QToolBar("Tools", window)
    toolbar.setObjectName("mainToolbar")
    toolbar.setMovable(False)
    window.addToolBar(toolbar)
    for name in TOOLBAR:
        if name == "-":
            toolbar.addSeparator()
        elif name in widgets:
            label, widget = widgets[name]
            toolbar.addWidget(QLabel(f" {label} "))
            toolbar.addWidget(widget)
        else:
            toolbar.addAction(actions[name])
    return toolbar
