"""Which paths are stacks, of which kind, and the items of a folder's image list.

The rule for folders (so that the image list can show a stack as one item):

- a file is a stack if it is a NIfTI volume (``.nii``, ``.nii.gz``), a video (by extension,
  see :data:`VIDEO_EXTENSIONS`) or a TIFF with more than one full-resolution page;
- a folder is a DICOM series if at least two of its files are DICOM and they are at least
  half of its files (a few notes or thumbnails beside them are fine);
- otherwise a folder is numbered frames if its images form a numbered sequence
  (:func:`samlabel.io.stacks.frames_folder.numbered_frames`).

:func:`list_items` applies it to a folder: its own images stay single items (a folder of
drone photos ``DJI_0001.JPG`` ... is not one stack), while each *subfolder* that is a series
or a numbered sequence becomes one item.
"""

from __future__ import annotations

import os
from pathlib import Path

from samlabel.core.errors import ImageReadError
from samlabel.io.images import list_images, natural_key
from samlabel.io.images.sniff import detect_format
from samlabel.io.stacks.base import Stack
from samlabel.io.stacks.cache import DEFAULT_BUDGET_BYTES
from samlabel.io.stacks.dicom_series import DicomSeries, dicom_files
from samlabel.io.stacks.frames_folder import FramesFolder, numbered_frames
from samlabel.io.stacks.nifti_stack import NiftiStack, is_nifti_name
from samlabel.io.stacks.tiff_stack import TiffStack, tiff_page_count
from samlabel.io.stacks.video_stack import VIDEO_EXTENSIONS, VideoStack

KINDS = ("dicom-series", "tiff", "nifti", "frames", "video")


def _is_dicom_series(folder: Path) -> bool:
    files = [p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")]
    found = len(dicom_files(folder))
    return found >= 2 and 2 * found >= len(files)


def stack_kind(path: str | os.PathLike[str]) -> str | None:
    """The kind of stack at ``path`` (one of :data:`KINDS`), or None for anything else
    (a single image, an ordinary folder, a missing path). Reads headers only."""
    path = Path(path)
    try:
        if path.is_dir():
            if _is_dicom_series(path):
                return "dicom-series"
            return "frames" if numbered_frames(path) else None
        if not path.is_file():
            return None
        if is_nifti_name(path):
            return "nifti"
        if path.suffix.lower() in VIDEO_EXTENSIONS:
            return "video"
        if detect_format(path) == "TIFF" and tiff_page_count(path) > 1:
            return "tiff"
    except (OSError, ValueError, ImageReadError):
        return None
    except Exception:  # a damaged TIFF header: a single image that fails when opened
        return None
    return None


def stack_uri(path: Path, root: Path | None) -> str:
    """The stack's stable name: relative to ``root`` with forward slashes, else absolute."""
    path = Path(path)
    if root is not None:
        try:
            return path.resolve().relative_to(Path(root).resolve()).as_posix()
        except ValueError:
            pass
    return path.resolve().as_posix()


def open_stack(
    path: str | os.PathLike[str],
    root: str | os.PathLike[str] | None = None,
    budget_bytes: int = DEFAULT_BUDGET_BYTES,
    kind: str | None = None,
) -> Stack:
    """Open the stack at ``path`` (headers only; frames are read when asked for).

    Args:
        path: a DICOM series folder, a folder of numbered frames, a multi-page TIFF, a NIfTI
            volume or a video file.
        root: the annotations file's folder; the stack's ``uri`` is relative to it.
        budget_bytes: the most bytes of decoded frames the stack keeps (LRU).
        kind: skip detection (one of :data:`KINDS`).

    Raises:
        ImageReadError: not a stack, or not readable; one sentence naming the path.
    """
    path = Path(path)
    kind = kind or stack_kind(path)
    uri = stack_uri(path, None if root is None else Path(root))
    opener = {
        "dicom-series": DicomSeries,
        "tiff": TiffStack,
        "nifti": NiftiStack,
        "frames": FramesFolder,
        "video": VideoStack,
    }.get(kind or "")
    if opener is None:
        what = "does not exist" if not path.exists() else "is not a stack of images"
        raise ImageReadError(
            f"Cannot open {path}: it {what} (a DICOM series or numbered-frames folder, a "
            "multi-page TIFF, a NIfTI volume or a video).",
            path,
        )
    try:
        return opener(path, uri, budget_bytes)
    except FileNotFoundError:
        raise ImageReadError(f"Cannot open {path}: it does not exist.", path) from None
    except OSError as err:  # permissions, a vanished drive
        raise ImageReadError(f"Cannot open {path}: {err.strerror or err}.", path) from err


def list_items(folder: str | os.PathLike[str]) -> list[tuple[Path, str | None]]:
    """The items of a folder's image list: ``(path, stack kind or None for an image)``.

    The folder's images (multi-page TIFFs, NIfTI volumes and videos marked as stacks) and its
    subfolders that are stacks, naturally sorted by name.
    """
    root = Path(folder)
    items: list[tuple[Path, str | None]] = []
    for path in list_images(root):
        # Only .tif/.tiff files are opened to count pages: a folder of 2,000 JPEGs costs nothing.
        multipage = path.suffix.lower() in (".tif", ".tiff") and stack_kind(path) == "tiff"
        items.append((path, "tiff" if multipage else None))
    for path in root.iterdir():
        if path.name.startswith("."):
            continue
        if path.is_dir() or is_nifti_name(path) or path.suffix.lower() in VIDEO_EXTENSIONS:
            kind = stack_kind(path)
            if kind is not None:
                items.append((path, kind))
    return sorted(items, key=lambda item: natural_key(item[0].relative_to(root)))
