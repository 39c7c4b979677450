"""The work the session asks for, and the runner interface that does it.

The session never runs a network or reads a file itself: it builds an immutable, numbered
request and hands it to a :class:`WorkRunner`. The window's runner does the work in background
threads (:mod:`samlabel.qt.work_runner`); :class:`samlabel.session.headless.SyncRunner` does
it on the calling thread for tests and commands. Either way the answer goes back to the
session's ``on_*`` methods with the request's number, and the session drops the answers nobody
waits for any more (the policy lives in :mod:`samlabel.session.decoding` and
:mod:`samlabel.session.session`, not in the runner).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from samlabel.core.masks import Rle, encode_mask
from samlabel.inference.api import Box, ImageEmbedding, Point, Prediction, Predictor
from samlabel.inference.crops import Crop
from samlabel.session.images import FolderListing, read_folder
from samlabel.session.source import SourceImage


@dataclass(frozen=True, eq=False)
class LoadRequest:
    """Read ``path`` for display and encoding (:func:`~samlabel.session.source.read_source_image`
    and the display pyramid)."""

    number: int
    path: Path


@dataclass(frozen=True, eq=False)
class ListRequest:
    """List a folder to open and read its stacks' headers
    (:func:`~samlabel.session.images.read_folder`): the slow part of opening a folder.

    Attributes:
        number: request number, carried by the answer.
        folder: the folder to open.
        annotations: its annotations file (None: ``folder/annotations.json``).
        files: only these files of the folder (None: all its images and stacks).
    """

    number: int
    folder: Path
    annotations: Path | None = None
    files: tuple[Path, ...] | None = None

    def run(self) -> FolderListing:
        """The folder's listing (any thread; raises SamlabelError naming the folder)."""
        return read_folder(self.folder, None if self.files is None else list(self.files))


@dataclass(frozen=True, eq=False)
class EncodeRequest:
    """Compute the embedding of ``path``, then encode the ``ahead`` files into the cache.

    Attributes:
        number: request number, carried by the answer.
        path: the image file.
        picture: the picture to encode instead of the file's own (another window/level, or a
            crop of a huge image: its ``window`` and ``region`` are part of the cache keys);
            None for the file as read.
        ahead: the next images, encoded afterwards into the cache (prefetch).
    """

    number: int
    path: Path
    picture: SourceImage | None = None
    ahead: tuple[Path, ...] = ()


@dataclass(frozen=True, eq=False)
class DecodeRequest:
    """One prompt set to decode, snapshotted when it was asked for.

    Attributes:
        number: request number, carried by the answer.
        embedding: the image's embedding (an immutable value).
        points: ``(x, y, label)`` in original image pixels; label 1 include, 0 exclude.
        box: ``(x0, y0, x1, y1)`` in original image pixels, or None.
        mask_input: ``(256, 256)`` float32 low-res logits fed back (a private copy), or None.
        multimask: three candidates (True) or one.
    """

    number: int
    embedding: ImageEmbedding
    points: tuple[Point, ...]
    box: Box | None
    mask_input: np.ndarray | None
    multimask: bool = True

    def run(self, predictor: Predictor) -> Prediction:
        """Decode with ``predictor`` on the calling thread."""
        return predictor.decode(
            self.embedding,
            points=list(self.points) or None,
            box=self.box,
            mask_input=self.mask_input,
            multimask=self.multimask,
        )


def private_logits(mask_input: np.ndarray | None) -> np.ndarray | None:
    """A float32 copy of fed-back logits (backends hand them to ``torch.from_numpy``, which
    warns on read-only arrays, so a copy rather than a read-only flag)."""
    if mask_input is None:
        return None
    return np.array(mask_input, dtype=np.float32, copy=True)


def full_size_rle(prediction: Prediction, index: int, crop: Crop | None) -> Rle:
    """Candidate ``index`` of ``prediction`` at full size, in whole-image pixels, as COCO RLE.

    The one place an accepted mask is made, on a worker thread: only the chosen candidate is
    upsampled (:meth:`Prediction.full_mask`, Meta's pixels) and encoded, and a huge image's
    crop mask is placed into the whole image (:meth:`Crop.mask_to_full`) first. The document
    takes the RLE as it is, so the GUI thread does no pixel work.
    """
    if crop is None:
        return prediction.full_mask_rle(index)
    return encode_mask(crop.mask_to_full(prediction.full_mask(index)))


@dataclass(frozen=True, eq=False)
class MaskRequest:
    """Make the full-size mask of an accepted candidate, as RLE (:func:`full_size_rle`).

    Attributes:
        number: request number, carried by the answer.
        prediction: the accepted step's prediction.
        index: the chosen candidate.
        crop: the crop the prediction is in (huge images), or None.
    """

    number: int
    prediction: Prediction
    index: int
    crop: Crop | None

    def run(self) -> Rle:
        """The mask in whole-image pixels as COCO RLE (any thread)."""
        return full_size_rle(self.prediction, self.index, self.crop)


class WorkRunner(Protocol):
    """Runs the session's requests and reports back to its ``on_*`` methods.

    Answers may come later and on the session's thread only (the window's runner delivers
    them through Qt signals); a runner never calls back from inside one of these methods.
    """

    def set_predictor(self, predictor: Predictor | None, model_id: str, cache: object) -> None:
        """Encode and decode with ``predictor`` from now on (None: no model)."""

    def load(self, request: LoadRequest) -> None:
        """Read an image; answers ``on_image_loaded`` or ``on_image_failed``."""

    def list_folder(self, request: ListRequest) -> None:
        """Run ``request`` (the folder's files and stack headers); answers
        ``session.folders.on_listed`` or ``session.folders.on_list_failed``."""

    def encode(self, request: EncodeRequest) -> None:
        """Compute an embedding (replacing a waiting encode); answers ``on_encode_started``
        (only when the encoder really runs), then ``on_encoded`` or ``on_encode_failed``."""

    def cached_embedding(self, path: Path, picture: SourceImage | None) -> ImageEmbedding | None:
        """The embedding of ``path`` (through ``picture``) when it is in memory, at once."""

    def decode(self, request: DecodeRequest) -> None:
        """Decode a prompt set; answers ``on_decoded`` or ``on_decode_failed``."""

    def cancel_decode(self) -> None:
        """Drop a decode that has not started (one in progress finishes; its answer is
        ignored by the session)."""

    def mask(self, request: MaskRequest) -> None:
        """Make an accepted mask at full size as RLE, in request order; answers ``on_mask`` or
        ``on_mask_failed``."""

    def shutdown(self) -> None:
        """Stop the threads (work in progress is let finish)."""
