"""Stacks in the image list: one row per stack, its frames read like image files (no Qt).

A frame is addressed by a *frame path*: the stack's path with ``#<frame>`` appended, e.g.
``/data/ct/series1#012`` (the same spelling as its COCO ``file_name``). Frame paths travel
where image paths do (load and encode requests, the image memory, the embedding cache), so
frames are read in the background like images. Only stacks registered by :func:`list_rows`
are recognised: a real file named ``a#1.png`` stays an ordinary image.

Open stacks are kept in a small least-recently-used shelf (:data:`SHELF`); each keeps its own
byte-bounded frame cache, so memory stays bounded however many stacks a folder holds.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from samlabel.core.document import Document
from samlabel.core.model import ImageStatus
from samlabel.core.stack_frames import add_stack_frames, frame_file_name
from samlabel.io.images import to_display_rgb
from samlabel.io.stacks import open_stack, stack_kind
from samlabel.io.stacks.base import Stack

if TYPE_CHECKING:
    from samlabel.session.images import FolderImages

#: Decoded frames each open stack may keep (bytes).
FRAME_BUDGET = 64 * 2**20
#: Stacks kept open at once (the one being labelled and the one before).
OPEN_STACKS = 2


@dataclass(frozen=True)
class StackRow:
    """A row of the image list that is a stack.

    Attributes:
        path: the stack's file or folder (absolute).
        uri: its name in the annotations file (relative to the file's folder).
        frames: how many frames it has.
        frame_ids: the document id of each frame's image record, in frame order.
    """

    path: Path
    uri: str
    frames: int
    frame_ids: tuple[int, ...]

    def frame_path(self, frame: int) -> Path:
        """The frame path of ``frame`` (0-based)."""
        return frame_path(self.path, frame, self.frames)


def frame_path(stack: Path, frame: int, frames: int) -> Path:
    """``<stack>#<frame>``, zero-padded as the COCO ``file_name`` is."""
    return Path(frame_file_name(str(stack), frame, frames))


class StackShelf:
    """The stacks of the open folder: known paths, and the few that are open (thread-safe)."""

    def __init__(self, open_items: int = OPEN_STACKS, budget: int = FRAME_BUDGET) -> None:
        self._known: dict[Path, str] = {}  # stack path -> kind
        self._open: OrderedDict[Path, Stack] = OrderedDict()
        self._open_items, self._budget = open_items, budget
        self._lock = threading.Lock()

    def reset(self) -> None:
        """Forget the stacks of the folder opened before (a reader still holding one keeps
        it until it is done; its files are released when it is dropped)."""
        with self._lock:
            self._known.clear()
            for stack in self._open.values():
                stack.cache.clear()
            self._open.clear()

    def register(self, path: Path, kind: str) -> None:
        """Recognise ``path``'s frame paths from now on."""
        with self._lock:
            self._known[Path(path)] = kind

    def split(self, path: str | os.PathLike[str]) -> tuple[Path, int] | None:
        """``(stack path, frame)`` of a frame path of a registered stack, else None."""
        text = str(path)
        head, sep, tail = text.rpartition("#")
        if not sep or not tail.isdigit():
            return None
        with self._lock:
            known = Path(head) in self._known
        return (Path(head), int(tail)) if known else None

    def stack(self, path: Path) -> Stack:
        """The open stack at ``path`` (opened now when needed; raises ImageReadError)."""
        with self._lock:
            stack = self._open.get(path)
            if stack is not None:
                self._open.move_to_end(path)
                return stack
            kind = self._known.get(path)
        return self.adopt(path, open_stack(path, budget_bytes=self._budget, kind=kind))

    def adopt(self, path: Path, stack: Stack) -> Stack:
        """Keep ``stack``, opened elsewhere (headers read in the runner's work), as the open
        stack of ``path``; returns it."""
        with self._lock:
            self._open[Path(path)] = stack
            self._open.move_to_end(Path(path))
            while len(self._open) > self._open_items:
                # Only the decoded frames go: a reader still holding it can read again.
                self._open.popitem(last=False)[1].cache.clear()
        return stack


#: The one shelf of the process (frames are read in the runner's threads).
SHELF = StackShelf()


def is_frame_path(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` names a frame of a registered stack."""
    return SHELF.split(path) is not None


def frame_size(path: str | os.PathLike[str]) -> tuple[int, int] | None:
    """``(H, W)`` of a frame path's frames; None when ``path`` is not a frame path."""
    where = SHELF.split(path)
    return None if where is None else tuple(SHELF.stack(where[0]).frame_size)  # type: ignore[return-value]


def read_frame(path: str | os.PathLike[str]) -> tuple[np.ndarray, object] | None:
    """``(display RGB, LoadedImage)`` of a frame path (the stack's one window); None when
    ``path`` is not a frame path. Raises ImageReadError naming the file."""
    where = SHELF.split(path)
    if where is None:
        return None
    loaded = SHELF.stack(where[0]).loaded(where[1])
    return np.ascontiguousarray(to_display_rgb(loaded), dtype=np.uint8), loaded


def frame_source(path: str | os.PathLike[str]) -> tuple[Path, object] | None:
    """``(file, place)``: the file holding a frame and the frame's place in it (a DICOM
    slice's own file, a TIFF page, a video frame number); None when ``path`` is not a frame
    path."""
    where = SHELF.split(path)
    if where is None:
        return None
    file, place = SHELF.stack(where[0]).frame_file(where[1])
    return Path(file), place


def frame_file_key(path: str | os.PathLike[str]) -> tuple[str, int, int] | None:
    """``(name, mtime_ns, size)`` of the file holding a frame, the name telling frames of
    one file apart (memory keys); None when ``path`` is not a frame path. Raises OSError."""
    source = frame_source(path)
    if source is None:
        return None
    file, place = source
    stat = file.stat()
    return f"{file.resolve()}#{place}", stat.st_mtime_ns, stat.st_size


def might_be_stack(path: Path) -> bool:
    """Whether ``path`` needs a look at its headers to know if it is a stack."""
    suffix = path.suffix.lower()
    return (
        path.is_dir()
        or suffix in (".tif", ".tiff", ".nii", ".gz")
        or suffix
        in {".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".ts", ".mts"}
    )


@dataclass(frozen=True, eq=False)
class StackHeader:
    """A stack found among a folder's files, its headers read (:func:`read_stack_headers`).

    Attributes:
        path: the stack's file or folder.
        kind: what :func:`~samlabel.io.stacks.stack_kind` said it is.
        stack: the stack, open (headers only); None when it cannot be opened (it is then
            listed as an image, whose reading names the problem).
    """

    path: Path
    kind: str
    stack: Stack | None


def read_stack_headers(paths: Iterable[Path]) -> dict[Path, StackHeader]:
    """Find the stacks among ``paths`` and read their headers: the slow part of listing a
    folder (a 1,000-slice DICOM series: every slice's header, seconds). Touches neither the
    shelf nor a document, so it runs in the runner's work while the open folder stays as
    it is."""
    headers: dict[Path, StackHeader] = {}
    for path in paths:
        kind = stack_kind(path) if might_be_stack(path) else None
        if kind is None:
            continue
        try:
            stack: Stack | None = open_stack(path, budget_bytes=FRAME_BUDGET, kind=kind)
        except Exception:  # a damaged stack: opening it as an image names the problem
            stack = None
        headers[path] = StackHeader(path, kind, stack)
    return headers


def list_rows(
    document: Document,
    paths: list[Path],
    root: Path,
    headers: Mapping[Path, StackHeader] | None = None,
) -> tuple[list[Path], dict[int, StackRow]]:
    """Register the stacks among ``paths`` and make sure each frame has its record.

    ``headers``: the stacks' headers read beforehand (:func:`read_stack_headers`, in the
    runner's work); None reads them now. Returns the plain images (in order) and
    ``{index in paths: StackRow}``. A stack that cannot be opened is left to be listed
    (and reported) as an image.
    """
    if headers is None:
        headers = read_stack_headers(paths)
    SHELF.reset()
    plain: list[Path] = []
    rows: dict[int, StackRow] = {}
    for index, path in enumerate(paths):
        header = headers.get(path)
        if header is None:
            plain.append(path)
            continue
        SHELF.register(path, header.kind)
        if header.stack is None:
            plain.append(path)
            continue
        stack = SHELF.adopt(path, header.stack)
        uri = Path(os.path.relpath(path, root)).as_posix()
        height, width = stack.frame_size
        records = add_stack_frames(document, uri, len(stack), height, width)
        rows[index] = StackRow(path, uri, len(stack), tuple(r.id for r in records))
    return plain, rows


def stack_progress(
    document: Document, folder: FolderImages, image_ids: Iterable[int]
) -> list[tuple[int, int, ImageStatus]]:
    """``(row, annotations, status)`` of each stack row holding one of ``image_ids``: the
    count over all its frames; done when every frame is, in progress when any is begun."""
    touched = set(image_ids)
    progress = []
    for row, stack in folder.stacks.items():
        if touched.isdisjoint(stack.frame_ids):
            continue
        count, statuses = 0, set()
        for image_id in stack.frame_ids:
            count += len(document.annotations_for_image(image_id))
            statuses.add(document.image(image_id).status)
        if statuses == {ImageStatus.DONE}:
            status = ImageStatus.DONE
        elif count or statuses - {ImageStatus.UNLABELLED}:
            status = ImageStatus.IN_PROGRESS
        else:
            status = ImageStatus.UNLABELLED
        progress.append((row, count, status))
    return progress
