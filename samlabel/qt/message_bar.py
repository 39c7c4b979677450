"""A non-modal bar above the canvas for messages that need the user's eyes.

Never a modal dialog: a message must not block the labelling (or an offscreen test). The bar
keeps the last message with an optional action button ("Choose model…") and a close button.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget


class MessageBar(QFrame):
    """Shows one message at a time: ``show_message(level, text, action_text, action)``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageBar")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setObjectName("messageText")
        layout.addWidget(self.label, 1)
        self.action_button = QPushButton()
        self.action_button.setObjectName("messageAction")
        layout.addWidget(self.action_button)
        close = QToolButton()
        close.setText("✕")
        close.setToolTip("Dismiss")
        close.clicked.connect(self.dismiss)
        layout.addWidget(close)
        self.level = ""
        self._action: Callable[[], None] | None = None
        self.action_button.clicked.connect(self._run_action)
        self.hide()

    @property
    def text(self) -> str:
        """The message shown ("" when hidden)."""
        return self.label.text() if not self.isHidden() else ""

    def show_message(
        self,
        level: str,
        text: str,
        action_text: str = "",
        action: Callable[[], None] | None = None,
    ) -> None:
        """Show ``text``; ``level`` is ``"info"``, ``"warning"`` or ``"error"`` (the colour)."""
        self.level = level
        self.setProperty("level", level)
        self.style().unpolish(self)
        self.style().polish(self)
        self.label.setText(text)
        self._action = action
        self.action_button.setText(action_text)
        self.action_button.setVisible(bool(action_text and action))
        self.show()

    def offers(self, action: Callable[[], None]) -> bool:
        """Whether the bar is shown with a button that runs ``action``."""
        return not self.isHidden() and self._action is not None and self._action == action

    def dismiss(self) -> None:
        """Hide the bar."""
        self.hide()
        self.level = ""

    def _run_action(self) -> None:
        action = self._action
        self.dismiss()
        if action is not None:
            action()
