"""Run a SAM 2 / 2.1 checkpoint in torch (CPU or CUDA): the reference-exact SAM 2 backend.

Reproduces Meta's ``SAM2ImagePredictor.set_image`` / ``predict`` (see
:mod:`samlabel.inference.sam2_transforms` for the pre- and postprocessing); the embedding
carries the two high-resolution maps, so callers use it as a SAM 1 embedding.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from samlabel.inference.api import Box, ImageEmbedding, Point, Prediction
from samlabel.inference.prompts import decoder_mask_input
from samlabel.inference.sam2_graphs import require_high_res
from samlabel.inference.sam2_transforms import LOGIT_LIMIT, preprocess_sam2, sam2_prompt_arrays
from samlabel.inference.torch_backend import TorchModelPredictor, default_device
from samlabel.sam.checkpoint import ModelInfo
from samlabel.sam.sam2_checkpoint import load_sam2_model
from samlabel.sam.sam2_model import Sam2Model


class Sam2TorchPredictor(TorchModelPredictor):
    """:class:`Predictor` running a :class:`Sam2Model` in torch (CPU or CUDA; see
    :class:`~samlabel.inference.torch_backend.TorchModelPredictor` for devices and dtypes)."""

    default_name = "SAM 2"
    family = "sam2"

    def __init__(
        self, model: Sam2Model, info: ModelInfo | None = None, device: str = "cpu"
    ) -> None:
        super().__init__(model, info, device)

    def encode(self, image: np.ndarray) -> ImageEmbedding:
        """``(H, W[, C])`` uint8/uint16 image -> embedding ``(1, 256, 64, 64)`` plus the maps."""
        original_size = (int(image.shape[0]), int(image.shape[1]))
        tensor, input_size = preprocess_sam2(image)
        with self.exact():
            embed, s0, s1 = self.model.encode_image(self.tensor(tensor))
        return ImageEmbedding(
            features=embed.float().cpu().numpy(),
            original_size=original_size,
            input_size=input_size,
            high_res_features=(s0.float().cpu().numpy(), s1.float().cpu().numpy()),
            stretched=True,
        )

    def run_encoder(self, tensor: np.ndarray) -> list[np.ndarray]:
        """The encoder on an already preprocessed ``(1, 3, 1024, 1024)`` float32 input:
        ``[embedding with no_mem_embed, high_res_s0, high_res_s1]``, as the ONNX
        predictor's ``run_encoder`` returns them."""
        with self.exact():
            outputs = self.model.encode_image(self.tensor(tensor))
        return [t.float().cpu().numpy() for t in outputs]

    def decode(
        self,
        embedding: ImageEmbedding,
        points: Sequence[Point] | None = None,
        box: Box | None = None,
        mask_input: np.ndarray | None = None,
        multimask: bool = True,
    ) -> Prediction:
        """See :meth:`Predictor.decode`; as ``SAM2ImagePredictor.predict`` returns them."""
        coords, labels = sam2_prompt_arrays(points, box, embedding.original_size)
        mask, has_mask = decoder_mask_input(mask_input)
        s0, s1 = require_high_res(embedding)
        tensor = self.tensor
        with self.exact():
            masks, iou = self.model.predict(
                tensor(embedding.features),
                tensor(s0),
                tensor(s1),
                tensor(coords),
                tensor(labels),
                tensor(mask),
                tensor(has_mask),
                multimask,
            )
        return Prediction(
            scores=iou[0].float().cpu().numpy(),
            low_res_logits=masks[0].clamp(-LOGIT_LIMIT, LOGIT_LIMIT).float().cpu().numpy(),
            original_size=embedding.original_size,
            input_size=embedding.input_size,
            stretched=True,
        )


def load_sam2_torch_predictor(
    path: str | Path, device: str | None = None, state: dict | None = None
) -> Sam2TorchPredictor:
    """A :class:`Sam2TorchPredictor` for a checkpoint; ``device`` None picks CUDA if present.

    Raises:
        CheckpointError: the file is missing, unsafe, damaged or not a SAM 2 checkpoint.
    """
    model, info = load_sam2_model(path, state)
    return Sam2TorchPredictor(model, info, device or default_device())
