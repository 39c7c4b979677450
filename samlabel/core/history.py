"""Undo/redo: a bounded stack of commands (the command pattern).

A command has already been applied when it is pushed; :meth:`History.undo` calls its
``undo()``, :meth:`History.redo` its ``redo()``. Pushing a new command drops the redo stack.
The oldest commands fall off once ``max_depth`` is reached.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Protocol


class Command(Protocol):
    """Something that was done and can be undone and done again."""

    label: str

    def undo(self) -> None: ...

    def redo(self) -> None: ...


class History:
    """Undo and redo stacks of at most ``max_depth`` commands each."""

    def __init__(self, max_depth: int = 200) -> None:
        if max_depth < 1:
            raise ValueError(f"history depth must be at least 1, got {max_depth}")
        self.max_depth = max_depth
        self._undo: deque[Command] = deque(maxlen=max_depth)
        self._redo: list[Command] = []

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def undo_label(self) -> str | None:
        """Label of the command :meth:`undo` would undo (for an "Undo <label>" menu entry)."""
        return self._undo[-1].label if self._undo else None

    @property
    def redo_label(self) -> str | None:
        return self._redo[-1].label if self._redo else None

    def push(self, command: Command) -> None:
        """Record a command that has just been applied."""
        self._undo.append(command)
        self._redo.clear()

    def extend_last(self, extend: Callable[[Command], bool]) -> bool:
        """Let the last undoable command take in a change that was just applied.

        ``extend(command)`` changes the command in place so that it also covers the change
        and returns True, or returns False to refuse (then nothing changes). On success the
        redo stack is dropped, as by :meth:`push`. False when there is nothing to extend.
        """
        if not self._undo or not extend(self._undo[-1]):
            return False
        self._redo.clear()
        return True

    def undo(self) -> bool:
        """Undo the last command; False when there is nothing to undo."""
        if not self._undo:
            return False
        command = self._undo.pop()
        command.undo()
        self._redo.append(command)
        return True

    def redo(self) -> bool:
        """Redo the last undone command; False when there is nothing to redo."""
        if not self._redo:
            return False
        command = self._redo.pop()
        command.redo()
        self._undo.append(command)
        return True

    def commands(self) -> list[Command]:
        """Every recorded command, undoable and redoable ones (for rewriting them in place)."""
        return [*self._undo, *self._redo]

    def clear(self) -> None:
        self._undo.clear()
        self._redo.clear()

    def __len__(self) -> int:
        return len(self._undo)
