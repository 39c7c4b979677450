"""Whether an annotations file can be saved where it is, decided when it is opened.

Saving writes files beside the annotations file (``.<name>.<random>.tmp``, ``<name>.bak``,
``<name>.lock``, ``<name>.lock.json``, ``<stem>.conflict-<time>.json``), so a name that fits
the filesystem may still be too long for those: such a file would open and then fail every
save. Permission bits count even for a superuser: a file or folder made read-only says
"do not change this".
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from samlabel.io.lock import AnnotationLock, LockOwner

#: Bytes that saving adds to the annotations file's name, at most: ``.`` + name + ``.`` +
#: 8 random characters + ``.tmp`` (the temporary file).
_TEMP_EXTRA = 14
#: ``.conflict-YYYYmmdd-HHMMSS-NNN.json`` replacing the extension of the conflict copy.
_CONFLICT_EXTRA = 34


def name_max(folder: Path) -> int:
    """The longest file name (bytes) the filesystem of ``folder`` allows (255 if unknown)."""
    try:
        return int(os.pathconf(folder, "PC_NAME_MAX"))
    except (OSError, ValueError, AttributeError):
        return 255


def name_too_long(path: Path) -> tuple[str, bool] | None:
    """``(message, the file cannot even exist)`` when ``path``'s name is too long, else None."""
    limit = name_max(path.parent)
    length = len(os.fsencode(path.name))
    if length > limit:
        return (
            f"{path}: its name is {length} bytes long and this file system allows {limit}; "
            "choose a shorter name.",
            True,
        )
    needed = max(length + _TEMP_EXTRA, len(os.fsencode(path.stem)) + _CONFLICT_EXTRA)
    if needed > limit:
        return (
            f"{path} is open read-only: its name is {length} bytes long, and saving it safely "
            f"needs files beside it with names of up to {needed} bytes where this file system "
            f"allows {limit}; rename it to save changes.",
            False,
        )
    return None


def _mode_forbids_writing(path: Path) -> bool:
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not os.access(path, os.W_OK) or not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


def permission_problem(path: Path) -> str | None:
    """Why the permissions forbid saving ``path`` (a read-only file or folder), or None."""
    if path.exists() and _mode_forbids_writing(path):
        return f"{path} is read-only (its permissions do not allow writing)"
    if _mode_forbids_writing(path.parent):
        return f"{path} is read-only here: its folder {path.parent} is not writable"
    return None


def writable_or_why(path: Path) -> tuple[AnnotationLock | None, str | None, str | None]:
    """Take the lock if saving is possible, else say why not (name, permissions, lock)."""
    too_long = name_too_long(path)
    if too_long is not None:
        return None, "name_too_long", too_long[0]
    problem = permission_problem(path)
    if problem is not None:
        return None, "not_writable", problem
    return _take_lock(path)


def _take_lock(path: Path) -> tuple[AnnotationLock | None, str | None, str | None]:
    """``(lock, None, None)`` when taken, else ``(None, kind, reason)`` saying why not."""
    lock = AnnotationLock(path)
    try:
        owner: LockOwner | None = lock.acquire()
    except OSError as error:  # e.g. a read-only folder cannot hold the lock file
        return (
            None,
            "not_writable",
            (f"{path} is read-only here: cannot create its lock file ({error.strerror})"),
        )
    if owner is not None:
        return (
            None,
            "locked",
            (
                f"{path} is in use by {owner.describe()}, so it is open read-only until that "
                "window lets go of it"
            ),
        )
    return lock, None, None
