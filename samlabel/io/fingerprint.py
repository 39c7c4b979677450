"""What an annotations file looked like when we last read or wrote it.

A :class:`FileFingerprint` is the file's size, modification time (ns) and the sha256 of its
bytes. :func:`file_changed` compares a file on disk to one: equal size and mtime_ns mean
unchanged without reading anything (a program that rewrites a file changes its mtime_ns);
otherwise the content is hashed, so a mere ``touch`` or a rewrite with identical bytes does
not count as a change.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class FileFingerprint:
    """``size`` in bytes, ``mtime_ns`` from ``os.stat``, ``sha256`` hex digest of the bytes."""

    size: int
    mtime_ns: int
    sha256: str


def fingerprint_written(stat: os.stat_result, data: bytes) -> FileFingerprint:
    """The fingerprint of a file we wrote ``data`` into, with ``stat`` taken as we wrote it."""
    return FileFingerprint(stat.st_size, stat.st_mtime_ns, hashlib.sha256(data).hexdigest())


def read_with_fingerprint(path: Path) -> tuple[bytes, FileFingerprint]:
    """The bytes of ``path`` and their fingerprint (OSError if it cannot be read)."""
    with open(path, "rb") as handle:
        stat = os.fstat(handle.fileno())
        data = handle.read()
    return data, FileFingerprint(stat.st_size, stat.st_mtime_ns, hashlib.sha256(data).hexdigest())


def file_changed(path: Path, known: FileFingerprint | None) -> bool:
    """Whether ``path`` differs from ``known`` (None: the file should not exist).

    A file that vanished, appeared, or whose bytes differ counts as changed; one that is
    only touched (new mtime, same bytes) does not.
    """
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return known is not None
    if known is None:
        return True
    if stat.st_size == known.size and stat.st_mtime_ns == known.mtime_ns:
        return False
    if stat.st_size != known.size:
        return True
    try:
        _, now = read_with_fingerprint(path)
    except OSError:
        return True
    return now.sha256 != known.sha256
