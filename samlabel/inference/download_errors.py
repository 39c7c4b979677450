"""The sentences a failed model download shows: what went wrong, and what to do about it.

Every message names the address or the folder; network failures end with
:func:`manual_install_hint`, so a person on an offline machine knows how to get the file in.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import requests
import urllib3.exceptions

from samlabel.core.errors import ModelDownloadError


def manual_install_hint(url: str, dest: str | Path) -> str:
    """The sentence telling a person how to put the file in place without samlabel."""
    dest = Path(dest)
    return (
        f"To install it by hand, download {url} on a computer with internet access and copy "
        f"the file to {dest.parent} as {dest.name} "
        f"(or open it with `samlabel models import FILE`)."
    )


def folder_error(folder: Path, error: OSError) -> ModelDownloadError:
    """The error for a models folder that cannot be created or written (``error`` says why)."""
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return disk_full_error(folder, None)
    if isinstance(error, (NotADirectoryError, FileExistsError)) or error.errno == errno.ENOTDIR:
        reason = "a file is in the way of that folder"
    elif error.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        reason = "it is read-only"
    else:
        reason = error.strerror or str(error)
    return ModelDownloadError(
        f"Cannot save models in {folder}: {reason}. Choose a writable models folder in the "
        "settings or with the SAMLABEL_MODELS_DIR environment variable (a shared read-only "
        "folder can only be read).",
        folder,
    )


def disk_full_error(folder: Path, needed: int | None) -> ModelDownloadError:
    """The error for a full disk; ``needed`` is the shortfall in bytes when known."""
    need = f" (it needs {_mib(needed)} more)" if needed else ""
    return ModelDownloadError(
        f"Not enough free disk space in {folder} for the model{need}. Free some space and "
        "run the download again: it resumes where it stopped.",
        folder,
    )


def _mib(n: int | None) -> str:
    return "?" if n is None else f"{n / (1 << 20):.1f} MiB"


def http_error(response: requests.Response, url: str, dest: Path) -> ModelDownloadError | None:
    """The error for an HTTP error status (404, 407, 5xx...), or None for a success."""
    code = response.status_code
    if code < 400:
        return None
    hint = manual_install_hint(url, dest)
    if code == 404:
        message = (
            f"The file {url} was not found on the server (HTTP 404): the address may have "
            f"moved. {hint}"
        )
    elif code == 407:
        message = (
            f"The proxy refused the download of {url} (HTTP 407, proxy authentication "
            "required): put the user name and password in the proxy setting, as "
            f"http://user:password@proxy:port in HTTPS_PROXY. {hint}"
        )
    else:
        message = f"The server answered HTTP {code} {response.reason} for {url}. {hint}"
    return ModelDownloadError(message, dest)


def _causes(error: BaseException) -> Iterator[BaseException]:
    """``error`` and everything it wraps (causes, contexts, urllib3 reasons, args), bounded."""
    pending, seen = [error], set()
    while pending and len(seen) < 32:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        linked.extend(arg for arg in current.args if isinstance(arg, BaseException))
        pending.extend(item for item in linked if isinstance(item, BaseException))


def network_error(error: requests.RequestException, url: str, dest: Path) -> ModelDownloadError:
    """A sentence for a failed connection; offline-looking failures explain the manual route."""
    parts = urlsplit(url)
    host = parts.hostname or url
    port = parts.port or (443 if parts.scheme == "https" else 80)
    hint = manual_install_hint(url, dest)
    chain = list(_causes(error))

    def wraps(*kinds: type[BaseException]) -> bool:
        return any(isinstance(item, kinds) for item in chain)

    if isinstance(error, requests.exceptions.ProxyError):
        message = (
            f"Could not reach {url} through the proxy set in HTTPS_PROXY / HTTP_PROXY "
            f"({error.__class__.__name__}). Check the proxy address, or work offline. {hint}"
        )
    elif isinstance(error, requests.exceptions.SSLError):
        message = (
            f"The secure connection to {host} failed: its certificate could not be verified "
            "with this computer's certificate store. If your network inspects HTTPS traffic, "
            f"ask IT to install its root certificate in the system store. {hint}"
        )
    elif wraps(socket.gaierror, urllib3.exceptions.NameResolutionError):
        message = (
            f"Cannot look up the server {host}: this computer seems to be offline, or its DNS "
            f"does not work. {hint}"
        )
    elif wraps(ConnectionRefusedError):
        message = f"The server {host} refused the connection on port {port}. {hint}"
    elif isinstance(error, requests.exceptions.Timeout):
        message = f"The server {host} did not answer in time: the network may be down. {hint}"
    else:
        message = f"Could not connect to {host} to download {url}: {error}. {hint}"
    return ModelDownloadError(message, dest)
