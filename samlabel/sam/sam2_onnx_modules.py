"""Torch modules with the exact inputs and outputs of the exported SAM 2 ONNX graphs.

They hold no weights of their own: each wraps a :class:`~samlabel.sam.sam2_model.Sam2Model`.
Coordinates are pixels in the stretched 1024 frame; labels 1/0 include/exclude, 2/3 box
corners, -1 padding. ``B`` (prompt sets) and ``N`` (points) are dynamic axes.
"""

from __future__ import annotations

import torch
from torch import nn

from samlabel.sam.sam2_model import Sam2Model

ENCODER_INPUTS = ["image"]
ENCODER_OUTPUTS = ["image_embeddings", "high_res_s0", "high_res_s1"]
DECODER_INPUTS = [
    "image_embeddings",
    "high_res_s0",
    "high_res_s1",
    "point_coords",
    "point_labels",
    "mask_input",
    "has_mask_input",
]
DECODER_OUTPUTS = ["iou_predictions", "low_res_masks"]


class Sam2EncoderForExport(nn.Module):
    """image ``(1, 3, 1024, 1024)`` -> embedding ``(1, 256, 64, 64)`` (with ``no_mem_embed``),
    ``high_res_s0 (1, 32, 256, 256)``, ``high_res_s1 (1, 64, 128, 128)``."""

    def __init__(self, model: Sam2Model) -> None:
        super().__init__()
        self.model = model
        # A constant of the weights for the fixed 1024 input (256x256 token grid).
        with torch.no_grad():
            pos = model.image_encoder.trunk.position_embedding((256, 256))
        self.register_buffer("pos_embed", pos, persistent=False)

    def forward(self, image: torch.Tensor):
        return self.model.encode_image(image, self.pos_embed)


class Sam2DecoderForExport(nn.Module):
    """All four masks for ``B`` prompt sets: ``(iou (B, 4), low_res_masks (B, 4, 256, 256))``.

    Inputs: the three encoder outputs (batch 1), ``point_coords (B, N, 2)``,
    ``point_labels (B, N)``, ``mask_input (B, 1, 256, 256)``, ``has_mask_input (B,)``.
    """

    def __init__(self, model: Sam2Model) -> None:
        super().__init__()
        self.model = model

    def forward(
        self,
        image_embeddings,
        high_res_s0,
        high_res_s1,
        point_coords,
        point_labels,
        mask_input,
        has_mask_input,
    ):
        masks, iou = self.model.decode(
            image_embeddings,
            high_res_s0,
            high_res_s1,
            point_coords,
            point_labels,
            mask_input,
            has_mask_input,
        )
        return iou, masks


def example_sam2_decoder_inputs(batch: int = 1, num_points: int = 3, seed: int = 0):
    """Random decoder inputs for tracing and checking, in :data:`DECODER_INPUTS` order."""
    g = torch.Generator().manual_seed(seed)
    embedding = torch.randn(1, 256, 64, 64, generator=g)
    s0 = torch.randn(1, 32, 256, 256, generator=g)
    s1 = torch.randn(1, 64, 128, 128, generator=g)
    coords = torch.rand(batch, num_points, 2, generator=g) * 1024
    labels = torch.tensor([[2.0, 3.0, 1.0, 0.0, -1.0][i % 5] for i in range(num_points)])
    labels = labels[None].repeat(batch, 1)
    mask = torch.randn(batch, 1, 256, 256, generator=g)
    has_mask = (torch.arange(batch) % 2 == 0).float()
    return embedding, s0, s1, coords, labels, mask, has_mask
