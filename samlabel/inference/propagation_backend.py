"""The propagation engine the window uses: SAM 2's memory in torch, frames encoded by the
loaded predictor's backend, frame embeddings through the on-disk cache.

:func:`open_propagation_engine` (the facade's ``samlabel.inference.propagation_engine``)
loads a SAM 2 / 2.1 checkpoint's video modules once; :meth:`PropagationEngine.propagator`
then makes a :class:`~samlabel.inference.propagation.Propagator` per stack. Frames are
encoded by the predictor the window already loaded for clicks (``load_predictor(path,
"auto")``: ONNX Runtime or OpenVINO on a CPU, torch on a GPU), which on a CPU is about
twice as fast as torch; the memory encoder and memory attention stay in torch (they are
not exported).

Thread use: build the engine and run a propagator in one background worker (model loading
takes seconds; a frame takes seconds).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from samlabel.core.errors import InferenceError
from samlabel.core.windowing import Window
from samlabel.inference.api import Predictor
from samlabel.inference.embedding_cache import EmbeddingCache, model_key
from samlabel.inference.propagation import Propagator
from samlabel.inference.propagation_cache import FrameEmbeddingStore, stack_frame_key
from samlabel.inference.propagation_frames import FrameFeatureSource, RunEncoder
from samlabel.io.images.display import to_display_rgb
from samlabel.io.stacks.base import Stack
from samlabel.sam.sam2_checkpoint import load_sam2_video_model
from samlabel.sam.sam2_video import Sam2VideoModel


@dataclass
class PropagationEngine:
    """A loaded video model and the frame encoder to use with it.

    Attributes:
        model: the video model (torch, eval mode): memory encoder and attention, heads.
        run_encoder: the predictor's encoder on preprocessed frames, or None for torch's.
        encoder_backend: ``"onnxruntime"``, ``"openvino"`` or ``"torch"``.
        model_id: names the weights (and encoder precision) in cache keys.
        cache: the on-disk embedding cache, or None (frames encoded every time).
        model_name: for example ``"SAM 2.1 Hiera-T"``.
    """

    model: Sam2VideoModel
    run_encoder: RunEncoder | None
    encoder_backend: str
    model_id: str
    cache: EmbeddingCache | None = None
    model_name: str = ""

    def propagator(
        self,
        read_frame: Callable[[int], np.ndarray],
        num_frames: int,
        frame_size: tuple[int, int],
        frame_key: Callable[[int], str | None] | None = None,
        keep_memory_frames: int | None = None,
    ) -> Propagator:
        """A propagator over any sequence of frames.

        Args:
            read_frame: frame index -> ``(H, W[, 3])`` uint8 frame as shown (the 8-bit
                picture of the frame: window applied).
            num_frames, frame_size: the stack's frame count and ``(H, W)``.
            frame_key: frame index -> a string naming exactly the pixels ``read_frame``
                returns (:func:`~samlabel.inference.propagation_cache.stack_frame_key`);
                with the engine's cache, frames are read back instead of encoded again.
            keep_memory_frames: see :class:`~samlabel.inference.propagation.Propagator`.
        """
        store = None
        if self.cache is not None and frame_key is not None:
            store = FrameEmbeddingStore(self.cache, self.model_id, frame_key)
        frames = FrameFeatureSource(
            self.model,
            read_frame,
            num_frames,
            frame_size,
            run_encoder=self.run_encoder,
            store=store,
        )
        return Propagator(self.model, frames, keep_memory_frames)

    def stack_propagator(
        self,
        stack: Stack,
        window: Window | None = None,
        keep_memory_frames: int | None = None,
    ) -> Propagator:
        """A propagator over an open stack (:func:`samlabel.io.stacks.open_stack`), its
        frames shown through ``window`` (default: the stack's own), cached by content."""

        def read(index: int) -> np.ndarray:
            return to_display_rgb(stack.loaded(index), window)

        return self.propagator(
            read,
            len(stack),
            stack.frame_size,
            lambda index: stack_frame_key(stack, index, window),
            keep_memory_frames,
        )

    def describe(self) -> str:
        """One line, e.g. ``SAM 2.1 Hiera-T propagation · encoder onnxruntime, memory torch``."""
        return f"{self.model_name} propagation · encoder {self.encoder_backend}, memory torch"


def predictor_encoder(predictor: Predictor | None) -> tuple[RunEncoder | None, str]:
    """``(run_encoder, backend)`` of a loaded SAM 2 predictor: its own encoder on
    preprocessed frames; ``(None, "torch")`` when there is no predictor.

    Raises:
        InferenceError: the predictor runs a SAM 1 model, or its backend offers no encoder
            on preprocessed frames.
    """
    if predictor is None:
        return None, "torch"
    folder = getattr(predictor, "folder", None)
    if folder is not None and getattr(folder, "family", "sam") != "sam2":
        raise InferenceError(
            f"{predictor.model_name or 'This model'} is a SAM 1 model; carrying masks through "
            "frames needs a SAM 2 or 2.1 checkpoint."
        )
    run = getattr(predictor, "run_encoder", None)
    if run is None:
        raise InferenceError(
            f"the {predictor.backend or 'loaded'} backend cannot encode frames for "
            "propagation; load a SAM 2 checkpoint."
        )
    return run, predictor.backend or "torch"


def open_propagation_engine(
    checkpoint: str | Path,
    predictor: Predictor | None = None,
    cache: EmbeddingCache | None = None,
) -> PropagationEngine:
    """Load ``checkpoint``'s video model, to encode frames with ``predictor``'s backend.

    Args:
        checkpoint: a SAM 2 / 2.1 checkpoint with its video modules (Meta's published files).
        predictor: the predictor loaded from the same checkpoint (``load_predictor``, any
            backend); its encoder encodes the frames. None: the video model's torch encoder.
            A predictor of other weights (an export of another checkpoint) is not used:
            torch encodes instead, because its features would not fit the memory.
        cache: the embedding cache (the window's, so frames are kept with its images);
            None: frames are encoded every time.

    Raises:
        CheckpointError: not a SAM 2 checkpoint, or one without the video modules.
        InferenceError: the predictor runs a SAM 1 model.
    """
    model, info = load_sam2_video_model(checkpoint)
    run_encoder, backend = predictor_encoder(predictor)
    torch_model = getattr(predictor, "model", None)  # a torch predictor: its device (a GPU)
    if hasattr(torch_model, "parameters"):
        model.to(next(torch_model.parameters()).device)
    exported_from = getattr(getattr(predictor, "folder", None), "checkpoint_sha256", None)
    if exported_from is not None and exported_from != info.sha256:
        run_encoder, backend = None, "torch"
    precision = getattr(predictor, "precision", "fp32") if run_encoder is not None else "fp32"
    model_id = model_key(checkpoint, precision)
    return PropagationEngine(model, run_encoder, backend, model_id, cache, info.name)
