"""Torch modules with the exact inputs and outputs of the exported SAM 2 ONNX graphs.

They hold no weights of their own: each wraps a :class:`~samlabel.sam.sam2_model.Sam2Model`.
Coordinates are pixels in the stretched 1024 frame; labels 1/0 include/exclude, 2/3 box
corners, -1 padding. ``B`` (prompt sets) and ``N`` (points) are dynamic axes.
"""

from __future__ import annotations

import torch
from torch import nn

from samlabel.sam.onnx_modules import (
    layer0_image_kv,
    two_way_reordered,
)
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
DECODER_IMAGE_OUTPUTS = ["layer0_keys", "layer0_values"]
DECODER_PROMPT_INPUTS = [
    "image_embeddings",
    "high_res_s0",
    "high_res_s1",
    "layer0_keys",
    "layer0_values",
    "point_coords",
    "point_labels",
]


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


class _Sam2DecoderGraph(nn.Module):
    """A per-click decoder graph: the model, and the dense positional encoding of the 64x64
    grid ``(1, 256, 64, 64)`` held as a constant (a function of the weights only), so the
    graph does not compute it at every click."""

    def __init__(self, model: Sam2Model) -> None:
        super().__init__()
        self.model = model
        with torch.no_grad():
            dense_pe = model.sam_prompt_encoder.get_dense_pe()
        self.register_buffer("dense_pe", dense_pe, persistent=False)

    def decode_tokens(self, sparse, src, high_res_s0, high_res_s1, layer0_kv):
        """``(iou (B, 4), masks (B, 4, 256, 256))`` from prompt tokens ``sparse (B, N, C)`` and
        the image side ``src (1 or B, C, 64, 64)`` (embedding plus dense prompt), through the
        reordered transformer; ``layer0_kv``: :class:`Sam2DecoderImageSide`'s output or None."""
        decoder = self.model.sam_mask_decoder
        tokens = torch.cat([decoder.output_tokens(sparse.shape[0]), sparse], dim=1)
        hs, image_tokens = two_way_reordered(
            decoder.transformer, tokens, src, self.dense_pe, layer0_kv
        )
        grid_hw = (src.shape[-2], src.shape[-1])
        masks, iou, _, _ = decoder.predict_from_tokens(
            hs, image_tokens, grid_hw, high_res_s0, high_res_s1
        )
        return iou, masks


class Sam2DecoderForExport(_Sam2DecoderGraph):
    """All four masks for ``B`` prompt sets: ``(iou (B, 4), low_res_masks (B, 4, 256, 256))``.

    Inputs: the three encoder outputs (batch 1), ``point_coords (B, N, 2)``,
    ``point_labels (B, N)``, ``mask_input (B, 1, 256, 256)``, ``has_mask_input (B,)``.

    :meth:`Sam2Model.decode`'s value with the two-way transformer computed in the cheaper
    order of :func:`~samlabel.sam.onnx_modules.two_way_reordered` (same up to rounding).
    """

    def forward(self, image_embeddings, s0, s1, coords, labels, mask_input, has_mask_input):
        prompt_encoder = self.model.sam_prompt_encoder
        sparse, dense = prompt_encoder(coords, labels, mask_input, has_mask_input)
        return self.decode_tokens(sparse, image_embeddings + dense, s0, s1, None)


class Sam2DecoderImageSide(nn.Module):
    """The decoder's per-image work without a mask input: image_embeddings
    ``(1, 256, 64, 64)`` -> the first two-way layer's projected image keys and values, each
    ``(1, 8, 4096, 16)``.

    What else is prompt-independent is already outside the per-click graphs: ``conv_s0`` /
    ``conv_s1`` and ``no_mem_embed`` run in the encoder graph, and the dense positional
    encoding is a constant of those graphs (:class:`_Sam2DecoderGraph`).
    """

    def __init__(self, model: Sam2Model) -> None:
        super().__init__()
        self.model = model

    def forward(self, image_embeddings: torch.Tensor):
        model = self.model
        return layer0_image_kv(
            model.sam_prompt_encoder, model.sam_mask_decoder.transformer, image_embeddings
        )


class Sam2DecoderPromptSide(_Sam2DecoderGraph):
    """The per-click decoder without a mask input, given :class:`Sam2DecoderImageSide`'s output.

    Inputs (:data:`DECODER_PROMPT_INPUTS`): the three encoder outputs (batch 1), layer0_keys
    and layer0_values, ``point_coords (B, N, 2)``, ``point_labels (B, N)``. Returns
    ``(iou (B, 4), low_res_masks (B, 4, 256, 256))`` as :class:`Sam2DecoderForExport`.
    """

    def forward(self, image_embeddings, s0, s1, layer0_keys, layer0_values, coords, labels):
        prompt_encoder = self.model.sam_prompt_encoder
        sparse = prompt_encoder.embed_points(coords, labels)
        src = image_embeddings + prompt_encoder.no_mask_embed.weight.reshape(1, -1, 1, 1)
        return self.decode_tokens(sparse, src, s0, s1, (layer0_keys, layer0_values))


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
