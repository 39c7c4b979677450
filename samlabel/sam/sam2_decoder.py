"""SAM 2's mask decoder for image prompts.

Differences from SAM 1 (:mod:`samlabel.sam.mask_decoder`), read in the SAM 2 paper and
Meta's code:

- an extra learned object-score token comes first (before the IoU token) and feeds an MLP
  head that says whether the object is present (not used for image prompts, but computed);
- the upscaling path adds the two high-resolution encoder maps, projected by ``conv_s0`` /
  ``conv_s1`` (done once per image in :meth:`Sam2MaskDecoder.project_high_res`);
- IoU predictions go through a sigmoid;
- with a single mask requested, the single-mask token's output is replaced by the best
  multimask candidate when it is unstable (:func:`select_sam2_masks`).

The prompt tokens and the two-way transformer are SAM 1's (same maths; Meta's SAM 2 names
the transformer MLP's layers ``layers.0`` / ``layers.1`` where SAM 1 says ``lin1`` / ``lin2``,
which the checkpoint loader renames).
"""

from __future__ import annotations

import torch
from torch import nn

from samlabel.sam.common import MLP, LayerNorm2d
from samlabel.sam.transformer import TwoWayTransformer

#: Logit margin of the stability score used to pick a single mask (Meta's default).
STABILITY_DELTA = 0.05
#: Below this stability the single-mask output is replaced by the best multimask candidate.
STABILITY_THRESHOLD = 0.98


class Sam2MaskDecoder(nn.Module):
    """Predicts ``(B, 4, 256, 256)`` low-res logits and ``(B, 4)`` IoU scores in ``[0, 1]``."""

    def __init__(self, transformer: TwoWayTransformer, transformer_dim: int = 256) -> None:
        super().__init__()
        c = transformer_dim
        self.transformer = transformer
        self.num_mask_tokens = 4
        self.iou_token = nn.Embedding(1, c)
        self.mask_tokens = nn.Embedding(self.num_mask_tokens, c)
        self.obj_score_token = nn.Embedding(1, c)
        self.output_upscaling = nn.Sequential(
            nn.ConvTranspose2d(c, c // 4, kernel_size=2, stride=2),
            LayerNorm2d(c // 4),
            nn.GELU(),
            nn.ConvTranspose2d(c // 4, c // 8, kernel_size=2, stride=2),
            nn.GELU(),
        )
        self.conv_s0 = nn.Conv2d(c, c // 8, kernel_size=1)
        self.conv_s1 = nn.Conv2d(c, c // 4, kernel_size=1)
        self.output_hypernetworks_mlps = nn.ModuleList(
            MLP(c, c, c // 8, 3) for _ in range(self.num_mask_tokens)
        )
        self.iou_prediction_head = MLP(c, 256, self.num_mask_tokens, 3, sigmoid_output=True)
        self.pred_obj_score_head = MLP(c, c, 1, 3)

    def project_high_res(
        self, feat_s0: torch.Tensor, feat_s1: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Encoder maps ``(1, 256, 256, 256)``, ``(1, 256, 128, 128)`` -> ``(1, 32, 256, 256)``,
        ``(1, 64, 128, 128)``: prompt-independent, so computed once per image."""
        return self.conv_s0(feat_s0), self.conv_s1(feat_s1)

    def forward(
        self,
        image_embeddings: torch.Tensor,
        image_pe: torch.Tensor,
        sparse_prompt_embeddings: torch.Tensor,
        dense_prompt_embeddings: torch.Tensor,
        high_res_s0: torch.Tensor,
        high_res_s1: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """All four masks for ``B`` prompt sets on one image.

        Args:
            image_embeddings: ``(1, C, 64, 64)`` (``no_mem_embed`` already added).
            image_pe: ``(1, C, 64, 64)`` positional encoding of the grid.
            sparse_prompt_embeddings: ``(B, N, C)``.
            dense_prompt_embeddings: ``(B, C, 64, 64)``.
            high_res_s0, high_res_s1: projected maps from :meth:`project_high_res`.

        Returns:
            ``(masks (B, 4, 256, 256), iou (B, 4))``; mask 0 is the single-mask output.
        """
        masks, iou, _, _ = self.forward_all(
            image_embeddings,
            image_pe,
            sparse_prompt_embeddings,
            dense_prompt_embeddings,
            high_res_s0,
            high_res_s1,
        )
        return masks, iou

    def forward_all(
        self,
        image_embeddings: torch.Tensor,
        image_pe: torch.Tensor,
        sparse_prompt_embeddings: torch.Tensor,
        dense_prompt_embeddings: torch.Tensor,
        high_res_s0: torch.Tensor,
        high_res_s1: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """As :meth:`forward`, plus what video tracking needs: the four mask tokens' outputs
        ``(B, 4, C)`` (object pointers are made from them) and the object-score logit
        ``(B, 1)`` (> 0: the object is visible)."""
        b = sparse_prompt_embeddings.shape[0]
        tokens = torch.cat([self.output_tokens(b), sparse_prompt_embeddings], 1)
        src = image_embeddings.expand(b, -1, -1, -1) + dense_prompt_embeddings
        pos_src = image_pe.expand(b, -1, -1, -1)
        hs, src_tokens = self.transformer(src, pos_src, tokens)
        grid_hw = (src.shape[-2], src.shape[-1])
        return self.predict_from_tokens(hs, src_tokens, grid_hw, high_res_s0, high_res_s1)

    def output_tokens(self, batch: int) -> torch.Tensor:
        """The object-score, IoU and four mask tokens: ``(batch, 6, C)``."""
        fixed = torch.cat(
            [self.obj_score_token.weight, self.iou_token.weight, self.mask_tokens.weight], dim=0
        )
        return fixed.unsqueeze(0).expand(batch, -1, -1)

    def predict_from_tokens(
        self,
        hs: torch.Tensor,
        src_tokens: torch.Tensor,
        grid_hw: tuple[int, int],
        high_res_s0: torch.Tensor,
        high_res_s1: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Heads on the transformer outputs ``hs (B, 6 + N, C)`` and image tokens
        ``src_tokens (B, H*W, C)`` of the ``grid_hw = (64, 64)`` grid; returns what
        :meth:`forward_all` returns."""
        b, _, c = src_tokens.shape
        iou_token_out = hs[:, 1, :]
        mask_tokens_out = hs[:, 2 : 2 + self.num_mask_tokens, :]
        src = src_tokens.transpose(1, 2).reshape(b, c, grid_hw[0], grid_hw[1])
        dc1, ln1, act1, dc2, act2 = self.output_upscaling
        upscaled = act1(ln1(dc1(src) + high_res_s1))
        upscaled = act2(dc2(upscaled) + high_res_s0)  # (B, C/8, 256, 256)
        hyper_in = torch.stack(
            [mlp(mask_tokens_out[:, i, :]) for i, mlp in enumerate(self.output_hypernetworks_mlps)],
            dim=1,
        )
        _, uc, uh, uw = upscaled.shape
        masks = (hyper_in @ upscaled.reshape(b, uc, uh * uw)).reshape(b, -1, uh, uw)
        iou = self.iou_prediction_head(iou_token_out)
        return masks, iou, mask_tokens_out, self.pred_obj_score_head(hs[:, 0, :])


def select_sam2_masks(
    masks: torch.Tensor, iou: torch.Tensor, multimask_output: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """Meta's SAM 2 output selection from all four masks ``(B, 4, h, w)`` and scores ``(B, 4)``.

    Multimask: candidates 1..3. Single mask: mask 0, unless its stability score (area above
    +delta over area above -delta) is under the threshold; then the best-scoring candidate.
    """
    if multimask_output:
        return masks[:, 1:], iou[:, 1:]
    flat = masks[:, 0].flatten(1)
    inner = (flat > STABILITY_DELTA).sum(-1).float()
    outer = (flat > -STABILITY_DELTA).sum(-1).float()
    stable = torch.where(outer > 0, inner / outer.clamp(min=1), torch.ones_like(outer))
    stable = stable >= STABILITY_THRESHOLD
    best = torch.argmax(iou[:, 1:], dim=-1) + 1
    rows = torch.arange(masks.shape[0], device=masks.device)
    chosen = torch.where(stable, torch.zeros_like(best), best)
    return masks[rows, chosen].unsqueeze(1), iou[rows, chosen].unsqueeze(1)
