"""SAM's prompt encoder: points, box corners and a low-res mask -> decoder inputs.

Coordinates are pixels in the 1024x1024 model frame (x right, y down), i.e. already mapped
from the original image with :func:`samlabel.inference.transforms.transform_coords`.

Point labels: ``1`` include, ``0`` exclude, ``2`` top-left box corner, ``3`` bottom-right box
corner, ``-1`` padding ("not a point"). A box is passed as two points labelled 2 and 3, which
gives exactly what Meta's prompt encoder computes for ``boxes``; this keeps :meth:`forward`
free of Python branching on which prompts are present (an ONNX exporter needs that).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from samlabel.sam.common import LayerNorm2d


class PositionEmbeddingRandom(nn.Module):
    """Random Fourier features of normalised ``(x, y)`` in ``[0, 1]``.

    ``positional_encoding_gaussian_matrix`` is a ``(2, num_pos_feats)`` buffer stored in the
    checkpoints; the encoding has ``2 * num_pos_feats`` channels (sin then cos).
    """

    def __init__(self, num_pos_feats: int = 128, scale: float = 1.0) -> None:
        super().__init__()
        self.register_buffer(
            "positional_encoding_gaussian_matrix", scale * torch.randn((2, num_pos_feats))
        )

    def _encode(self, coords: torch.Tensor) -> torch.Tensor:
        """``(..., 2)`` coords in ``[0, 1]`` -> ``(..., 2 * num_pos_feats)``."""
        coords = 2 * coords - 1
        coords = coords @ self.positional_encoding_gaussian_matrix
        coords = 2 * math.pi * coords
        return torch.cat([torch.sin(coords), torch.cos(coords)], dim=-1)

    def forward(self, size: tuple[int, int]) -> torch.Tensor:
        """Encoding of the centres of an ``(h, w)`` grid: ``(C, h, w)``."""
        h, w = size
        device = self.positional_encoding_gaussian_matrix.device
        grid = torch.ones((h, w), device=device, dtype=torch.float32)
        y_embed = (grid.cumsum(dim=0) - 0.5) / h
        x_embed = (grid.cumsum(dim=1) - 0.5) / w
        pe = self._encode(torch.stack([x_embed, y_embed], dim=-1))
        return pe.permute(2, 0, 1)

    def forward_with_coords(
        self, coords: torch.Tensor, image_size: tuple[int, int]
    ) -> torch.Tensor:
        """``(B, N, 2)`` pixel ``(x, y)`` in an image of ``(H, W)`` -> ``(B, N, C)``."""
        scale = torch.tensor(
            [1.0 / image_size[1], 1.0 / image_size[0]], dtype=torch.float32, device=coords.device
        )
        return self._encode(coords.to(torch.float32) * scale)


class PromptEncoder(nn.Module):
    """Embeds prompts for :class:`samlabel.sam.mask_decoder.MaskDecoder`.

    Outputs: sparse embeddings ``(B, N, embed_dim)`` (one token per point) and dense
    embeddings ``(B, embed_dim, 64, 64)`` (from the mask input, or ``no_mask_embed``).
    """

    def __init__(
        self,
        embed_dim: int = 256,
        image_embedding_size: tuple[int, int] = (64, 64),
        input_image_size: tuple[int, int] = (1024, 1024),
        mask_in_chans: int = 16,
    ) -> None:
        super().__init__()
        self.embed_dim = embed_dim
        self.image_embedding_size = image_embedding_size
        self.input_image_size = input_image_size
        self.pe_layer = PositionEmbeddingRandom(embed_dim // 2)
        # Labels 0 (exclude), 1 (include), 2 and 3 (box corners).
        self.num_point_embeddings = 4
        self.point_embeddings = nn.ModuleList(nn.Embedding(1, embed_dim) for _ in range(4))
        self.not_a_point_embed = nn.Embedding(1, embed_dim)
        self.mask_input_size = (4 * image_embedding_size[0], 4 * image_embedding_size[1])
        self.mask_downscaling = nn.Sequential(
            nn.Conv2d(1, mask_in_chans // 4, kernel_size=2, stride=2),
            LayerNorm2d(mask_in_chans // 4),
            nn.GELU(),
            nn.Conv2d(mask_in_chans // 4, mask_in_chans, kernel_size=2, stride=2),
            LayerNorm2d(mask_in_chans),
            nn.GELU(),
            nn.Conv2d(mask_in_chans, embed_dim, kernel_size=1),
        )
        self.no_mask_embed = nn.Embedding(1, embed_dim)

    def get_dense_pe(self) -> torch.Tensor:
        """Positional encoding of the image embedding grid: ``(1, embed_dim, 64, 64)``."""
        return self.pe_layer(self.image_embedding_size).unsqueeze(0)

    def embed_points(self, coords: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Sparse tokens for labelled points.

        Args:
            coords: ``(B, N, 2)`` float pixel ``(x, y)`` in the 1024 frame. Pixel centres
                are at ``+0.5``, which this adds (as the reference does).
            labels: ``(B, N)`` labels in ``{-1, 0, 1, 2, 3}`` (any numeric dtype).

        Returns:
            ``(B, N, embed_dim)`` float32.
        """
        emb = self.pe_layer.forward_with_coords(coords + 0.5, self.input_image_size)
        labels = labels.unsqueeze(-1)
        is_pad = (labels == -1).to(emb.dtype)
        # Padding points carry only not_a_point_embed (their position is ignored).
        emb = emb * (1.0 - is_pad) + self.not_a_point_embed.weight * is_pad
        for i, table in enumerate(self.point_embeddings):
            emb = emb + table.weight * (labels == i).to(emb.dtype)
        return emb

    def embed_mask(self, mask_input: torch.Tensor, has_mask: torch.Tensor) -> torch.Tensor:
        """Dense embedding ``(B, embed_dim, 64, 64)``.

        Args:
            mask_input: ``(B, 1, 256, 256)`` low-res logits of an earlier prediction (any
                values when ``has_mask`` is 0).
            has_mask: ``(B,)`` or scalar float, 1 to use ``mask_input``, 0 for ``no_mask_embed``.
        """
        downscaled = self.mask_downscaling(mask_input)
        no_mask = self.no_mask_embed.weight.reshape(1, -1, 1, 1)
        has = has_mask.to(downscaled.dtype).reshape(-1, 1, 1, 1)
        return downscaled * has + no_mask * (1.0 - has)

    def forward(
        self,
        coords: torch.Tensor,
        labels: torch.Tensor,
        mask_input: torch.Tensor,
        has_mask: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(sparse (B, N, C), dense (B, C, 64, 64))``; see ``embed_points``, ``embed_mask``."""
        return self.embed_points(coords, labels), self.embed_mask(mask_input, has_mask)
