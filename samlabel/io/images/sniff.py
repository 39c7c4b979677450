"""Which format a file really is, from its first bytes (extensions lie: a PNG named .jpg)."""

from __future__ import annotations

from pathlib import Path

#: Extensions :func:`samlabel.io.images.list_images` offers (lower case, with the dot).
SUPPORTED_EXTENSIONS: frozenset[str] = frozenset(
    {
        ".jpg",
        ".jpeg",
        ".jpe",
        ".jfif",
        ".png",
        ".bmp",
        ".dib",
        ".webp",
        ".gif",
        ".tif",
        ".tiff",
        ".dcm",
        ".dicom",
    }
)

#: Extensions whose files are DICOM even without the "DICM" preamble (old ACR-NEMA style).
DICOM_EXTENSIONS = frozenset({".dcm", ".dicom"})

_HEADER_BYTES = 132


def read_header(path: Path) -> bytes:
    """The first bytes of the file (enough for every signature below)."""
    with open(path, "rb") as fh:
        return fh.read(_HEADER_BYTES)


def format_from_header(header: bytes) -> str | None:
    """``"JPEG"``, ``"PNG"``, ``"BMP"``, ``"WEBP"``, ``"GIF"``, ``"TIFF"``, ``"DICOM"`` or None."""
    if header.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if header.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if header[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    if header.startswith(b"BM"):
        return "BMP"
    if header[:4] == b"RIFF" and header[8:12] == b"WEBP":
        return "WEBP"
    if header[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if header[128:132] == b"DICM":
        return "DICOM"
    return None


def detect_format(path: Path) -> str | None:
    """The file's format from its content; DICOM also from a .dcm/.dicom extension."""
    found = format_from_header(read_header(path))
    if found is None and path.suffix.lower() in DICOM_EXTENSIONS:
        return "DICOM"
    return found
