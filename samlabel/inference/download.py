"""Downloading one model file: streamed, resumable, verified, with messages a person can act on.

A small requests loop rather than pooch: we need a cancel flag checked per chunk (the GUI's
Cancel button), ``Range`` resume of a ``.part`` file across runs, and error messages that
say how to install the file by hand when the machine is offline.

- Bytes go to ``<dest>.part``; only a file that matches the expected size and sha256 is moved
  to ``dest`` (``os.replace``, so ``dest`` is either absent or complete).
- A transfer that breaks off is resumed with ``Range: bytes=<done>-`` (a few times in one
  call; a ``.part`` left by a cancelled or failed run is resumed by the next call).
- Proxies are found as requests finds them: ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``NO_PROXY``,
  and on Windows and macOS the system proxy settings (urllib's ``getproxies``). HTTPS
  certificates are checked against the operating system's store (truststore), so company
  proxies that re-sign traffic work when IT installed their root; ``REQUESTS_CA_BUNDLE`` still
  adds a bundle of its own.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import requests
import urllib3.exceptions

from samlabel.core.errors import ModelDownloadError
from samlabel.inference.download_errors import (
    disk_full_error,
    folder_error,
    http_error,
    manual_install_hint,
    network_error,
)

log = logging.getLogger(__name__)

#: ``progress(done_bytes, total_bytes)``; total is None when the server does not say.
ProgressCallback = Callable[[int, int | None], None]

#: (connect, read) seconds: a stalled server is reported instead of hanging forever.
DEFAULT_TIMEOUT: tuple[float, float] = (15.0, 60.0)
CHUNK_SIZE = 1 << 20
USER_AGENT = "samlabel (model download)"
#: Leave this much free beyond the file itself, so a download never fills the disk to zero.
FREE_SPACE_MARGIN = 64 << 20
#: Upper bound on resumes in one call, however much each one progressed.
MAX_RESUMES = 1000

_truststore_lock = threading.Lock()
_truststore_state: bool | None = None  # None: not tried yet; True / False: outcome


class DownloadCancelled(ModelDownloadError):
    """The caller set the cancel event; the ``.part`` file is kept for a later resume."""


class _TransferInterrupted(Exception):
    """The connection dropped mid-file; the caller may resume from the ``.part`` file."""


def use_system_certificates() -> bool:
    """Make HTTPS use the operating system's certificate store (once per process).

    Returns True when truststore is in effect. Failure (an old platform) is logged and the
    certifi bundle stays in use; it is never retried.
    """
    global _truststore_state
    with _truststore_lock:
        if _truststore_state is None:
            try:
                import truststore

                truststore.inject_into_ssl()
                _truststore_state = True
            except Exception as error:  # any failure leaves requests' own bundle working
                log.warning("system certificate store unavailable, using certifi: %s", error)
                _truststore_state = False
        return _truststore_state


def part_path(dest: str | Path) -> Path:
    """The partial file a download of ``dest`` writes to: ``<dest>.part``."""
    dest = Path(dest)
    return dest.with_name(dest.name + ".part")


def file_sha256(path: str | Path, cancel: threading.Event | None = None) -> str:
    """Lowercase hex sha256 of a file, read in 1 MiB blocks; checks ``cancel`` per block."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(CHUNK_SIZE):
            if cancel is not None and cancel.is_set():
                raise DownloadCancelled(f"Checking {path} was cancelled.", path)
            digest.update(block)
    return digest.hexdigest()


def download_file(
    url: str,
    dest: str | Path,
    *,
    sha256: str | None = None,
    size: int | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
    retries: int = 4,
    retry_wait: float = 1.0,
    session: requests.Session | None = None,
) -> Path:
    """Download ``url`` to ``dest``, resuming a ``.part`` file, and verify it.

    Args:
        url: http(s) address of the file.
        dest: final path; its folder is created if needed.
        sha256: expected lowercase hex digest; None skips the check (size still applies).
        size: expected size in bytes, or None.
        progress: called with ``(done_bytes, total_bytes)`` after every chunk, from this thread.
        cancel: when set, the download stops at the next chunk with :class:`DownloadCancelled`.
        timeout: requests timeout, seconds (connect, read).
        retries: how many breaks in a row without progress are resumed within this call.
        retry_wait: seconds before the first resume; doubled for each further one in a row.
        session: a requests session to use (proxies and certificates from the environment).

    Returns:
        ``dest`` as a Path, a complete file whose size and sha256 matched.

    Raises:
        DownloadCancelled: ``cancel`` was set (the ``.part`` file is kept).
        ModelDownloadError: offline, refused, HTTP error, disk full, folder not writable,
            or wrong size / checksum (then the bad file is deleted). The message names the
            address or the file, and for network failures says how to install by hand.
    """
    dest = Path(dest)
    part = part_path(dest)
    _prepare_folder(dest)
    if urlsplit(url).scheme == "https":
        use_system_certificates()
    own_session = session is None
    session = session or requests.Session()
    try:
        _transfer(session, url, dest, size, progress, cancel, timeout, retries, retry_wait)
    except ModelDownloadError:
        # An empty .part (nothing arrived) is clutter, not a resume point.
        if part.exists() and part.stat().st_size == 0:
            part.unlink()
        raise
    finally:
        if own_session:
            session.close()
    _verify_and_install(part, dest, url, sha256, size, cancel)
    return dest


def _transfer(
    session: requests.Session,
    url: str,
    dest: Path,
    size: int | None,
    progress: ProgressCallback | None,
    cancel: threading.Event | None,
    timeout: float | tuple[float, float],
    retries: int,
    retry_wait: float,
) -> None:
    """Fetch into the ``.part`` file, resuming after breaks.

    Gives up after ``retries + 1`` breaks in a row without new bytes; a break after progress
    starts the count again, so a long download over a flaky line still finishes. The loop
    is bounded by :data:`MAX_RESUMES` in any case.
    """
    part = part_path(dest)
    failures = 0
    for _ in range(MAX_RESUMES):
        before = part.stat().st_size if part.exists() else 0
        try:
            _fetch_once(session, url, dest, size, progress, cancel, timeout)
            return
        except _TransferInterrupted as interrupted:
            grew = part.exists() and part.stat().st_size > before
            failures = 1 if grew else failures + 1
            if failures > retries:
                raise ModelDownloadError(
                    f"The download of {url} broke off {failures} times in a row "
                    f"({interrupted}). The partial file {part} is kept: run the download "
                    f"again to resume it. {manual_install_hint(url, dest)}",
                    part,
                ) from interrupted
            wait = retry_wait * (2 ** (failures - 1))
            log.info("transfer of %s interrupted (%s); resuming in %.1fs", url, interrupted, wait)
        # Waiting on the cancel event lets Cancel interrupt the pause before a resume.
        if cancel is not None and cancel.wait(wait):
            raise DownloadCancelled(
                f"The download of {dest.name} was cancelled; {part} is kept for a later resume.",
                part,
            )
        if cancel is None and wait > 0:
            time.sleep(wait)
    raise ModelDownloadError(
        f"The download of {url} broke off {MAX_RESUMES} times. The partial file {part} is "
        f"kept: run the download again to resume it. {manual_install_hint(url, dest)}",
        part,
    )


def _prepare_folder(dest: Path) -> None:
    """Create ``dest``'s folder and prove it is writable, or raise a clear error."""
    folder = dest.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # Opening the .part file for append is the real test: a folder can exist and be
        # read-only (a lab's shared models folder, a read-only mount).
        with open(part_path(dest), "ab"):
            pass
    except OSError as error:
        raise folder_error(folder, error) from error


def _fetch_once(
    session: requests.Session,
    url: str,
    dest: Path,
    size: int | None,
    progress: ProgressCallback | None,
    cancel: threading.Event | None,
    timeout: float | tuple[float, float],
) -> None:
    """One GET, appending to the ``.part`` file; returns when the server sent the whole file."""
    part = part_path(dest)
    offset = part.stat().st_size if part.exists() else 0
    if size is not None and offset > size:
        part.unlink()  # longer than the real file: nothing in it can be trusted
        offset = 0
    if size is not None and offset == size:
        return  # complete already (a run that stopped before verifying)
    if cancel is not None and cancel.is_set():
        raise DownloadCancelled(f"The download of {dest.name} was cancelled.", part)

    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        response = session.get(url, headers=headers, stream=True, timeout=timeout)
    except requests.RequestException as error:
        raise network_error(error, url, dest) from error

    with response:
        if response.status_code == 416 and offset:
            total = _content_range_total(response.headers.get("Content-Range", ""))
            if total == offset:
                return  # the .part already holds the whole file
            part.unlink()
            raise _TransferInterrupted("the server rejected the resume offset; starting over")
        error = http_error(response, url, dest)
        if error is not None:
            raise error

        if response.status_code == 206:
            start = _content_range_start(response.headers.get("Content-Range", ""))
            if start != offset:
                part.unlink()
                raise _TransferInterrupted("the server resumed at the wrong offset")
            total = _content_range_total(response.headers.get("Content-Range", ""))
            mode = "ab"
        else:  # 200: the server sends the whole file (it may ignore Range)
            offset = 0
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            mode = "wb"
        if total is None:
            total = size
        elif size is not None and total != size:
            raise ModelDownloadError(
                f"The server offers {total} bytes for {url}, but the published size of "
                f"{dest.name} is {size} bytes: the address may point to another file. "
                f"{manual_install_hint(url, dest)}",
                dest,
            )
        _check_free_space(dest.parent, None if total is None else total - offset)

        done = offset
        if progress is not None:
            progress(done, total)
        try:
            with open(part, mode) as handle:
                for chunk in _chunks(response):
                    if cancel is not None and cancel.is_set():
                        raise DownloadCancelled(
                            f"The download of {dest.name} was cancelled; {part} is kept for "
                            "a later resume.",
                            part,
                        )
                    handle.write(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done, total)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as error:
            if error.errno in (errno.ENOSPC, errno.EDQUOT):
                raise disk_full_error(dest.parent, None) from error
            raise folder_error(dest.parent, error) from error
    if total is not None and done < total:
        raise _TransferInterrupted(f"the connection closed after {done} of {total} bytes")


def _chunks(response: requests.Response) -> Iterator[bytes]:
    """The body in chunks; a dropped connection becomes :class:`_TransferInterrupted`."""
    try:
        for chunk in response.iter_content(CHUNK_SIZE):
            if chunk:
                yield chunk
    except (
        requests.exceptions.ChunkedEncodingError,
        requests.exceptions.ConnectionError,
        requests.exceptions.Timeout,
        urllib3.exceptions.ProtocolError,
        urllib3.exceptions.ReadTimeoutError,
    ) as error:
        raise _TransferInterrupted(str(error) or type(error).__name__) from error


def _check_free_space(folder: Path, needed: int | None) -> None:
    if needed is None or needed <= 0:
        return
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return  # cannot tell; the write itself will report a full disk
    if free < needed + FREE_SPACE_MARGIN:
        raise disk_full_error(folder, needed + FREE_SPACE_MARGIN - free)


def _content_range_start(header: str) -> int | None:
    """``bytes 100-199/200`` -> 100."""
    try:
        return int(header.split()[1].split("-")[0])
    except (IndexError, ValueError):
        return None


def _content_range_total(header: str) -> int | None:
    """``bytes 100-199/200`` or ``bytes */200`` -> 200; ``*`` or garbage -> None."""
    try:
        return int(header.rsplit("/", 1)[1])
    except (IndexError, ValueError):
        return None


def _verify_and_install(
    part: Path,
    dest: Path,
    url: str,
    sha256: str | None,
    size: int | None,
    cancel: threading.Event | None,
) -> None:
    """Check the finished ``.part`` file; move it to ``dest`` or delete it and raise."""
    actual_size = part.stat().st_size
    if size is not None and actual_size != size:
        part.unlink()
        raise ModelDownloadError(
            f"The downloaded {dest.name} has {actual_size} bytes instead of {size}; it was "
            f"deleted. Run the download again. {manual_install_hint(url, dest)}",
            dest,
        )
    if sha256 is not None:
        digest = file_sha256(part, cancel)
        if digest != sha256.lower():
            part.unlink()
            raise ModelDownloadError(
                f"The downloaded {dest.name} is damaged or not the published file (sha256 "
                f"{digest}, expected {sha256.lower()}); it was deleted. Run the download "
                f"again. {manual_install_hint(url, dest)}",
                dest,
            )
    os.replace(part, dest)
