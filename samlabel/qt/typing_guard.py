"""Keys typed into a text field belong to it, not to the window's single-key shortcuts.

The window binds plain keys (A, D, 1, 2, 3, Enter, Esc, Tab...) to commands. Qt asks the
focused widget first with a ShortcutOverride event; line edits claim printable characters but
not Enter, Esc or Tab, so renaming a category with Enter would accept a mask instead. This
filter makes every text field (line edit, spin box) claim all keys without Ctrl/Alt/Meta.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QAbstractSpinBox, QLineEdit

_COMMAND_MODIFIERS = (
    Qt.KeyboardModifier.ControlModifier
    | Qt.KeyboardModifier.AltModifier
    | Qt.KeyboardModifier.MetaModifier
)


class TypingGuard(QObject):
    """Install on the QApplication: ``app.installEventFilter(TypingGuard(parent))``."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.ShortcutOverride
            and isinstance(watched, QLineEdit | QAbstractSpinBox)
            and isinstance(event, QKeyEvent)
            and not event.modifiers() & _COMMAND_MODIFIERS
        ):
            event.accept()  # the key goes to the text field as a normal key press
        return False
