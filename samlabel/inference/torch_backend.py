"""Run a SAM checkpoint in torch (CPU or CUDA): the reference-exact backend.

Reproduces Meta's ``SamPredictor.set_image`` / ``predict``: the prompt set is assembled in
numpy (points, then box corners labelled 2/3; with points but no box a padding point of
label -1 at (0, 0) is appended) and the network sees only tensors.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch

from samlabel.inference.api import (
    Box,
    ImageEmbedding,
    Point,
    Prediction,
    Predictor,
)
from samlabel.inference.prompts import build_prompt_arrays, decoder_mask_input
from samlabel.inference.transforms import preprocess
from samlabel.sam.checkpoint import ModelInfo, load_sam_model
from samlabel.sam.mask_decoder import select_masks
from samlabel.sam.sam_model import SamModel


def describe_device(device: torch.device) -> str:
    """``"cpu"`` or e.g. ``"cuda:0 (NVIDIA H100 80GB HBM3)"``."""
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    return str(device)


def default_device() -> str:
    """``"cuda"`` when torch sees a CUDA device, else ``"cpu"``."""
    return "cuda" if torch.cuda.is_available() and torch.cuda.device_count() > 0 else "cpu"


class TorchModelPredictor(Predictor):
    """What the SAM 1 and SAM 2 torch predictors share: the model in eval mode on its device,
    numpy in and out, and a run that a caller's autocast cannot change.

    Inputs go to the model's device (floats in the model's dtype, float32 for every loaded
    checkpoint); outputs come back as float32 numpy arrays on the CPU.
    """

    backend = "torch"
    #: The model's name when no checkpoint information is given.
    default_name = "SAM"

    def __init__(self, model, info: ModelInfo | None = None, device: str = "cpu") -> None:
        self._device = torch.device(device)
        if self._device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError("CUDA was asked for but torch sees no CUDA device")
        self.model = model.to(self._device).eval()
        self._dtype = next(self.model.parameters()).dtype
        self.info = info
        self.device = describe_device(self._device)
        self.model_name = info.name if info is not None else self.default_name

    def tensor(self, array: np.ndarray) -> torch.Tensor:
        """``array`` as a tensor on the model's device; floating point in the model's dtype."""
        result = torch.as_tensor(np.ascontiguousarray(array), device=self._device)
        return result.to(self._dtype) if result.is_floating_point() else result

    @contextlib.contextmanager
    def exact(self) -> Iterator[None]:
        """Inference mode with autocast off: an autocast region the caller opened (bf16 on a
        GPU, say) would otherwise change the masks without a word."""
        with torch.inference_mode(), torch.autocast(self._device.type, enabled=False):
            yield


class TorchPredictor(TorchModelPredictor):
    """:class:`Predictor` running a :class:`SamModel` in torch."""

    def __init__(self, model: SamModel, info: ModelInfo | None = None, device: str = "cpu") -> None:
        super().__init__(model, info, device)

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str = "cpu") -> TorchPredictor:
        """Load a checkpoint (raises :class:`~samlabel.core.errors.CheckpointError`)."""
        model, info = load_sam_model(path)
        return cls(model, info, device)

    def encode(self, image: np.ndarray) -> ImageEmbedding:
        """``(H, W[, C])`` uint8/uint16 image -> embedding ``(1, 256, 64, 64)`` float32."""
        original_size = (int(image.shape[0]), int(image.shape[1]))
        tensor, input_size = preprocess(image)
        with self.exact():
            features = self.model.encode_image(self.tensor(tensor))
        return ImageEmbedding(
            features=features.float().cpu().numpy(),
            original_size=original_size,
            input_size=input_size,
        )

    def decode(
        self,
        embedding: ImageEmbedding,
        points: Sequence[Point] | None = None,
        box: Box | None = None,
        mask_input: np.ndarray | None = None,
        multimask: bool = True,
    ) -> Prediction:
        """See :meth:`Predictor.decode`; masks as ``SamPredictor.predict`` returns them."""
        coords, labels = build_prompt_arrays(
            points, box, embedding.original_size, embedding.input_size
        )
        mask, has_mask = decoder_mask_input(mask_input)
        with self.exact():
            masks, iou = self.model.decode(
                self.tensor(embedding.features),
                self.tensor(coords),
                self.tensor(labels),
                self.tensor(mask),
                self.tensor(has_mask),
            )
            masks, iou = select_masks(masks, iou, multimask)
        return Prediction(
            scores=iou[0].float().cpu().numpy(),
            low_res_logits=masks[0].float().cpu().numpy(),
            original_size=embedding.original_size,
            input_size=embedding.input_size,
        )

    def decode_batch(
        self, embedding: ImageEmbedding, points: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """See :meth:`Predictor.decode_batch`: one network call for the whole batch.

        Runs the batched decoder of :class:`~samlabel.sam.onnx_modules.DecoderPromptBatch`
        (the reference network computed in a cheaper order), with the image-side work done
        once per embedding.
        """
        from samlabel.inference.automatic_batch import batch_prompt_arrays
        from samlabel.sam.onnx_modules import DecoderPromptBatch, model_layer0_kv

        coords, labels = batch_prompt_arrays(points, embedding.original_size, embedding.input_size)
        with self.exact():
            features = self.tensor(embedding.features)
            kv = embedding.extras.get("torch_layer0_kv")
            if kv is None or kv[0].device != self._device:
                kv = model_layer0_kv(self.model, features)
                embedding.extras["torch_layer0_kv"] = kv
            iou, masks = DecoderPromptBatch(self.model)(
                features,
                kv[0],
                kv[1],
                self.tensor(coords),
                self.tensor(labels),
            )
        return (
            np.ascontiguousarray(masks[:, 1:].float().cpu().numpy()),
            np.ascontiguousarray(iou[:, 1:].float().cpu().numpy()),
        )


def load_torch_predictor(path: str | Path, device: str | None = None) -> Predictor:
    """A torch :class:`Predictor` for a SAM 1 or SAM 2 checkpoint file (SAM 2 recognised by its
    weights); ``device`` None picks CUDA if present.

    Raises:
        CheckpointError: the file is missing, unsafe, damaged or not a SAM checkpoint.
    """
    from samlabel.sam.sam2_checkpoint import checkpoint_family

    if checkpoint_family(path) == "sam2":
        from samlabel.inference.sam2_torch import load_sam2_torch_predictor

        return load_sam2_torch_predictor(path, device)  # type: ignore[return-value]
    return TorchPredictor.from_checkpoint(path, device or default_device())
