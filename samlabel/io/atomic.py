"""Crash-safe file replacement: the file on disk is always a complete old or new version.

The new content goes to a temporary file in the same folder (same filesystem, so the final
``os.replace`` is atomic), is flushed and fsynced, then replaces the target; the folder is
fsynced so the rename itself survives a power cut. Temporary files left by a killed save
are named ``.<name>.<random>.tmp`` and removed by :func:`remove_stale_temp_files`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
import uuid
from pathlib import Path

from samlabel.core.errors import AnnotationFileError

TEMP_SUFFIX = ".tmp"


def _temp_prefix(path: Path) -> str:
    return f".{path.name}."


def _fsync_dir(folder: Path) -> None:
    # Windows cannot open folders; there the rename is already durable enough.
    if os.name == "nt":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _describe(error: OSError) -> str:
    if error.errno == errno.ENOSPC:
        return "the disk is full"
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "the folder is not writable"
    return error.strerror or str(error)


def _new_file_mode(path: Path) -> int:
    """The permissions the saved file should have: those it had, else the umask's default.

    mkstemp creates files readable by their owner only; a dataset shared by a team must stay
    readable by the others after every save.
    """
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        return 0o666 & ~_current_umask()


def _current_umask() -> int:
    """The process umask, read without changing it (os.umask would race with other threads)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def _write_temp(folder: Path, prefix: str, data: bytes, mode: int) -> Path:
    return _write_temp_stat(folder, prefix, data, mode)[0]


def _write_temp_stat(
    folder: Path, prefix: str, data: bytes, mode: int
) -> tuple[Path, os.stat_result]:
    """The complete, fsynced temporary file and its stat (a rename keeps size and mtime)."""
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=TEMP_SUFFIX, dir=folder)
    temp = Path(name)
    try:
        with contextlib.suppress(OSError, AttributeError):  # not every platform has fchmod
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            written = os.fstat(handle.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    return temp, written


def _keep_backup(path: Path, folder: Path) -> None:
    """Make ``<name>.bak`` a complete copy of the current ``path``, atomically."""
    backup = path.with_name(path.name + ".bak")
    temp = folder / f"{_temp_prefix(path)}{uuid.uuid4().hex}{TEMP_SUFFIX}"
    try:
        os.link(path, temp)  # a hard link costs nothing and is complete at once
    except OSError:
        shutil.copy2(path, temp)  # filesystems without hard links (FAT, some shares)
    os.replace(temp, backup)


def through_links(path: Path) -> Path:
    """A symbolic link's target: a save must update it, not replace the link by a copy."""
    try:
        return Path(os.path.realpath(path)) if path.is_symlink() else path
    except OSError:  # e.g. a name too long to look up: the caller reports it
        return path


def atomic_write_bytes(path: Path, data: bytes, backup: bool = False) -> os.stat_result:
    """Replace ``path`` by ``data`` so that a crash leaves the old or the new file, whole.

    With ``backup`` the previous version is kept as ``<name>.bak``. On failure (full disk,
    read-only folder) the file is untouched, no temporary file remains, and an
    AnnotationFileError names the file and the reason. Returns the stat of the bytes written,
    taken before the rename (which keeps size and mtime): unlike a stat afterwards, it cannot
    be another program's write that came just after ours.
    """
    path = through_links(Path(path))
    folder = path.parent if str(path.parent) else Path(".")
    temp: Path | None = None
    try:
        temp, written = _write_temp_stat(folder, _temp_prefix(path), data, _new_file_mode(path))
        if backup and path.exists():
            _keep_backup(path, folder)
        os.replace(temp, path)
        temp = None
        _fsync_dir(folder)
        return written
    except OSError as error:
        raise AnnotationFileError(
            f"{path}: could not be saved ({_describe(error)}); the file on disk is unchanged.",
            path,
        ) from error
    finally:
        if temp is not None:
            with contextlib.suppress(OSError):
                temp.unlink()


def remove_stale_temp_files(path: Path) -> list[Path]:
    """Delete temporary files a killed save of ``path`` left behind; returns those removed.

    Call it only while holding the file's lock, so no live save is disturbed.
    """
    path = Path(path)
    removed = []
    for candidate in path.parent.glob(f"{_temp_prefix(path)}*{TEMP_SUFFIX}"):
        with contextlib.suppress(OSError):
            candidate.unlink()
            removed.append(candidate)
    return removed


def write_new_file(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path``, or to ``<stem>-2<suffix>``, ... if that name is taken.

    Never replaces an existing file: the complete temporary file is hard-linked to the
    chosen name, which fails if the name exists (copied with exclusive create where the
    filesystem has no hard links). Returns the path written.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        temp = _write_temp(folder, _temp_prefix(path), data, _new_file_mode(path))
    except OSError as error:
        raise AnnotationFileError(
            f"{path}: could not be written ({_describe(error)}).", path
        ) from error
    try:
        for n in range(1, 1000):
            target = path if n == 1 else path.with_name(f"{path.stem}-{n}{path.suffix}")
            try:
                _link_exclusive(temp, target)
            except FileExistsError:
                continue
            except OSError as error:
                raise AnnotationFileError(
                    f"{target}: could not be written ({_describe(error)}).", target
                ) from error
            _fsync_dir(folder)
            return target
        raise AnnotationFileError(f"{path}: too many files of that name already exist.", path)
    finally:
        with contextlib.suppress(OSError):
            temp.unlink()


def _link_exclusive(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except FileExistsError:
        raise
    except OSError:  # no hard links here: exclusive create, then copy the bytes
        with open(target, "xb") as out, open(source, "rb") as src:
            shutil.copyfileobj(src, out)
            out.flush()
            os.fsync(out.fileno())
