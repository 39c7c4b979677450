"""The open annotations file's news, for the user: a part of the session, no Qt.

:class:`FileGuard` turns what the store says into messages and lasting notices, and runs the
store calls that change the document (a merge, a reload, save-as, taking the lock) on the
session's thread, which owns the document:

- every :class:`~samlabel.io.save_outcome.SaveOutcome`: MERGED is a passing message naming
  what was kept and renumbered; CONFLICT a lasting notice naming the conflict file; DEFERRED
  (the saving thread found another program's edit and did not merge) is saved again here at
  once, which merges; FAILED a lasting notice (the autosave retries), gone once saved.
- an outside change (:meth:`check`, from a file watcher or a timer): reloaded at once when
  nothing is unsaved here, else merged now by a save.
- a read-only file: a lasting notice with "Save annotations as…"; a file another window held
  that it let go of: an offer to take it.

Lasting notices go out as ``events.notice(key, level, text, offers)``; an empty ``text``
means the problem under ``key`` is resolved. ``offers`` name the choices the view may show as
buttons (:data:`OFFERS`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from filelock import FileLock, Timeout

from samlabel.core.errors import AnnotationFileError
from samlabel.io.coco import UNREADABLE
from samlabel.io.save_outcome import SaveKind, SaveOutcome
from samlabel.io.store import AnnotationStore
from samlabel.session.events import SessionEvents

#: Choices a notice may offer, by name: what the session method of the same name does.
OFFERS = {
    "save_as": "Save annotations as…",
    "use_theirs": "Use their version",
    "take_lock": "Take it over",
    "rescale": "Rescale annotations",
    "set_aside": "Set them aside as stale",
}


#: How the user is told the text encoding of a file read.
ENCODINGS = {"utf-8-sig": "UTF-8 with a byte order mark", "utf-16": "UTF-16", "utf-32": "UTF-32"}


def lock_is_free(path: Path) -> bool:
    """Whether no process holds ``path``'s lock now (taken and let go at once; no note)."""
    probe = FileLock(path.with_name(path.name + ".lock"), timeout=0)
    try:
        probe.acquire(timeout=0)
    except (Timeout, OSError):
        return False
    probe.release(force=True)
    return True


def unreadable_text(store: AnnotationStore) -> str:
    """Which annotations of the store's file cannot be read ("" when all can)."""
    reasons = store.unreadable
    if not reasons:
        return ""
    entries = store.foreign.get(UNREADABLE, [])
    ids = [str(e["id"]) for e in entries if isinstance(e, dict) and isinstance(e.get("id"), int)]
    which = f" (ids {', '.join(ids[:10])}{', …' if len(ids) > 10 else ''})" if ids else ""
    count = f"{len(reasons)} annotation{'s' if len(reasons) > 1 else ''}"
    return (
        f"{count} of {store.path.name} cannot be read{which}; kept in the file exactly as they "
        f"are, not shown. The first: {reasons[0].rstrip('.')}."
    )


class FileGuard:
    """See the module docstring. ``store_of()`` gives the session's open store (or None)."""

    def __init__(
        self,
        events: SessionEvents,
        store_of: Callable[[], AnnotationStore | None],
        on_moved: Callable[[], None] = lambda: None,
    ) -> None:
        """``on_moved()`` is called after save-as moved the file."""
        self._events = events
        self._store_of = store_of
        self._on_moved = on_moved
        self._keys: set[str] = set()
        self._last_warning = ""
        self._told_conflict: Path | None = None  # a dismissed conflict is not shown again
        self._unreadable = ""  # the notice about annotations that cannot be read, as told

    def _message(self, level: str, text: str) -> None:
        self._events.message.emit(level, text)

    def notice(self, key: str, level: str, text: str, offers: tuple[str, ...] = ()) -> None:
        """Publish a lasting notice (``text`` "" resolves ``key``)."""
        if text:
            self._keys.add(key)
        elif key not in self._keys:
            return
        else:
            self._keys.discard(key)
        self._events.notice.emit(key, level, text, offers)

    def resolve(self, key: str) -> None:
        """The problem under ``key`` is over."""
        self.notice(key, "", "")

    # -- opening and closing -------------------------------------------------------------
    def opened(self) -> None:
        """A file was opened: a read-only one, or one with annotations it cannot read, gets
        its lasting notice."""
        self.refresh_read_only()
        self.refresh_unreadable()
        store = self._store_of()
        if store is not None and store.encoding != "utf-8" and not store.read_only:
            encoding = ENCODINGS.get(store.encoding, store.encoding.upper())
            self._message(
                "warning",
                f"{store.path.name} is {encoding} text: it is saved as plain UTF-8, the text "
                "encoding JSON files use, with the same content.",
            )

    def refresh_unreadable(self) -> None:
        """Say how many annotations of the file cannot be read, and which (kept as they are)."""
        store = self._store_of()
        text = unreadable_text(store) if store is not None else ""
        if text and ("unreadable" not in self._keys or text != self._unreadable):
            self.notice("unreadable", "warning", text)  # once per news, not at every save
        elif not text:
            self.resolve("unreadable")
        self._unreadable = text

    def closed(self) -> None:
        """The file was closed: its notices go."""
        for key in list(self._keys):
            self.resolve(key)

    def refresh_read_only(self) -> None:
        """Show (or clear) why the open file cannot be saved, with the ways out."""
        store = self._store_of()
        if store is None or store.read_only_reason is None:
            self.resolve("read_only")
            return
        self.notice(
            "read_only",
            "warning",
            f"Changes will not be saved: {store.read_only_reason.rstrip('.')}. Use File ▸ Save "
            "annotations as… to keep them in another place.",
            ("save_as",),
        )

    # -- saves ---------------------------------------------------------------------------
    def on_outcome(self, outcome: SaveOutcome) -> None:
        """Tell the user what a save did; a deferred merge is saved again here (this is the
        thread that owns the document)."""
        kind = outcome.kind
        if kind is SaveKind.DEFERRED:
            store = self._store_of()
            if store is not None:
                self.on_outcome(store.try_save())
            return
        if kind is SaveKind.NOTHING:
            return
        if kind is SaveKind.FAILED:
            self.notice(
                "save_failed",
                "error",
                f"{outcome.message.rstrip('.')}. Your work is kept here and saving is retried; "
                "free space or fix the folder's permissions.",
                ("save_as",),
            )
            return
        self.resolve("save_failed")
        if kind is SaveKind.CONFLICT:
            if outcome.conflict_path != self._told_conflict:
                self._told_conflict = outcome.conflict_path
                self.notice("conflict", "warning", outcome.message, ("use_theirs",))
        elif outcome.message:  # MERGED, or SAVED with news (the file had been deleted)
            self._message("info", outcome.message)
            self.refresh_unreadable()  # a merge may bring annotations that cannot be read

    # -- outside changes and the lock ----------------------------------------------------
    def check(self) -> None:
        """Look at the file: another program's change is reloaded (nothing unsaved here) or
        merged now; a lock let go of is offered."""
        store = self._store_of()
        if store is None or store.closed:
            return
        if store.read_only_kind == "locked":
            if "lock_free" not in self._keys and lock_is_free(store.path):
                self.notice(
                    "lock_free",
                    "info",
                    f"The other window let go of {store.path.name}: take it over to save "
                    "your changes there.",
                    ("take_lock",),
                )
            return
        if store.conflict_path is not None:
            return  # ours goes to the conflict copy until the user takes theirs or saves as
        change = store.check_outside_change()
        if not change.changed:
            return
        if store.read_only:
            return  # nothing of ours is written; the next open reads theirs
        if change.reload_safe:
            try:
                store.reload()
            except AnnotationFileError as error:  # e.g. still being written: next time
                if str(error) != self._last_warning:
                    self._last_warning = str(error)
                    self._message("warning", f"{error} It is read again when it changes.")
                return
            self._last_warning = ""
            self.refresh_unreadable()
            self._message("info", f"{store.path.name} was changed by another program; reloaded.")
            return
        self.on_outcome(store.try_save())  # our unsaved work: merged with theirs now

    def use_theirs(self) -> bool:
        """End a conflict by taking the other program's file (ours stays in the copy)."""
        store = self._store_of()
        self.resolve("conflict")
        if store is None:
            return False
        kept = store.conflict_path
        try:
            store.reload()
        except AnnotationFileError as error:
            self._message("error", str(error))
            return False
        self._told_conflict = None
        self.refresh_unreadable()
        where = f"; yours stays in {kept.name}" if kept is not None else ""
        self._message("info", f"Now showing {store.path.name} as the other program left it{where}.")
        return True

    def take_lock(self) -> bool:
        """Take the file over from the window that let go of it; False (told) when that
        window holds it again."""
        store = self._store_of()
        self.resolve("lock_free")
        if store is None:
            return False
        if not store.try_take_lock():
            self._message("warning", f"{store.path.name} is held again by another window.")
            return False
        self.refresh_read_only()
        self._message("info", f"This window now saves {store.path}.")
        return True

    def save_as(self, path: Path) -> bool:
        """Write the document to ``path`` and save there from now on; False (told) when it
        cannot be written there."""
        store = self._store_of()
        if store is None:
            return False
        try:
            outcome = store.save_as(path)
        except AnnotationFileError as error:
            self._message("error", str(error))
            return False
        for key in ("read_only", "lock_free", "save_failed", "conflict"):
            self.resolve(key)
        self._on_moved()
        self._message("info", outcome.message)
        return True
