"""Plain events the session publishes: a small observer list per event, no Qt.

The window turns each into a Qt signal (:mod:`samlabel.qt.controller`); a headless command or a
test subscribes with any callable. Handlers run synchronously, on the thread that changed the
session (the GUI thread in the app), in the order they subscribed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Event:
    """One kind of news: ``subscribe(handler)``, then ``emit(*args)`` calls every handler."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._handlers: list[Callable[..., Any]] = []

    def subscribe(self, handler: Callable[..., Any]) -> Callable[[], None]:
        """Call ``handler(*args)`` on every emit; returns a function that unsubscribes it."""
        self._handlers.append(handler)

        def unsubscribe() -> None:
            if handler in self._handlers:
                self._handlers.remove(handler)

        return unsubscribe

    def emit(self, *args: Any) -> None:
        """Call the handlers with ``args`` (a copy of the list: a handler may unsubscribe)."""
        for handler in list(self._handlers):
            handler(*args)

    def __repr__(self) -> str:
        return f"Event({self.name!r}, {len(self._handlers)} handlers)"


class SessionEvents:
    """What a view of the session listens to.

    Attributes:
        folder_opened: ``()`` another folder and annotations file are open (image list,
            document); ``document_changed`` and ``image_changed`` follow.
        image_changed: ``()`` another image is current (its pixels follow with image_loaded).
        image_loaded: ``()`` the current picture arrived (``source`` set) or failed (None);
            also after a switch between a huge image's overview and a crop (fit it anew).
        pixels_changed: ``()`` the same picture with other pixels (a new window/level): keep
            the view where it is.
        prompts_changed: ``()`` prompts, prediction or the selected candidate changed.
        embedding_state: ``(state)`` ``"encoding"``, ``"ready"``, ``"failed"`` or ``"none"``.
        document_changed: ``()`` annotations, categories, statuses or the selection changed.
        message: ``(level, text)`` for the user; level ``"info"``, ``"warning"`` or ``"error"``.
    """

    def __init__(self) -> None:
        self.folder_opened = Event("folder_opened")
        self.image_changed = Event("image_changed")
        self.image_loaded = Event("image_loaded")
        self.pixels_changed = Event("pixels_changed")
        self.prompts_changed = Event("prompts_changed")
        self.embedding_state = Event("embedding_state")
        self.document_changed = Event("document_changed")
        self.message = Event("message")
