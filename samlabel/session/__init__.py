"""The labelling session without Qt: the one owner of its state, plain events, scheduling.

:class:`LabellingSession` is used by the window (:mod:`samlabel.qt.controller` adapts it to Qt
signals and runs its requests in background threads) and by tests and headless commands
(:class:`~samlabel.session.headless.SyncRunner` runs them on the calling thread).
"""

from __future__ import annotations

from samlabel.session.events import Event, SessionEvents
from samlabel.session.headless import SyncRunner
from samlabel.session.session import LabellingSession

__all__ = ["Event", "LabellingSession", "SessionEvents", "SyncRunner"]
