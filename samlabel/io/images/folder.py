"""Which files of a folder are images to label, in the order a person expects."""

from __future__ import annotations

import os
import re
from pathlib import Path

from samlabel.io.images.sniff import SUPPORTED_EXTENSIONS, format_from_header, read_header

_DIGITS = re.compile(r"(\d+)")


def natural_key(path: Path) -> tuple[tuple[int, int | str], ...]:
    """Sort key: "img2" before "img10", case-insensitive, path part by path part."""
    parts: list[tuple[int, int | str]] = []
    for piece in path.as_posix().split("/"):
        for chunk in _DIGITS.split(piece):
            if chunk.isdigit():
                parts.append((0, int(chunk)))
            elif chunk:
                parts.append((1, chunk.casefold()))
        parts.append((2, ""))  # separator: "a/b" sorts before "a b"
    return tuple(parts)


def _is_extensionless_dicom(path: Path) -> bool:
    """DICOM series copied from a CD often have no extension (IM00001): sniff 132 bytes."""
    try:
        return format_from_header(read_header(path)) == "DICOM"
    except OSError:
        return False


def _is_our_export(folder: Path) -> bool:
    """A folder of samlabel's PNG mask export (its label masks are not images to label)."""
    return (folder / "instances.json").is_file() and (folder / "categories.json").is_file()


def _files(root: Path, recursive: bool) -> list[Path]:
    """Non-hidden files under ``root``; never descends into hidden folders or our exports."""
    if not recursive:
        return [p for p in root.iterdir() if not p.name.startswith(".") and p.is_file()]
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        dirs[:] = [d for d in dirs if not d.startswith(".") and not _is_our_export(here / d)]
        found.extend(here / f for f in files if not f.startswith("."))
    return found


def list_images(folder: str | Path, recursive: bool = False) -> list[Path]:
    """Image files in ``folder``, naturally sorted (``img2`` before ``img10``).

    Args:
        folder: the folder to look in.
        recursive: also look in sub-folders (sorted by their relative path).

    Returns:
        Paths of files whose extension is in ``SUPPORTED_EXTENSIONS`` (any case), plus
        extension-less files that start like DICOM. Hidden files and folders (name starting
        with "."), including macOS "._" companions, are skipped, and so is everything that is
        not an image: our annotation files are JSON, and folders of our PNG mask exports
        (holding ``instances.json`` and ``categories.json``) are not entered. Whether a listed
        file can really be decoded is only known when it is read: a broken file fails alone,
        the list stays.
    """
    root = Path(folder)
    found: list[Path] = []
    for path in _files(root, recursive):
        suffix = path.suffix.lower()
        if suffix in SUPPORTED_EXTENSIONS or (not suffix and _is_extensionless_dicom(path)):
            found.append(path)
    return sorted(found, key=lambda p: natural_key(p.relative_to(root)))
