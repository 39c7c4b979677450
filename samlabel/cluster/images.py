"""What the encoder sees of an image file, and the cache key of its embedding.

The same preparation as the window's (:func:`samlabel.io.images.read_image` then
:func:`samlabel.io.images.to_display_rgb` with the file's own window), so an embedding computed
here, on a cluster worker or in ``samlabel embed`` is the one the window would compute and is
found by the window's lookup (:meth:`EmbeddingKey.for_file` with the whole image, no window).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from samlabel.core.errors import SamlabelError
from samlabel.inference.embedding_cache import EmbeddingKey
from samlabel.inference.transforms import resized_size
from samlabel.io.images import needs_tiled_view, read_image, read_image_size, to_display_rgb


class ImageSkipped(SamlabelError):
    """An image that cannot be encoded whole; the message names the file and the reason."""


def prepare_image(path: str | Path) -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB of ``path`` as the window hands it to the encoder.

    Raises:
        ImageSkipped: unreadable, too large to encode whole (the window encodes such images in
            crops), or too elongated for SAM's 1024-pixel frame.
    """
    path = Path(path)
    try:
        size = read_image_size(path)
        if needs_tiled_view(size):
            raise ImageSkipped(
                f"{path.name} is too large to encode whole ({size[1]} x {size[0]}); the window "
                "encodes it in crops.",
                path,
            )
        if min(resized_size(size)) < 1:
            raise ImageSkipped(
                f"{path.name} is too elongated for SAM ({size[1]} x {size[0]} pixels).", path
            )
        loaded = read_image(path)
    except ImageSkipped:
        raise
    except SamlabelError as error:
        raise ImageSkipped(str(error), path) from None
    return np.ascontiguousarray(to_display_rgb(loaded), dtype=np.uint8)


def whole_image_key(model_id: str, image_sha256: str) -> EmbeddingKey:
    """The key of an image's own picture: the window's lookup when no window/level or crop is
    chosen (:meth:`EmbeddingKey.for_file` with ``window`` and ``region`` None)."""
    return EmbeddingKey(model_id, image_sha256)


@dataclass
class FolderTally:
    """What a folder run did: encoded, found in the cache, failed (one sentence each)."""

    total: int = 0
    done: int = 0
    cached: int = 0
    failed: list[str] = field(default_factory=list)

    def summary(self, what: str = "embedded") -> str:
        """One line for the end of a run."""
        return (
            f"{self.total} images: {self.done} {what}, {self.cached} already in the cache, "
            f"{len(self.failed)} skipped."
        )

    def exit_status(self) -> int:
        """0 when anything was done or already there; 1 when every image failed."""
        return 1 if self.failed and self.done == 0 and self.cached == 0 else 0


def progress_bar(total: int):
    """A tqdm bar on stderr counting images."""
    from tqdm import tqdm

    return tqdm(total=total, unit="image", file=sys.stderr, dynamic_ncols=True)
