"""Which files of a folder are images to label, in the order a person expects."""

from __future__ import annotations

import re
from pathlib import Path

from samlabel.io.images.sniff import SUPPORTED_EXTENSIONS, format_from_header, read_header

_DIGITS = re.compile(r"(\d+)")


def natural_key(path: Path) -> tuple[tuple[int, int | str], ...]:
    """Sort key: "img2" before "img10", case-insensitive, folders before their files."""
    parts: list[tuple[int, int | str]] = []
    for piece in path.as_posix().split("/"):
        for chunk in _DIGITS.split(piece):
            if chunk.isdigit():
                parts.append((0, int(chunk)))
            elif chunk:
                parts.append((1, chunk.casefold()))
        parts.append((2, ""))  # separator: "a/b" sorts before "a b"
    return tuple(parts)


def _is_hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def _is_extensionless_dicom(path: Path) -> bool:
    """DICOM series copied from a CD often have no extension (IM00001): sniff 132 bytes."""
    try:
        return format_from_header(read_header(path)) == "DICOM"
    except OSError:
        return False


def list_images(folder: str | Path, recursive: bool = False) -> list[Path]:
    """Image files in ``folder``, naturally sorted (``img2`` before ``img10``).

    Args:
        folder: the folder to look in.
        recursive: also look in sub-folders.

    Returns:
        Paths of files whose extension is in ``SUPPORTED_EXTENSIONS`` (any case), plus
        extension-less files that start like DICOM. Hidden files and folders (name starting
        with "."), including macOS "._" companions, are skipped, and so is everything that is
        not an image (our annotation files are JSON). Whether a listed file can really be
        decoded is only known when it is read: a broken file fails alone, the list stays.
    """
    root = Path(folder)
    candidates = root.rglob("*") if recursive else root.iterdir()
    found: list[Path] = []
    for path in candidates:
        if _is_hidden(path.relative_to(root)):
            continue
        try:
            if not path.is_file():
                continue
        except OSError:
            continue
        suffix = path.suffix.lower()
        if suffix in SUPPORTED_EXTENSIONS or (not suffix and _is_extensionless_dicom(path)):
            found.append(path)
    return sorted(found, key=lambda p: natural_key(p.relative_to(root)))
