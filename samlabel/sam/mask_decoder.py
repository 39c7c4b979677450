"""SAM's mask decoder: image embedding + prompt tokens -> 4 mask logits + 4 IoU scores.

Mask 0 is the single-mask output; masks 1..3 are the three ambiguity candidates. Which
ones to return is chosen outside :meth:`MaskDecoder.forward` (see
:func:`select_masks`), so the network itself has no data-dependent branches.
"""

from __future__ import annotations

import torch
from torch import nn

from samlabel.sam.common import MLP, LayerNorm2d
from samlabel.sam.transformer import TwoWayTransformer


class MaskDecoder(nn.Module):
    """Predicts ``(B, 4, 256, 256)`` low-res mask logits and ``(B, 4)`` IoU predictions."""

    def __init__(
        self,
        transformer: TwoWayTransformer,
        transformer_dim: int = 256,
        num_multimask_outputs: int = 3,
        iou_head_depth: int = 3,
        iou_head_hidden_dim: int = 256,
    ) -> None:
        super().__init__()
        self.transformer_dim = transformer_dim
        self.transformer = transformer
        self.num_multimask_outputs = num_multimask_outputs
        self.iou_token = nn.Embedding(1, transformer_dim)
        self.num_mask_tokens = num_multimask_outputs + 1
        self.mask_tokens = nn.Embedding(self.num_mask_tokens, transformer_dim)
        self.output_upscaling = nn.Sequential(
            nn.ConvTranspose2d(transformer_dim, transformer_dim // 4, kernel_size=2, stride=2),
            LayerNorm2d(transformer_dim // 4),
            nn.GELU(),
            nn.ConvTranspose2d(transformer_dim // 4, transformer_dim // 8, kernel_size=2, stride=2),
            nn.GELU(),
        )
        self.output_hypernetworks_mlps = nn.ModuleList(
            MLP(transformer_dim, transformer_dim, transformer_dim // 8, 3)
            for _ in range(self.num_mask_tokens)
        )
        self.iou_prediction_head = MLP(
            transformer_dim, iou_head_hidden_dim, self.num_mask_tokens, iou_head_depth
        )

    def output_tokens(self, batch: int) -> torch.Tensor:
        """The learned IoU token then the mask tokens: ``(batch, 1 + num_mask_tokens, C)``."""
        tokens = torch.cat([self.iou_token.weight, self.mask_tokens.weight], dim=0)
        return tokens.unsqueeze(0).expand(batch, -1, -1)

    def forward(
        self,
        image_embeddings: torch.Tensor,
        image_pe: torch.Tensor,
        sparse_prompt_embeddings: torch.Tensor,
        dense_prompt_embeddings: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Predict all masks.

        Args:
            image_embeddings: ``(1, C, 64, 64)`` from the image encoder (one image, shared by
                all ``B`` prompt sets).
            image_pe: ``(1, C, 64, 64)`` positional encoding of the grid.
            sparse_prompt_embeddings: ``(B, N, C)`` prompt tokens.
            dense_prompt_embeddings: ``(B, C, 64, 64)``.

        Returns:
            ``(masks (B, 4, 256, 256) logits, iou_pred (B, 4))``.
        """
        b = sparse_prompt_embeddings.shape[0]
        tokens = torch.cat([self.output_tokens(b), sparse_prompt_embeddings], dim=1)
        src = image_embeddings.expand(b, -1, -1, -1) + dense_prompt_embeddings
        pos_src = image_pe.expand(b, -1, -1, -1)
        h, w = src.shape[-2:]
        hs, src_tokens = self.transformer(src, pos_src, tokens)
        return self.predict_from_tokens(hs, src_tokens, (h, w))

    def predict_from_tokens(
        self, hs: torch.Tensor, src_tokens: torch.Tensor, grid_hw: tuple[int, int]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Heads on the transformer outputs ``hs (B, N, C)`` and ``src_tokens (B, H*W, C)``."""
        b, _, c = src_tokens.shape
        h, w = grid_hw
        iou_token_out = hs[:, 0, :]
        mask_tokens_out = hs[:, 1 : 1 + self.num_mask_tokens, :]
        src = src_tokens.transpose(1, 2).reshape(b, c, h, w)
        upscaled = self.output_upscaling(src)  # (B, C/8, 4H, 4W)
        hyper_in = torch.stack(
            [mlp(mask_tokens_out[:, i, :]) for i, mlp in enumerate(self.output_hypernetworks_mlps)],
            dim=1,
        )  # (B, num_mask_tokens, C/8)
        _, uc, uh, uw = upscaled.shape
        masks = (hyper_in @ upscaled.reshape(b, uc, uh * uw)).reshape(b, -1, uh, uw)
        return masks, self.iou_prediction_head(iou_token_out)


def select_masks(
    masks: torch.Tensor, iou_pred: torch.Tensor, multimask_output: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """Masks 1..3 with ``multimask_output``, else mask 0, as Meta's decoder returns them."""
    if multimask_output:
        return masks[:, 1:], iou_pred[:, 1:]
    return masks[:, :1], iou_pred[:, :1]
