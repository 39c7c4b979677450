"""What a save did and whether the file changed outside: plain values the window shows.

:class:`SaveOutcome` answers :meth:`samlabel.io.store.AnnotationStore.try_save`;
:class:`OutsideChange` answers :meth:`~samlabel.io.store.AnnotationStore.check_outside_change`.
Their ``message`` is one sentence naming the file, fit to show as is.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from samlabel.io.merge import MergeSummary


class SaveKind(str, Enum):
    """``SAVED``: written; ``MERGED``: another program's edits were merged in first;
    ``CONFLICT``: their file was kept and ours written beside it; ``FAILED``: not written;
    ``NOTHING``: nothing to save (clean, or read-only); ``DEFERRED``: the file changed
    outside and the save came from another thread than the document's, which must merge."""

    SAVED = "saved"
    MERGED = "merged"
    CONFLICT = "conflict"
    FAILED = "failed"
    NOTHING = "nothing"
    DEFERRED = "deferred"


@dataclass(frozen=True)
class SaveOutcome:
    """The result of one save.

    Attributes:
        kind: see :class:`SaveKind`.
        path: the annotations file.
        message: one sentence for the user; empty for a plain save.
        summary: for MERGED, what was kept from the other program and what was renumbered.
        conflict_path: for CONFLICT, the file that holds our version.
    """

    kind: SaveKind
    path: Path
    message: str = ""
    summary: MergeSummary | None = None
    conflict_path: Path | None = None

    @property
    def persistent(self) -> bool:
        """Whether the message must stay on screen until dismissed (not a passing toast)."""
        return self.kind in (SaveKind.CONFLICT, SaveKind.FAILED)


@dataclass(frozen=True)
class OutsideChange:
    """Whether the annotations file changed since we last read or wrote it.

    Attributes:
        changed: its bytes differ (or it appeared or vanished).
        reload_safe: changed, and nothing unsaved here: a plain reload loses nothing.
        message: one sentence for the user; empty when unchanged.
    """

    changed: bool
    reload_safe: bool
    message: str = ""
