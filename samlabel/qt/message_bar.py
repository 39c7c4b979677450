"""A non-modal bar above the canvas for messages that need the user's eyes.

Never a modal dialog: a message must not block the labelling (or an offscreen test). The bar
keeps the last message with up to two action buttons ("Choose model…") and a close button.

Problems that last (a conflict with another program's edit, a read-only file, an image whose
size changed) are *pinned* under a key: a passing message may cover one for a while, and
when it is dismissed the pinned one comes back; a pinned message goes when the user dismisses
it or the window unpins it (resolved).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

Action = Callable[[], None]


@dataclass(frozen=True)
class _Shown:
    level: str
    text: str
    buttons: tuple[tuple[str, Action], ...] = ()
    key: str = ""  # "" for a passing message


class MessageBar(QFrame):
    """Shows one message at a time: ``show_message(level, text, action_text, action)``, or a
    lasting one with :meth:`pin`."""

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
        self.second_button = QPushButton()
        self.second_button.setObjectName("messageSecondAction")
        layout.addWidget(self.second_button)
        close = QToolButton()
        close.setText("✕")
        close.setToolTip("Dismiss")
        close.clicked.connect(self.dismiss)
        layout.addWidget(close)
        self.level = ""
        self._shown: _Shown | None = None
        self._pinned: dict[str, _Shown] = {}
        self.action_button.clicked.connect(lambda: self._run_action(0))
        self.second_button.clicked.connect(lambda: self._run_action(1))
        self.hide()

    @property
    def text(self) -> str:
        """The message shown ("" when hidden)."""
        return self.label.text() if not self.isHidden() else ""

    @property
    def pinned_keys(self) -> list[str]:
        """Keys of the lasting messages, oldest first."""
        return list(self._pinned)

    def pinned_text(self, key: str) -> str:
        """The lasting message under ``key`` ("" when none)."""
        shown = self._pinned.get(key)
        return shown.text if shown is not None else ""

    def show_message(
        self,
        level: str,
        text: str,
        action_text: str = "",
        action: Action | None = None,
    ) -> None:
        """Show ``text``; ``level`` is ``"info"``, ``"warning"`` or ``"error"`` (the colour)."""
        buttons = ((action_text, action),) if action_text and action is not None else ()
        self._show(_Shown(level, text, buttons))

    def pin(
        self, key: str, level: str, text: str, buttons: tuple[tuple[str, Action], ...] = ()
    ) -> None:
        """Show ``text`` until dismissed or :meth:`unpin` (``buttons``: up to two
        ``(label, action)``; pressing one runs it and unpins)."""
        shown = _Shown(level, text, tuple(buttons)[:2], key)
        self._pinned.pop(key, None)
        self._pinned[key] = shown
        self._show(shown)

    def unpin(self, key: str) -> None:
        """The problem under ``key`` is resolved: its message goes (if it is shown, the next
        lasting one, if any, comes back)."""
        if self._pinned.pop(key, None) is None:
            return
        if self._shown is not None and self._shown.key == key:
            self._show_next_pinned()

    def _show(self, shown: _Shown) -> None:
        self._shown = shown
        self.level = shown.level
        self.setProperty("level", shown.level)
        self.style().unpolish(self)
        self.style().polish(self)
        self.label.setText(shown.text)
        for index, button in enumerate((self.action_button, self.second_button)):
            if index < len(shown.buttons):
                button.setText(shown.buttons[index][0])
                button.setVisible(True)
            else:
                button.setText("")
                button.setVisible(False)
        self.show()

    def _show_next_pinned(self) -> None:
        if self._pinned:
            self._show(list(self._pinned.values())[-1])
        else:
            self._shown = None
            self.hide()
            self.level = ""

    def offers(self, action: Action) -> bool:
        """Whether the bar is shown with a button that runs ``action``."""
        if self.isHidden() or self._shown is None:
            return False
        return any(candidate == action for _, candidate in self._shown.buttons)

    def dismiss(self) -> None:
        """Hide the message shown (a lasting one is let go of); a lasting one left comes back."""
        if self._shown is not None and self._shown.key:
            self._pinned.pop(self._shown.key, None)
        self._show_next_pinned()

    def _run_action(self, index: int) -> None:
        shown = self._shown
        if shown is None or index >= len(shown.buttons):
            return
        self.dismiss()
        shown.buttons[index][1]()
