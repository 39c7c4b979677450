"""A folder of numbered image files (``frame_1.png`` ... ``frame_240.png``) as one stack.

Frames are in the natural order of the numbers in their names (``frame_2`` before
``frame_10``), whatever their zero padding. Each file is read by
:func:`samlabel.io.images.read_image` when its frame is asked for. Files of another size than
the first are left out and named in ``notes``.

When is a folder a stack rather than a folder of photos? See :func:`numbered_frames`: every
image file in it has one extension and one name made of the same prefix and a number, the
numbers run without a gap, and there are at least two. Drone photos ``DJI_0001.JPG`` ...
``DJI_0456.JPG`` pass that rule too, which is why only a *sub*folder becomes one item of its
parent's list (:mod:`samlabel.io.stacks.detect`); opening such a folder itself lists its images
one by one as always.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from samlabel.core.errors import ImageReadError
from samlabel.io.images import list_images, read_image, read_image_size
from samlabel.io.stacks.base import Stack
from samlabel.io.stacks.cache import DEFAULT_BUDGET_BYTES

_NUMBERED = re.compile(r"^(.*?)(\d+)$")


def numbered_frames(folder: Path) -> list[Path] | None:
    """The folder's image files in frame order if they form a numbered sequence, else None."""
    images = list_images(folder)
    if len(images) < 2 or len({p.suffix.lower() for p in images}) != 1:
        return None
    numbered = []
    for path in images:
        match = _NUMBERED.match(path.stem)
        if match is None:
            return None
        numbered.append((match.group(1), int(match.group(2)), path))
    if len({prefix for prefix, _n, _p in numbered}) != 1:
        return None
    numbered.sort(key=lambda item: item[1])
    numbers = [n for _prefix, n, _p in numbered]
    if numbers != list(range(numbers[0], numbers[0] + len(numbers))):
        return None
    return [p for _prefix, _n, p in numbered]


class FramesFolder(Stack):
    """Frame ``k`` is the k-th file in number order."""

    kind = "frames"
    source_format = "frames"

    def __init__(
        self,
        folder: Path,
        uri: str,
        budget_bytes: int = DEFAULT_BUDGET_BYTES,
        files: list[Path] | None = None,
    ) -> None:
        folder = Path(folder)
        files = files if files is not None else numbered_frames(folder)
        if not files:
            raise ImageReadError(f"Cannot open {folder}: it holds no numbered frames.", folder)
        size = read_image_size(files[0])
        kept, odd = [files[0]], []
        for path in files[1:]:
            try:
                fits = read_image_size(path) == size
            except ImageReadError:
                fits = False
            (kept if fits else odd).append(path)
        super().__init__(folder, uri, len(kept), budget_bytes)
        self.files = kept
        self.frame_size = size
        if odd:
            names = ", ".join(p.name for p in odd[:5]) + (" ..." if len(odd) > 5 else "")
            self.notes.append(
                f"{folder}: {len(odd)} file(s) are unreadable or not {size[1]}x{size[0]} pixels "
                f"like {files[0].name}, and are left out ({names})."
            )

    def frame_file(self, index: int) -> tuple[Path, int]:
        return self.files[self._checked(index)], 0

    def _read(self, index: int) -> np.ndarray:
        loaded = read_image(self.files[index])
        pixels = loaded.pixels
        if loaded.has_alpha and pixels.ndim == 3:
            pixels = pixels[..., :-1]
        if pixels.ndim == 3 and pixels.shape[2] == 1:
            pixels = pixels[..., 0]
        self.inverted = loaded.inverted
        return pixels
