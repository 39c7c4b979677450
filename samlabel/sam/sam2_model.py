"""SAM 2 for single images: Hiera encoder, SAM prompt encoder, SAM 2 mask decoder.

State-dict names match the image part of Meta's SAM 2 checkpoints (``image_encoder.*``,
``sam_prompt_encoder.*``, ``sam_mask_decoder.*``, ``no_mem_embed``); the video modules
(memory encoder and attention, object pointers) are not built here.

Image frame: the whole image stretched to 1024x1024 (aspect not kept, no padding). Prompt
coordinates are pixels in that frame, ``(x * 1024 / W, y * 1024 / H)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from samlabel.sam.build import _skip_weight_init
from samlabel.sam.hiera import HieraConfig, Sam2ImageEncoder
from samlabel.sam.prompt_encoder import PromptEncoder
from samlabel.sam.sam2_decoder import Sam2MaskDecoder, select_sam2_masks
from samlabel.sam.transformer import TwoWayTransformer

#: ImageNet mean/std, applied to the image scaled to 0..1 (SAM 2's normalisation).
PIXEL_MEAN_01 = (0.485, 0.456, 0.406)
PIXEL_STD_01 = (0.229, 0.224, 0.225)

#: Meta's published Hiera sizes (SAM 2.0 and 2.1 share them), keyed by checkpoint size name.
HIERA_CONFIGS: dict[str, HieraConfig] = {
    "tiny": HieraConfig(96, 1, (1, 2, 7, 2), (5, 7, 9), (8, 4, 14, 7), (7, 7)),
    "small": HieraConfig(96, 1, (1, 2, 11, 2), (7, 10, 13), (8, 4, 14, 7), (7, 7)),
    "base_plus": HieraConfig(112, 2, (2, 3, 16, 3), (12, 16, 20), (8, 4, 14, 7), (14, 14)),
    "large": HieraConfig(144, 2, (2, 6, 36, 4), (23, 33, 43), (8, 4, 16, 8), (7, 7)),
}
#: How the sizes are shown to a person.
SIZE_NAMES = {"tiny": "Hiera-T", "small": "Hiera-S", "base_plus": "Hiera-B+", "large": "Hiera-L"}


@dataclass(frozen=True)
class Sam2Config:
    """A SAM 2 image model: the trunk's size (the decoder is the same for every size)."""

    size: str = "tiny"
    encoder: HieraConfig = field(default_factory=lambda: HIERA_CONFIGS["tiny"])


class Sam2Model(nn.Module):
    """SAM 2 image prediction: :meth:`encode_image` once per image, :meth:`decode` per prompt."""

    def __init__(self, cfg: Sam2Config) -> None:
        super().__init__()
        self.cfg = cfg
        self.image_encoder = Sam2ImageEncoder(cfg.encoder)
        self.sam_prompt_encoder = PromptEncoder(256, (64, 64), (1024, 1024), 16)
        transformer = TwoWayTransformer(depth=2, embedding_dim=256, num_heads=8, mlp_dim=2048)
        self.sam_mask_decoder = Sam2MaskDecoder(transformer, 256)
        self.no_mem_embed = nn.Parameter(torch.zeros(1, 1, 256))

    def encode_image(
        self, image: torch.Tensor, pos_embed: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(1, 3, 1024, 1024)`` normalised image -> ``(embedding (1, 256, 64, 64),
        high_res_s0 (1, 32, 256, 256), high_res_s1 (1, 64, 128, 128))``.

        The embedding has ``no_mem_embed`` added (an image is a video frame without memory);
        the high-resolution maps are already projected by the decoder's ``conv_s0`` / ``conv_s1``.
        ``pos_embed``: the trunk's position embedding for the 256x256 grid, if precomputed.
        """
        s0, s1, embed = self.image_encoder(image, pos_embed)
        embed = embed + self.no_mem_embed.reshape(1, -1, 1, 1)
        s0, s1 = self.sam_mask_decoder.project_high_res(s0, s1)
        return embed, s0, s1

    def decode(
        self,
        image_embeddings: torch.Tensor,
        high_res_s0: torch.Tensor,
        high_res_s1: torch.Tensor,
        point_coords: torch.Tensor,
        point_labels: torch.Tensor,
        mask_input: torch.Tensor,
        has_mask: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """All four masks for ``B`` prompt sets on one image.

        Args:
            image_embeddings, high_res_s0, high_res_s1: from :meth:`encode_image`.
            point_coords: ``(B, N, 2)`` pixel ``(x, y)`` in the 1024 frame.
            point_labels: ``(B, N)``: 1 include, 0 exclude, 2/3 box corners, -1 padding.
            mask_input: ``(B, 1, 256, 256)`` low-res logits (ignored where ``has_mask`` is 0).
            has_mask: ``(B,)`` float, 1 or 0.

        Returns:
            ``(low_res_logits (B, 4, 256, 256), iou (B, 4))``; mask 0 is the single-mask output.
        """
        sparse, dense = self.sam_prompt_encoder(point_coords, point_labels, mask_input, has_mask)
        return self.sam_mask_decoder(
            image_embeddings,
            self.sam_prompt_encoder.get_dense_pe(),
            sparse,
            dense,
            high_res_s0,
            high_res_s1,
        )

    def predict(
        self,
        image_embeddings: torch.Tensor,
        high_res_s0: torch.Tensor,
        high_res_s1: torch.Tensor,
        point_coords: torch.Tensor,
        point_labels: torch.Tensor,
        mask_input: torch.Tensor,
        has_mask: torch.Tensor,
        multimask_output: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`decode` then Meta's selection (:func:`select_sam2_masks`)."""
        masks, iou = self.decode(
            image_embeddings,
            high_res_s0,
            high_res_s1,
            point_coords,
            point_labels,
            mask_input,
            has_mask,
        )
        return select_sam2_masks(masks, iou, multimask_output)


def build_sam2(cfg: Sam2Config, init_weights: bool = True) -> Sam2Model:
    """A :class:`Sam2Model`; with ``init_weights`` False the parameters are left uninitialised
    (only for loading a complete state dict right after)."""
    if not init_weights:
        with _skip_weight_init():
            return Sam2Model(cfg)
    return Sam2Model(cfg)
