"""SAM 2's memory encoder: a frame's features and its predicted mask -> one memory.

Read in the SAM 2 paper (section 4, "memory encoder") and Meta's ``memory_encoder.py``:
the mask (at 1024x1024, already scaled to SAM 2's memory range) is downsampled 16x by four
stride-2 convolutions, added to a 1x1 projection of the frame's 64x64 embedding, mixed by
two ConvNeXt blocks and projected to 64 channels. Its positional encoding is the fixed
sine encoding of the 64x64 grid (:func:`sine_position_encoding`).

State-dict names are Meta's (``memory_encoder.mask_downsampler.encoder.<i>``,
``memory_encoder.pix_feat_proj``, ``memory_encoder.fuser.layers.<i>``,
``memory_encoder.out_proj``).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from samlabel.sam.common import LayerNorm2d


def sine_position_encoding(num_feats: int, height: int, width: int) -> torch.Tensor:
    """DETR's normalised 2-D sine encoding of an ``(height, width)`` grid: ``(1, C, H, W)``.

    The first ``C / 2`` channels encode y, the rest x; positions run 1..H (1..W), divided by
    the last one (plus 1e-6) and scaled by 2*pi; channel pairs alternate sin and cos.
    """
    half = num_feats // 2
    eps = 1e-6
    y = torch.arange(1, height + 1, dtype=torch.float32).view(-1, 1).expand(height, width)
    x = torch.arange(1, width + 1, dtype=torch.float32).view(1, -1).expand(height, width)
    y = y / (y[-1:, :] + eps) * (2 * math.pi)
    x = x / (x[:, -1:] + eps) * (2 * math.pi)
    dim_t = torch.arange(half, dtype=torch.float32)
    dim_t = 10000 ** (2 * (dim_t // 2) / half)
    px = x[:, :, None] / dim_t
    py = y[:, :, None] / dim_t
    px = torch.stack((px[:, :, 0::2].sin(), px[:, :, 1::2].cos()), dim=3).flatten(2)
    py = torch.stack((py[:, :, 0::2].sin(), py[:, :, 1::2].cos()), dim=3).flatten(2)
    return torch.cat((py, px), dim=2).permute(2, 0, 1).unsqueeze(0)


def sine_1d(positions: torch.Tensor, dim: int) -> torch.Tensor:
    """Transformer sine encoding of scalar positions ``(N,)`` -> ``(N, dim)`` (sin half, cos
    half), used for the temporal distance of object pointers."""
    half = dim // 2
    dim_t = torch.arange(half, dtype=torch.float32)
    dim_t = 10000 ** (2 * (dim_t // 2) / half)
    angles = positions.float().unsqueeze(-1) / dim_t
    return torch.cat([angles.sin(), angles.cos()], dim=-1)


class MaskDownSampler(nn.Module):
    """``(B, 1, 1024, 1024)`` -> ``(B, 256, 64, 64)``: four (conv 3x3 stride 2, LayerNorm2d,
    GELU) stages widening 1 -> 4 -> 16 -> 64 -> 256 channels, then a 1x1 convolution."""

    def __init__(self, embed_dim: int = 256, num_stages: int = 4) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = 1
        for _ in range(num_stages):
            out = channels * 4
            layers += [nn.Conv2d(channels, out, 3, 2, 1), LayerNorm2d(out), nn.GELU()]
            channels = out
        layers.append(nn.Conv2d(channels, embed_dim, kernel_size=1))
        self.encoder = nn.Sequential(*layers)

    def forward(self, mask: torch.Tensor) -> torch.Tensor:
        return self.encoder(mask)


class CXBlock(nn.Module):
    """ConvNeXt block on ``(B, C, H, W)``: depthwise 7x7, LayerNorm, MLP x4, layer scale,
    residual."""

    def __init__(self, dim: int = 256) -> None:
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim)
        self.norm = LayerNorm2d(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(4 * dim, dim)
        self.gamma = nn.Parameter(1e-6 * torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.norm(self.dwconv(x)).permute(0, 2, 3, 1)  # channels last for the Linear layers
        y = self.gamma * self.pwconv2(self.act(self.pwconv1(y)))
        return x + y.permute(0, 3, 1, 2)


class Fuser(nn.Module):
    """Two :class:`CXBlock` in a row (Meta's ``Fuser`` without input projection)."""

    def __init__(self, dim: int = 256, num_layers: int = 2) -> None:
        super().__init__()
        self.layers = nn.ModuleList(CXBlock(dim) for _ in range(num_layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x


class MemoryEncoder(nn.Module):
    """Frame embedding + mask -> ``(memory (B, 64, 64, 64), position encoding (1, 64, 64, 64))``."""

    def __init__(self, in_dim: int = 256, out_dim: int = 64) -> None:
        super().__init__()
        self.mask_downsampler = MaskDownSampler(in_dim)
        self.pix_feat_proj = nn.Conv2d(in_dim, in_dim, kernel_size=1)
        self.fuser = Fuser(in_dim)
        self.out_proj = nn.Conv2d(in_dim, out_dim, kernel_size=1)
        self.out_dim = out_dim

    def forward(
        self, pix_feat: torch.Tensor, mask_for_mem: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """
        Args:
            pix_feat: ``(B, 256, 64, 64)`` frame embedding (without ``no_mem_embed``).
            mask_for_mem: ``(B, 1, 1024, 1024)`` mask already mapped to the memory range
                (sigmoid or binarised, times 20 minus 10).
        """
        x = self.pix_feat_proj(pix_feat) + self.mask_downsampler(mask_for_mem)
        x = self.out_proj(self.fuser(x))
        return x, self.position(x.shape[-2], x.shape[-1]).to(x)

    def position(self, height: int, width: int) -> torch.Tensor:
        """The memories' fixed positional encoding ``(1, 64, height, width)``."""
        return sine_position_encoding(self.out_dim, height, width)
