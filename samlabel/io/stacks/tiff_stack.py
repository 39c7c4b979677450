"""A multi-page TIFF (microscopy z-stack, time-lapse) as a stack: one page per frame.

The file stays open and each page is decoded only when its frame is asked for, with the image
reader's conventions (orientation tag, palette, min-is-white, dtype normalisation). Pages of
another size than the first (thumbnails, a differently sized plane) are left out and named in
``notes``; the frames are the pages that fit, in file order.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tifffile

from samlabel.core.errors import ImageReadError
from samlabel.io.images import pil_reader, tiff_reader
from samlabel.io.images.model import normalize_dtype
from samlabel.io.images.orientation import apply_orientation, oriented_size
from samlabel.io.stacks.base import Stack
from samlabel.io.stacks.cache import DEFAULT_BUDGET_BYTES


def tiff_page_count(path: Path) -> int:
    """Full-resolution pages of a TIFF (reduced copies and masks are not pages)."""
    with tifffile.TiffFile(path) as tf:
        return len(tiff_reader._main_pages(tf))


class TiffStack(Stack):
    """Frame ``k`` is the k-th full-resolution page of the size of the first one."""

    kind = "tiff"
    source_format = "TIFF"

    def __init__(self, path: Path, uri: str, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        path = Path(path)
        try:
            self._tf = tifffile.TiffFile(path)
        except Exception as err:
            raise ImageReadError(
                f"Cannot open {path}: it is not a readable TIFF ({err}).", path
            ) from err
        try:
            pages, size, notes = self._scan(path)
        except Exception:
            self._tf.close()
            raise
        super().__init__(path, uri, len(pages), budget_bytes)
        self._pages = pages
        self.frame_size = size
        self.notes = notes
        first = self._page(0)
        self.inverted = int(first.photometric) == tiff_reader._MINISWHITE

    def _scan(self, path: Path) -> tuple[list[int], tuple[int, int], list[str]]:
        main = tiff_reader._main_pages(self._tf)
        if not main:
            raise ImageReadError(f"Cannot open {path}: the TIFF holds no image page.", path)
        sizes = []
        for index in main:
            page = self._tf.pages[index]
            stored = (int(page.shape[0]), int(page.shape[1])) if page.shape else (0, 0)
            orientation = tiff_reader.orientation_of(page) if hasattr(page, "tags") else 1
            sizes.append(oriented_size(stored, orientation))
        size = sizes[0]
        kept = [i for i, s in zip(main, sizes, strict=True) if s == size]
        notes = []
        if len(kept) < len(main):
            odd = [n for n, s in enumerate(sizes) if s != size]
            listed = ", ".join(str(n) for n in odd[:8]) + (" ..." if len(odd) > 8 else "")
            notes.append(
                f"{path}: {len(odd)} page(s) are not {size[1]}x{size[0]} pixels like the first "
                f"and are left out (pages {listed}, counted from 0)."
            )
        return kept, size, notes

    def frame_file(self, index: int) -> tuple[Path, int]:
        return self.path, self._pages[self._checked(index)]  # the page's index in the file

    def _page(self, index: int) -> tifffile.TiffPage:
        page = self._tf.pages[self._pages[index]]
        return page if isinstance(page, tifffile.TiffPage) else page.aspage()

    def _read(self, index: int) -> np.ndarray:
        page = self._page(index)
        if not tiff_reader.tifffile_can_decode(page):
            # LZW/JPEG without imagecodecs, CMYK, YCbCr: Pillow decodes it, as for one image.
            pixels = pil_reader.read(self.path, "TIFF", page.index, None, False).pixels
            return pixels[..., :3] if pixels.ndim == 3 and pixels.shape[2] > 3 else pixels
        tiff_reader.check_not_truncated(self.path, page)
        values = tiff_reader.samples_last(page.asarray(), page)
        values, _mode, has_alpha = tiff_reader.describe_samples(values, page)
        if has_alpha or (values.ndim == 3 and values.shape[2] > 3):
            values = values[..., :3]  # frames are grey or RGB
        return normalize_dtype(apply_orientation(values, tiff_reader.orientation_of(page)))

    def close(self) -> None:
        super().close()
        self._tf.close()
