"""The interface between the user interface and a running SAM model.

Everything here is numpy and plain Python, so the GUI can depend on it without importing
torch or onnxruntime. Conventions (as in Meta's ``SamPredictor``):

- images are ``HxW`` or ``HxWxC`` ndarrays (uint8 or uint16; gray, RGB or RGBA), row 0 at top;
- points are ``(x, y, label)`` in original image pixels (x to the right, y down), label 1 =
  include (foreground), 0 = exclude (background);
- boxes are ``(x0, y0, x1, y1)`` (XYXY) in original image pixels;
- sizes are ``(height, width)``.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

import numpy as np

from samlabel.core.errors import InferenceError
from samlabel.core.masks import Rle, encode_mask

#: Side of the square the image encoder sees.
IMAGE_SIZE = 1024
#: Side of the low-resolution mask logits the decoder returns.
LOW_RES_SIZE = 256

Point = tuple[float, float, int]
Box = tuple[float, float, float, float]


@dataclass(frozen=True, eq=False)
class ImageEmbedding:
    """The encoder's output for one image: a value, safe to share between threads.

    Attributes:
        features: ``(1, 256, 64, 64)`` float32 image embedding.
        original_size: ``(H, W)`` of the image that was encoded.
        input_size: ``(h, w)`` of the image after resizing its long side to 1024, before padding.
        extras: backend-private, prompt-independent precomputations for the decoder (for
            example image-side projections), keyed by name. Never required for correctness.
        high_res_features: SAM 2 only: the encoder's two high-resolution maps, already
            projected for the decoder, ``(1, 32, 256, 256)`` and ``(1, 64, 128, 128)``
            float32; empty for SAM 1. Required by a SAM 2 decoder.
        stretched: True for SAM 2, whose frame is the whole image stretched to 1024x1024
            (``input_size`` is then ``(1024, 1024)``); decoded masks resize straight from the
            low-res logits to the original size.
    """

    features: np.ndarray
    original_size: tuple[int, int]
    input_size: tuple[int, int]
    extras: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    high_res_features: tuple[np.ndarray, ...] = field(default=(), compare=False, repr=False)
    stretched: bool = False


@dataclass(eq=False)
class Prediction:
    """What the decoder returns for one prompt set.

    Attributes:
        scores: ``(K,)`` float32 predicted IoU of each mask (K = 3 with multimask, else 1).
        low_res_logits: ``(K, 256, 256)`` float32 logits in the padded 1024 frame, the value to
            feed back as ``mask_input``.
        original_size, input_size, stretched: as in :class:`ImageEmbedding`.

    ``masks`` (``(K, H, W)`` bool, logits > 0 at the original size, exactly as Meta's
    predictor computes them) is computed on first access, because the user interface mostly
    needs only the lower resolution it shows (:meth:`mask_logits_for_view`); saving needs only
    the chosen candidate (:meth:`full_mask_rle`).
    """

    scores: np.ndarray
    low_res_logits: np.ndarray
    original_size: tuple[int, int]
    input_size: tuple[int, int]
    stretched: bool = False

    def _upsample(self, low_res: np.ndarray) -> np.ndarray:
        if self.stretched:  # SAM 2: straight to (H, W), as Meta's SAM2Transforms
            from samlabel.inference.sam2_transforms import upsample_stretched

            return upsample_stretched(low_res, self.original_size)
        from samlabel.inference.postprocess import upsample_logits

        return upsample_logits(low_res, self.input_size, self.original_size)

    @cached_property
    def mask_logits(self) -> np.ndarray:
        """``(K, H, W)`` float32 logits at the original image size.

        Resampled with OpenCV, within a few float32 roundings of Meta's values; where the
        sign matters (masks to show or save), use :attr:`masks` or :meth:`full_mask`, which
        are exact.
        """
        return self._upsample(self.low_res_logits)

    @cached_property
    def masks(self) -> np.ndarray:
        """``(K, H, W)`` bool masks at the original size, pixel for pixel Meta's.

        Each ``masks[i]`` is Fortran-ordered (column-major), as :meth:`full_mask` makes it:
        every candidate is written straight into its place in the stack.
        """
        from samlabel.inference.full_mask import full_size_masks

        return full_size_masks(
            self.low_res_logits, self.input_size, self.original_size, stretched=self.stretched
        )

    def full_mask(self, index: int) -> np.ndarray:
        """``(H, W)`` bool mask ``index`` at the original size, computed alone.

        Identical to Meta's postprocessing ``> 0`` for that candidate (SAM 1's two resizes,
        SAM 2's one); Fortran-ordered (column-major), the order COCO RLE walks.
        """
        if "masks" in self.__dict__:
            return self.masks[index]
        from samlabel.inference.full_mask import full_size_mask

        return full_size_mask(
            self.low_res_logits[index],
            self.input_size,
            self.original_size,
            stretched=self.stretched,
        )

    def full_mask_rle(self, index: int) -> Rle:
        """Mask ``index`` at the original size as COCO compressed RLE, ready to save.

        What accepting a mask needs; meant for a worker thread (tens of ms at 12 MP).
        ``.to_coco()`` of the result is the ``{"size": [H, W], "counts": str}`` COCO stores.
        The mask is made column-major, so pycocotools encodes it without a copy.
        """
        return encode_mask(self.full_mask(index))

    def best_index(self) -> int:
        """Index of the mask with the highest score."""
        return int(np.argmax(self.scores))

    def mask_logits_for_view(
        self,
        index: int,
        view_size: tuple[int, int],
        region: tuple[float, float, float, float] | None = None,
    ) -> np.ndarray:
        """Logits of mask ``index`` resampled for display.

        Args:
            index: which candidate.
            view_size: ``(h, w)`` of the output array (the on-screen size of the region).
            region: ``(x0, y0, x1, y1)`` in original image pixels; the whole image if None.

        Returns:
            ``(h, w)`` float32 logits; > 0 is inside the mask.
        """
        from samlabel.inference.view_logits import logits_for_view

        return logits_for_view(
            self.low_res_logits[index], self.input_size, self.original_size, view_size, region
        )


class PropagationEngine(Protocol):
    """SAM 2's memory over one stack: what :meth:`Predictor.propagation_engine` returns (a
    :class:`samlabel.inference.propagation.Propagator`). Frames are 0-based; masks ``(H, W)``
    bool in frame pixels; points ``(x, y, label)`` and boxes XYXY in frame pixels. Not
    thread-safe: one worker thread at a time uses an engine."""

    @property
    def num_frames(self) -> int: ...

    def add_prompts(self, frame: int, object_id: int, *, mask: np.ndarray) -> Any:
        """Give ``object_id``'s mask on ``frame``: a conditioning frame (Meta's
        ``add_new_mask``)."""

    def add_tracked_mask(self, frame: int, object_id: int, mask: np.ndarray, reverse: bool) -> None:
        """Put a mask in memory as an ordinary tracked frame (resuming after a crash)."""

    def propagate(self, start_frame: int, direction: str) -> Iterator[tuple[int, dict[int, Any]]]:
        """``(frame, {object_id: result})`` frame by frame from ``start_frame``; each result
        has ``mask`` (``(H, W)`` bool) and ``visible``. Closing it stops between frames."""

    def record(self) -> Any:
        """The small JSON-able state to resume after a crash (``.to_json()``)."""


class Predictor(abc.ABC):
    """A loaded SAM model. ``encode`` is slow (seconds), ``decode`` fast (tens of ms).

    Implementations keep no per-image state: the embedding is passed in, so one predictor
    can serve a background encoder thread and the GUI's decoder at once.
    """

    #: Short backend name, for example ``"onnxruntime"`` or ``"torch"``.
    backend: str = ""
    #: Device in words, for example ``"cpu"`` or ``"cuda:0 (NVIDIA H100)"``.
    device: str = "cpu"
    #: Human name of the model, for example ``"SAM ViT-B"`` or ``"MobileSAM"``.
    model_name: str = ""
    #: How the backend was picked, for example ``"chosen by measurement"`` ("" if asked for).
    selection: str = ""
    #: ``"sam"`` (SAM 1, MobileSAM) or ``"sam2"`` (SAM 2 / 2.1); only SAM 2 carries masks
    #: through the frames of a stack.
    family: str = "sam"
    #: The checkpoint file the model was loaded from (set by ``load_predictor``), or None
    #: (an exported folder): propagation builds SAM 2's memory modules from it.
    source_checkpoint: str | None = None

    @abc.abstractmethod
    def encode(self, image: np.ndarray) -> ImageEmbedding:
        """Compute the image embedding of ``image`` (``HxW`` or ``HxWxC``, uint8 or uint16)."""

    @abc.abstractmethod
    def decode(
        self,
        embedding: ImageEmbedding,
        points: Sequence[Point] | None = None,
        box: Box | None = None,
        mask_input: np.ndarray | None = None,
        multimask: bool = True,
    ) -> Prediction:
        """Masks for prompts on an encoded image.

        Args:
            embedding: from :meth:`encode`.
            points: ``(x, y, label)`` in original image pixels; label 1 include, 0 exclude.
            box: ``(x0, y0, x1, y1)`` in original image pixels.
            mask_input: ``(256, 256)`` or ``(1, 256, 256)`` low-res logits from an earlier
                :class:`Prediction`.
            multimask: three candidates (True) or one (False), as in Meta's predictor.
        """

    def prepare(self, embedding: ImageEmbedding) -> None:
        """Do the decoder's prompt-independent work for ``embedding`` now (stored in its
        ``extras``), so the first click does not pay it. Embeddings read back from a disk
        cache arrive without it. Nothing to do for backends without such a part."""
        del embedding  # by default nothing is precomputed

    def decode_batch(
        self, embedding: ImageEmbedding, points: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The three candidates of ``B`` prompt sets at once (segment everything).

        Args:
            embedding: from :meth:`encode`.
            points: ``(B, N, 3)`` rows of ``(x, y, label)`` in original image pixels; each
                set is decoded as ``decode(embedding, points=set, multimask=True)`` would.

        Returns:
            ``(low_res_logits (B, 3, 256, 256) float32, scores (B, 3) float32)``.

        This default decodes one set at a time; backends override it with one call per batch.
        """
        from samlabel.inference.automatic_batch import check_point_batch

        array = check_point_batch(points)
        logits = np.empty((len(array), 3, LOW_RES_SIZE, LOW_RES_SIZE), np.float32)
        scores = np.empty((len(array), 3), np.float32)
        for i, prompt in enumerate(array):
            prediction = self.decode(
                embedding, points=[(x, y, int(label)) for x, y, label in prompt]
            )
            logits[i] = prediction.low_res_logits
            scores[i] = prediction.scores
        return logits, scores

    def propagation_unavailable(self) -> str | None:
        """Why this model cannot carry masks through a stack (one sentence), None when it can."""
        name = self.model_name or "this model"
        if self.family != "sam2":
            return f"Propagation needs a SAM 2 model; {name} is not one."
        if not self.source_checkpoint:
            return (
                f"Propagation needs the SAM 2 checkpoint file (.pt) of {name}, which holds its "
                "memory modules; this model was opened from an exported folder."
            )
        from samlabel.inference.loader import torch_available

        if not torch_available():
            return "Propagation runs SAM 2's memory in PyTorch, which this build leaves out."
        return None

    def propagation_engine(
        self,
        num_frames: int,
        frame_size: tuple[int, int],
        embed: Callable[[int], ImageEmbedding],
    ) -> PropagationEngine:
        """A new propagation engine for a stack of ``num_frames`` frames of ``frame_size``
        ``(H, W)``; ``embed(frame)`` gives a frame's embedding by this predictor (from a cache
        when it can), which the engine's memory model reuses. Slow the first time (loads the
        memory modules): call it off the GUI thread.

        Raises:
            InferenceError: :meth:`propagation_unavailable` says why not.
            CheckpointError: the checkpoint lacks the memory modules or changed since.
        """
        reason = self.propagation_unavailable()
        if reason is not None:
            raise InferenceError(reason)
        from samlabel.inference.stack_propagation import new_engine

        return new_engine(self.source_checkpoint, num_frames, frame_size, embed)

    def describe(self) -> str:
        """One line for the status bar: model, backend and device."""
        name = self.model_name or "model"
        line = f"{name} · {self.backend} on {self.device}"
        return f"{line} ({self.selection})" if self.selection else line
