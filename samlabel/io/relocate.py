"""Image names when an annotations file moves to another folder.

COCO ``file_name`` is relative to the annotations file's folder (forward slashes). Writing
the file elsewhere ("Save annotations as…" out of a read-only folder) must rewrite those
names so they still name the same image files.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path, PurePosixPath

from samlabel.core.state import DocumentState


def moved_name(file_name: str, old_root: Path, new_root: Path) -> str:
    """``file_name`` (relative to ``old_root``, or absolute) relative to ``new_root``.

    Absolute where no relative path exists (another drive on Windows).
    """
    if PurePosixPath(file_name).is_absolute() or Path(file_name).is_absolute():
        return file_name
    target = os.path.normpath(os.path.join(os.path.abspath(old_root), file_name))
    try:
        return Path(os.path.relpath(target, os.path.abspath(new_root))).as_posix()
    except ValueError:
        return Path(target).as_posix()


def relocate_images(state: DocumentState, old_root: Path, new_root: Path) -> DocumentState:
    """``state`` with image names relative to ``new_root``; the same object if unchanged."""
    if os.path.abspath(old_root) == os.path.abspath(new_root):
        return state
    images = tuple(
        replace(i, file_name=moved_name(i.file_name, old_root, new_root)) for i in state.images
    )
    if images == state.images:
        return state
    return replace(state, images=images)
