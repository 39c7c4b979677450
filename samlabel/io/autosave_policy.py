"""When to autosave: the one policy, without Qt or threads (a timer of the caller's drives it).

A save is due :data:`QUIET` seconds after the last change (a burst of edits is one save), but
never later than :data:`LONGEST` seconds after the first change not yet saved (a steady stream
of edits must not postpone it forever). The bound asked for is two seconds; it is 0.75 s so
that, with the save's own time, a kill still loses at most the last second of work (the
promise tests/e2e/test_crash_recovery.py checks with an accept every 0.1 s). Times are
``time.monotonic()`` seconds (tests pass their own clock values).
"""

from __future__ import annotations

#: Seconds of quiet after the last change before saving.
QUIET = 0.25
#: Seconds from the first unsaved change to the save, however busy the user is (<= 2 s).
LONGEST = 0.75


class AutosavePolicy:
    """Tracks unsaved changes and says when to save.

    Call :meth:`changed` on every change, :meth:`saving` when a save takes its snapshot; ask
    :meth:`due_at` when to run it.
    """

    def __init__(self, quiet: float = QUIET, longest: float = LONGEST) -> None:
        if not 0 <= quiet <= longest:
            raise ValueError(f"need 0 <= quiet <= longest, got {quiet} and {longest}")
        self.quiet = quiet
        self.longest = longest
        self._first: float | None = None
        self._last: float | None = None

    def changed(self, now: float) -> float:
        """Note a change at ``now``; returns when the save is due."""
        if self._first is None:
            self._first = now
        self._last = now
        due = self.due_at()
        assert due is not None
        return due

    def due_at(self) -> float | None:
        """When the pending save is due, or None when nothing is unsaved."""
        if self._first is None or self._last is None:
            return None
        return min(self._last + self.quiet, self._first + self.longest)

    def is_due(self, now: float) -> bool:
        """Whether a save should run at ``now``."""
        due = self.due_at()
        return due is not None and now >= due

    def saving(self) -> None:
        """A save took its snapshot: changes from now on count as new unsaved ones."""
        self._first = self._last = None
