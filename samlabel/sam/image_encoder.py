"""SAM's ViT image encoder: ``(B, 3, 1024, 1024)`` normalised image -> ``(B, 256, 64, 64)``.

Layout inside the blocks is channels-last ``(B, H, W, C)`` on the 64x64 patch grid. Most
blocks attend inside non-overlapping windows (the grid is zero-padded bottom/right to a
multiple of the window size first, and the padded tokens take part in attention exactly as
in the reference); a few chosen blocks attend globally. Every attention adds decomposed
relative-position terms (separate tables for the vertical and horizontal offsets).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from samlabel.sam.common import LayerNorm2d, MLPBlock


@dataclass(frozen=True)
class ViTConfig:
    """Hyper-parameters of the ViT encoder (all inferable from a checkpoint)."""

    embed_dim: int = 768
    depth: int = 12
    num_heads: int = 12
    global_attn_indexes: tuple[int, ...] = (2, 5, 8, 11)
    window_size: int = 14
    mlp_ratio: float = 4.0
    patch_size: int = 16
    img_size: int = 1024
    out_chans: int = 256
    qkv_bias: bool = True

    @property
    def grid_size(self) -> int:
        """Side of the patch grid (64 for 1024 / 16)."""
        return self.img_size // self.patch_size


def window_partition(x: torch.Tensor, window: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Split ``(B, H, W, C)`` into ``(B * nWin, window, window, C)`` windows.

    The grid is zero-padded at the bottom and right to a multiple of ``window``; returns the
    windows and the padded size ``(Hp, Wp)``.
    """
    b, h, w, c = x.shape
    pad_h = (window - h % window) % window
    pad_w = (window - w % window) % window
    x = F.pad(x, (0, 0, 0, pad_w, 0, pad_h))
    hp, wp = h + pad_h, w + pad_w
    x = x.view(b, hp // window, window, wp // window, window, c)
    windows = x.permute(0, 1, 3, 2, 4, 5).reshape(-1, window, window, c)
    return windows, (hp, wp)


def window_unpartition(
    windows: torch.Tensor, window: int, padded_hw: tuple[int, int], hw: tuple[int, int]
) -> torch.Tensor:
    """Inverse of :func:`window_partition`: back to ``(B, H, W, C)``, padding removed."""
    hp, wp = padded_hw
    h, w = hw
    b = windows.shape[0] // ((hp // window) * (wp // window))
    x = windows.view(b, hp // window, wp // window, window, window, -1)
    x = x.permute(0, 1, 3, 2, 4, 5).reshape(b, hp, wp, -1)
    return x[:, :h, :w, :].contiguous()


def relative_position_table(size: int, rel_pos: torch.Tensor) -> torch.Tensor:
    """Gather ``(size, size, head_dim)`` embeddings of offsets ``i - j`` from a table.

    ``rel_pos`` has shape ``(2 * size - 1, head_dim)``; row ``i - j + size - 1`` is offset
    ``i - j``. (Query and key grids are always the same size in SAM, so no interpolation.)
    """
    coords = torch.arange(size, device=rel_pos.device)
    index = coords[:, None] - coords[None, :] + (size - 1)
    return rel_pos[index]


class Attention(nn.Module):
    """Multi-head self-attention with decomposed relative positions on a square grid.

    Input and output ``(B, H, W, dim)``. ``rel_pos_h`` / ``rel_pos_w`` are
    ``(2 * grid - 1, head_dim)`` where ``grid`` is 64 for global blocks or the window size.
    """

    def __init__(self, dim: int, num_heads: int, grid: int, qkv_bias: bool = True) -> None:
        super().__init__()
        self.num_heads = num_heads
        head_dim = dim // num_heads
        self.scale = head_dim**-0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.rel_pos_h = nn.Parameter(torch.zeros(2 * grid - 1, head_dim))
        self.rel_pos_w = nn.Parameter(torch.zeros(2 * grid - 1, head_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, h, w, _ = x.shape
        heads = self.num_heads
        qkv = self.qkv(x).reshape(b, h * w, 3, heads, -1).permute(2, 0, 3, 1, 4)
        # (B * heads, H * W, head_dim) each
        q, k, v = qkv.reshape(3, b * heads, h * w, -1).unbind(0)
        attn = (q * self.scale) @ k.transpose(-2, -1)
        # Relative terms use the unscaled queries, as the reference does.
        r_h = relative_position_table(h, self.rel_pos_h)  # (H, H, head_dim)
        r_w = relative_position_table(w, self.rel_pos_w)  # (W, W, head_dim)
        r_q = q.reshape(b * heads, h, w, -1)
        rel_h = torch.einsum("bhwc,hkc->bhwk", r_q, r_h)  # (B*heads, H, W, H_k)
        rel_w = torch.einsum("bhwc,wkc->bhwk", r_q, r_w)  # (B*heads, H, W, W_k)
        attn = attn.view(b * heads, h, w, h, w) + rel_h[:, :, :, :, None] + rel_w[:, :, :, None, :]
        attn = attn.view(b * heads, h * w, h * w).softmax(dim=-1)
        out = (attn @ v).view(b, heads, h, w, -1).permute(0, 2, 3, 1, 4).reshape(b, h, w, -1)
        return self.proj(out)


class Block(nn.Module):
    """Pre-norm transformer block; ``window_size == 0`` means global attention."""

    def __init__(self, cfg: ViTConfig, window_size: int) -> None:
        super().__init__()
        dim = cfg.embed_dim
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        grid = window_size if window_size > 0 else cfg.grid_size
        self.attn = Attention(dim, cfg.num_heads, grid, qkv_bias=cfg.qkv_bias)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = MLPBlock(dim, int(dim * cfg.mlp_ratio), nn.GELU)
        self.window_size = window_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x
        x = self.norm1(x)
        if self.window_size > 0:
            hw = (x.shape[1], x.shape[2])
            x, padded_hw = window_partition(x, self.window_size)
            x = self.attn(x)
            x = window_unpartition(x, self.window_size, padded_hw, hw)
        else:
            x = self.attn(x)
        x = shortcut + x
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nn.Module):
    """Non-overlapping ``patch x patch`` convolution: ``(B, 3, H, W) -> (B, H/p, W/p, dim)``."""

    def __init__(self, patch_size: int, embed_dim: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).permute(0, 2, 3, 1)


class ImageEncoderViT(nn.Module):
    """The ViT-B/L/H image encoder (and any smaller variant described by :class:`ViTConfig`)."""

    def __init__(self, cfg: ViTConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.img_size = cfg.img_size
        self.patch_embed = PatchEmbed(cfg.patch_size, cfg.embed_dim)
        grid = cfg.grid_size
        self.pos_embed = nn.Parameter(torch.zeros(1, grid, grid, cfg.embed_dim))
        self.blocks = nn.ModuleList(
            Block(cfg, 0 if i in cfg.global_attn_indexes else cfg.window_size)
            for i in range(cfg.depth)
        )
        self.neck = nn.Sequential(
            nn.Conv2d(cfg.embed_dim, cfg.out_chans, kernel_size=1, bias=False),
            LayerNorm2d(cfg.out_chans),
            nn.Conv2d(cfg.out_chans, cfg.out_chans, kernel_size=3, padding=1, bias=False),
            LayerNorm2d(cfg.out_chans),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 3, 1024, 1024)`` normalised, padded image -> ``(B, 256, 64, 64)``."""
        x = self.patch_embed(x) + self.pos_embed
        for block in self.blocks:
            x = block(x)
        return self.neck(x.permute(0, 3, 1, 2))
