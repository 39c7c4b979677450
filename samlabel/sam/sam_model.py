"""The whole SAM network: image encoder, prompt encoder, mask decoder.

State-dict names match Meta's checkpoints (``image_encoder.*``, ``prompt_encoder.*``,
``mask_decoder.*``). ``pixel_mean`` / ``pixel_std`` are non-persistent ``(3, 1, 1)`` buffers,
as in the reference, so they are not part of the checkpoints.
"""

from __future__ import annotations

import torch
from torch import nn

from samlabel.sam.mask_decoder import MaskDecoder, select_masks
from samlabel.sam.prompt_encoder import PromptEncoder

PIXEL_MEAN = (123.675, 116.28, 103.53)
PIXEL_STD = (58.395, 57.12, 57.375)


class SamModel(nn.Module):
    """SAM. ``image_encoder`` maps ``(B, 3, 1024, 1024)`` to ``(B, 256, 64, 64)``."""

    def __init__(
        self,
        image_encoder: nn.Module,
        prompt_encoder: PromptEncoder,
        mask_decoder: MaskDecoder,
        pixel_mean: tuple[float, float, float] = PIXEL_MEAN,
        pixel_std: tuple[float, float, float] = PIXEL_STD,
    ) -> None:
        super().__init__()
        self.image_encoder = image_encoder
        self.prompt_encoder = prompt_encoder
        self.mask_decoder = mask_decoder
        self.register_buffer("pixel_mean", torch.tensor(pixel_mean).view(-1, 1, 1), False)
        self.register_buffer("pixel_std", torch.tensor(pixel_std).view(-1, 1, 1), False)

    def encode_image(self, image: torch.Tensor) -> torch.Tensor:
        """``(B, 3, 1024, 1024)`` normalised, padded float32 -> ``(B, 256, 64, 64)``."""
        return self.image_encoder(image)

    def decode(
        self,
        image_embeddings: torch.Tensor,
        point_coords: torch.Tensor,
        point_labels: torch.Tensor,
        mask_input: torch.Tensor,
        has_mask: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """All four masks for ``B`` prompt sets on one image.

        Args:
            image_embeddings: ``(1, 256, 64, 64)``.
            point_coords: ``(B, N, 2)`` float pixel ``(x, y)`` in the 1024 frame.
            point_labels: ``(B, N)``: 1 include, 0 exclude, 2/3 box corners, -1 padding.
            mask_input: ``(B, 1, 256, 256)`` low-res logits (ignored where ``has_mask`` is 0).
            has_mask: ``(B,)`` float, 1 or 0.

        Returns:
            ``(low_res_logits (B, 4, 256, 256), iou_predictions (B, 4))``; mask 0 is the
            single-mask output, 1..3 the multimask candidates.
        """
        sparse, dense = self.prompt_encoder(point_coords, point_labels, mask_input, has_mask)
        return self.mask_decoder(
            image_embeddings, self.prompt_encoder.get_dense_pe(), sparse, dense
        )

    def forward(
        self,
        image_embeddings: torch.Tensor,
        point_coords: torch.Tensor,
        point_labels: torch.Tensor,
        mask_input: torch.Tensor,
        has_mask: torch.Tensor,
        multimask_output: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`decode` followed by the multimask selection of the reference."""
        masks, iou = self.decode(image_embeddings, point_coords, point_labels, mask_input, has_mask)
        return select_masks(masks, iou, multimask_output)
