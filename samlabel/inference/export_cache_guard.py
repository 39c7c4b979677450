"""Keeping the converted-model cache sound: file hashes, damaged entries, stale staging folders.

The ONNX exporter (:mod:`samlabel.inference.onnx_export`) keeps one folder per checkpoint
under ``cache_dir()/onnx/<sha256>/``. This module is what it calls to trust such a folder:

- :func:`record_files` writes :data:`RECORD_NAME` beside the exported files at export time:
  ``{"files": {relative name: {"size": bytes, "sha256": hex}}}``.
- :func:`find_damage` checks a folder before use: every recorded file's size always, its full
  sha256 once per process (again when its size or modification time changed). A folder from
  before the record existed is checked by parsing its ONNX files, then recorded.
- :func:`remove_stale_staging` deletes ``.staging-<sha256>-<pid>`` folders left by an export
  that was killed (SIGTERM, power cut): only when no process holds that checkpoint's export
  lock and the process named in the folder is gone, so two windows exporting at once never
  delete each other's work.
- :func:`export_into` runs an export into a staging folder under the checkpoint's lock,
  records it and moves it into place (or finds a sound copy already there).
- :func:`fallback_root` is a private temporary folder for when the cache folder cannot be
  written (read-only, a file in the way): the app then converts into it for this session.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from samlabel.inference.onnx_folder import FORMAT_VERSION, MANIFEST_NAME

log = logging.getLogger(__name__)

RECORD_NAME = "files.sha256.json"
#: ``.staging-<checkpoint sha256>-<pid>``: an export in progress (or killed).
STAGING = re.compile(r"^\.staging-(?P<digest>[0-9a-f]{64})-(?P<pid>\d+)")
#: ``<name>.<pid>.tmp``: a small index file being replaced (or killed mid-way).
TEMPORARY = re.compile(r"^[^.]+\.(?P<pid>\d+)\.tmp$")

_verified: set[tuple[str, int, int]] = set()
_verified_lock = threading.Lock()
_fallback: Path | None = None
_fallback_lock = threading.Lock()


def is_sha256(text: str) -> bool:
    """Whether ``text`` is a lowercase hex sha256 (a cache folder name, never a path)."""
    return re.fullmatch(r"[0-9a-f]{64}", text) is not None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _files_of(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name != RECORD_NAME)


def _remember_verified(folder: Path) -> None:
    for path in _files_of(folder):
        stat = path.stat()
        with _verified_lock:
            _verified.add((str(path.resolve()), stat.st_size, stat.st_mtime_ns))


def record_files(folder: Path) -> None:
    """Write the size and sha256 of every file under ``folder`` to :data:`RECORD_NAME`.

    Called on a finished export (before it is moved into place), and on an older folder
    that passed :func:`find_damage`'s parse check (best effort: a read-only cache is fine).
    """
    files = {}
    for path in _files_of(folder):
        stat = path.stat()
        files[path.relative_to(folder).as_posix()] = {"size": stat.st_size, "sha256": _sha256(path)}
        with _verified_lock:
            _verified.add((str(path.resolve()), stat.st_size, stat.st_mtime_ns))
    text = json.dumps({"files": files}, indent=1)
    temporary = folder / f"{RECORD_NAME}.{os.getpid()}.tmp"
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, folder / RECORD_NAME)


def _read_record(folder: Path) -> dict[str, dict] | None:
    """The recorded files, None when there is no record, ValueError when it is damaged."""
    try:
        record = json.loads((folder / RECORD_NAME).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"its {RECORD_NAME} is unreadable ({error})") from None
    files = record.get("files") if isinstance(record, dict) else None
    if not isinstance(files, dict) or not files:
        raise ValueError(f"its {RECORD_NAME} lists no files")
    for entry in files.values():
        if not isinstance(entry, dict) or not isinstance(entry.get("size"), int):
            raise ValueError(f"its {RECORD_NAME} is malformed")
    return files


def _parse_check(folder: Path) -> str | None:
    """For a folder exported before hashes were recorded: do its ONNX files parse?"""
    import onnx

    for path in sorted(folder.glob("*.onnx")):
        try:
            onnx.load(str(path), load_external_data=False)
        except Exception as error:  # protobuf raises several unrelated types
            return f"{path.name} does not parse ({type(error).__name__})"
    return None


def find_damage(folder: Path) -> str | None:
    """Why the exported files in ``folder`` cannot be trusted, or None when they are intact.

    Sizes are compared on every call (cheap); a file's sha256 is computed once per process
    and again whenever its size or modification time changes.
    """
    try:
        files = _read_record(folder)
    except ValueError as error:
        return str(error)
    if files is None:
        problem = _parse_check(folder)
        if problem is None:
            with contextlib.suppress(OSError):  # a read-only cache: check again next time
                record_files(folder)
        return problem
    for name, entry in files.items():
        path = folder / name
        try:
            stat = path.stat()
        except OSError:
            return f"{name} is missing"
        if stat.st_size != entry["size"]:
            return f"{name} is {stat.st_size} bytes instead of {entry['size']}"
        stamp = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
        with _verified_lock:
            if stamp in _verified:
                continue
        try:
            actual = _sha256(path)
        except OSError as error:
            return f"{name} cannot be read ({error.strerror or error})"
        if actual != entry.get("sha256"):
            return f"{name} does not match the checksum recorded when it was written"
        with _verified_lock:
            _verified.add(stamp)
    return None


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # ours, and not in use: an export of ours removes its folder or holds the lock
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    except OSError:
        return True
    return True


def remove_stale_staging(root: Path) -> list[Path]:
    """Delete staging folders and temporary files of exports that were killed.

    A staging folder is stale when nobody holds its checkpoint's ``<sha256>.lock`` (taken
    here without waiting) and the process id in its name is gone. Returns what was removed;
    never raises for a folder it cannot list or delete.
    """
    from filelock import FileLock, Timeout

    removed: list[Path] = []
    try:
        children = list(root.iterdir())
    except OSError:
        return removed
    for child in children:
        staging = STAGING.match(child.name)
        temporary = TEMPORARY.match(child.name)
        if temporary is not None and child.is_file():
            pid = int(temporary.group("pid"))
            if pid != os.getpid() and not _process_alive(pid):  # ours may be mid-write
                with contextlib.suppress(OSError):
                    child.unlink()
                    removed.append(child)
            continue
        if staging is None or not child.is_dir() or _process_alive(int(staging.group("pid"))):
            continue
        try:
            with FileLock(str(root / f"{staging.group('digest')}.lock"), timeout=0):
                shutil.rmtree(child)
        except (Timeout, OSError):
            continue  # an export is running (or the folder cannot be changed): leave it
        removed.append(child)
        log.info("Removed %s, left by a model conversion that was interrupted.", child)
    return removed


def is_complete(folder: Path) -> bool:
    """Whether ``folder`` has a manifest of this format version and every file it names."""
    try:
        manifest = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    files = manifest.get("files", {}) if isinstance(manifest, dict) else {}
    return (
        manifest.get("version") == FORMAT_VERSION
        and isinstance(files, dict)
        and bool(files)
        and all((folder / str(name)).is_file() for name in files.values())
    )


def export_into(
    root: Path,
    digest: str,
    write: Callable[[Path], None],
    report: Callable[[str, float], None],
) -> Path:
    """``root/<digest>``: a sound existing copy, or a new export written by ``write``.

    ``write(staging)`` fills an empty staging folder; its files are then recorded
    (:func:`record_files`) and the folder renamed into place, so a reader never sees half an
    export. Runs under ``root/<digest>.lock``: two windows opening the same new model export
    it once. A damaged copy is replaced, with a notice through ``report`` and the log.

    Raises:
        OSError: ``root`` cannot be written (the caller falls back to a temporary folder).
        Whatever ``write`` raises (its staging folder is removed first).
    """
    from filelock import FileLock

    target = root / digest
    with FileLock(str(root / f"{digest}.lock")):
        if is_complete(target):
            damage = find_damage(target)
            if damage is None:
                report("Model ready", 1.0)
                return target
            notice = f"The converted model in {target} is damaged ({damage}); converting again."
            log.info("%s", notice)  # info: the caller shows it through report already
            report(notice, 0.0)
        staging = root / f".staging-{digest}-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        try:
            write(staging)
            record_files(staging)
            shutil.rmtree(target, ignore_errors=True)
            os.replace(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        _remember_verified(target)  # just hashed in staging; a rename keeps size and time
    report("Model ready", 1.0)
    return target


def fallback_root(reason: str) -> Path:
    """A private temporary folder for exports when the cache folder cannot be written.

    Created once per process and removed at exit; the first call logs ``reason`` (at info
    level: the caller shows it through its progress, and the app's log file keeps it).
    """
    global _fallback
    with _fallback_lock:
        if _fallback is None:
            _fallback = Path(tempfile.mkdtemp(prefix="samlabel-models-"))
            atexit.register(shutil.rmtree, _fallback, True)
            log.info("%s", reason)  # info: the caller shows it through its progress
        return _fallback
