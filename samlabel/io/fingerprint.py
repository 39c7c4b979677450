"""What an annotations file looked like when we last read or wrote it.

A :class:`FileFingerprint` is the file's size, modification time (ns), inode change time
(ns), inode number and the sha256 of its bytes. :func:`compare_file` compares a file on disk
to one: when all of its ``stat`` fields are equal the file is unchanged without reading
anything; otherwise the content is hashed, so a mere ``touch`` or a rewrite with identical
bytes does not count as a change. The change time and inode matter because a program can
write a file in place and set its old modification time back (``cp -p``, ``rsync -t``, a
restore from a backup): only the change time, which no program can set, says so.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class FileFingerprint:
    """``size`` in bytes, ``mtime_ns``, ``ctime_ns`` and ``ino`` from ``os.stat`` (0: not
    known), ``sha256`` hex digest of the bytes."""

    size: int
    mtime_ns: int
    sha256: str
    ctime_ns: int = 0
    ino: int = 0


def _of_stat(stat: os.stat_result, sha256: str) -> FileFingerprint:
    return FileFingerprint(
        stat.st_size, stat.st_mtime_ns, sha256, stat.st_ctime_ns, getattr(stat, "st_ino", 0)
    )


def fingerprint_written(
    stat: os.stat_result, data: bytes, path: Path | None = None
) -> FileFingerprint:
    """The fingerprint of a file we wrote ``data`` into, with ``stat`` taken as we wrote it
    (before the rename that put it in place, which moves its change time: with ``path``,
    the change time is taken from the file there when it is still the inode we wrote)."""
    digest = hashlib.sha256(data).hexdigest()
    known = FileFingerprint(stat.st_size, stat.st_mtime_ns, digest, 0, stat.st_ino)
    if path is not None:
        try:
            now = os.stat(path)
        except OSError:
            return known
        if (now.st_ino, now.st_size, now.st_mtime_ns) == (stat.st_ino, known.size, known.mtime_ns):
            return _of_stat(now, digest)
    return known


def read_with_fingerprint(path: Path) -> tuple[bytes, FileFingerprint]:
    """The bytes of ``path`` and their fingerprint (OSError if it cannot be read)."""
    with open(path, "rb") as handle:
        stat = os.fstat(handle.fileno())
        data = handle.read()
    return data, _of_stat(stat, hashlib.sha256(data).hexdigest())


def compare_file(path: Path, known: FileFingerprint | None) -> tuple[bool, FileFingerprint | None]:
    """``(changed, fingerprint)``: whether ``path`` differs from ``known`` (None: the file
    should not exist), and the fingerprint to compare with next time (the file's own when
    only its ``stat`` moved, so a touched file is hashed once, not at every look).

    A file that vanished, appeared, or whose bytes differ counts as changed; one that is
    only touched (new mtime, same bytes) does not.
    """
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return known is not None, known
    if known is None:
        return True, known
    if _of_stat(stat, known.sha256) == known:
        return False, known
    if stat.st_size != known.size:
        return True, known
    try:
        _, now = read_with_fingerprint(path)
    except OSError:
        return True, known
    if now.sha256 != known.sha256:
        return True, known
    return False, now


def file_changed(path: Path, known: FileFingerprint | None) -> bool:
    """Whether ``path`` differs from ``known`` (see :func:`compare_file`)."""
    return compare_file(path, known)[0]
