"""SAM 2's image encoder: the Hiera trunk and the FPN neck, for single images.

Written from the Hiera paper (Ryali et al. 2023, "Hiera: A Hierarchical Vision Transformer
without the Bells-and-Whistles"), the windowed positional embedding of Bolya et al. 2023
("Window Attention is Bugged") and Meta's SAM 2 code read as a reference. State-dict names
match Meta's checkpoints under ``image_encoder.`` (``trunk.*``, ``neck.convs.<i>.conv.*``).

Layouts: the trunk works channels-last, ``(B, H, W, C)``; the neck and everything it returns
is ``(B, C, H, W)``. For a ``(B, 3, 1024, 1024)`` input the patch embedding gives a 256x256
grid (stride 4) and each of the three later stages halves it (strides 8, 16, 32).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class HieraConfig:
    """Hyper-parameters of a Hiera trunk (names as in Meta's configs).

    ``embed_dim``, ``stages``, ``window_pos_embed_bkg_spatial_size`` and ``window_spec[0]`` are
    visible in the weights; ``num_heads``, ``global_att_blocks`` and the later window sizes are
    not, so they come from the published configuration of the same size.
    """

    embed_dim: int = 96
    num_heads: int = 1
    stages: tuple[int, ...] = (1, 2, 7, 2)
    global_att_blocks: tuple[int, ...] = (5, 7, 9)
    window_spec: tuple[int, ...] = (8, 4, 14, 7)
    window_pos_embed_bkg_spatial_size: tuple[int, int] = (7, 7)
    mlp_ratio: float = 4.0

    @property
    def stage_ends(self) -> list[int]:
        """Index of the last block of each stage."""
        return [sum(self.stages[: i + 1]) - 1 for i in range(len(self.stages))]

    @property
    def channel_list(self) -> list[int]:
        """Channels of the stage outputs, lowest resolution first (the neck's order)."""
        return [self.embed_dim * 2**i for i in range(len(self.stages))][::-1]


def window_partition(x: torch.Tensor, window: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """``(B, H, W, C)`` -> ``(B * nW, window, window, C)`` windows, zero-padding bottom/right.

    Returns the windows and the padded ``(Hp, Wp)``.
    """
    b, h, w, c = x.shape
    pad_h, pad_w = (-h) % window, (-w) % window
    if pad_h or pad_w:
        x = F.pad(x, (0, 0, 0, pad_w, 0, pad_h))
    hp, wp = h + pad_h, w + pad_w
    x = x.view(b, hp // window, window, wp // window, window, c)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, window, window, c), (hp, wp)


def window_unpartition(
    windows: torch.Tensor, window: int, padded_hw: tuple[int, int], hw: tuple[int, int]
) -> torch.Tensor:
    """Inverse of :func:`window_partition`: back to ``(B, H, W, C)`` without the padding."""
    hp, wp = padded_hw
    h, w = hw
    b = windows.shape[0] // ((hp // window) * (wp // window))
    x = windows.reshape(b, hp // window, wp // window, window, window, -1)
    x = x.permute(0, 1, 3, 2, 4, 5).reshape(b, hp, wp, -1)
    return x[:, :h, :w, :] if (hp > h or wp > w) else x


def _max_pool(x: torch.Tensor, pool: nn.Module) -> torch.Tensor:
    """Pool a channels-last ``(B, H, W, C)`` tensor spatially."""
    return pool(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)


class MultiScaleAttention(nn.Module):
    """Attention over tokens ``(B, H, W, dim)`` -> ``(B, H', W', dim_out)``.

    With ``q_pool`` the queries are max-pooled (stride 2), which halves the grid at the first
    block of a stage; keys and values keep the full grid.
    """

    def __init__(self, dim: int, dim_out: int, num_heads: int, q_pool: nn.Module | None) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.q_pool = q_pool
        self.qkv = nn.Linear(dim, dim_out * 3)
        self.proj = nn.Linear(dim_out, dim_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, h, w, _ = x.shape
        qkv = self.qkv(x).reshape(b, h * w, 3, self.num_heads, -1)
        q, k, v = torch.unbind(qkv, 2)  # each (B, HW, heads, d)
        if self.q_pool is not None:
            q = _max_pool(q.reshape(b, h, w, -1), self.q_pool)
            h, w = q.shape[1:3]
            q = q.reshape(b, h * w, self.num_heads, -1)
        out = F.scaled_dot_product_attention(
            q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        )
        return self.proj(out.transpose(1, 2).reshape(b, h, w, -1))


class HieraMLP(nn.Module):
    """Two linear layers with GELU between; names ``layers.0`` / ``layers.1`` as Meta's."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(dim, hidden), nn.Linear(hidden, dim)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers[1](F.gelu(self.layers[0](x)))


class MultiScaleBlock(nn.Module):
    """One Hiera block: (windowed) attention and an MLP, pre-norm, with residuals.

    ``window_size`` 0 means global attention. At a stage change (``q_stride``) the block
    widens the channels (``proj`` on the shortcut) and pools both the shortcut and the
    queries, so the grid halves.
    """

    def __init__(
        self,
        dim: int,
        dim_out: int,
        num_heads: int,
        mlp_ratio: float,
        q_stride: tuple[int, int] | None,
        window_size: int,
    ) -> None:
        super().__init__()
        self.dim, self.dim_out = dim, dim_out
        self.window_size = window_size
        self.q_stride = q_stride
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.pool = nn.MaxPool2d(kernel_size=q_stride, stride=q_stride) if q_stride else None
        self.attn = MultiScaleAttention(dim, dim_out, num_heads, self.pool)
        self.norm2 = nn.LayerNorm(dim_out, eps=1e-6)
        self.mlp = HieraMLP(dim_out, int(dim_out * mlp_ratio))
        if dim != dim_out:
            self.proj = nn.Linear(dim, dim_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x
        x = self.norm1(x)
        if self.dim != self.dim_out:
            # The shortcut is projected from the normalised input (as in the reference).
            shortcut = self.proj(x)
            if self.pool is not None:
                shortcut = _max_pool(shortcut, self.pool)
        window = self.window_size
        if window > 0:
            hw = (x.shape[1], x.shape[2])
            x, padded = window_partition(x, window)
        x = self.attn(x)
        if self.q_stride and window > 0:
            # Pooled queries shrank every window; unpartition with the smaller window.
            window = self.window_size // self.q_stride[0]
            hw = (shortcut.shape[1], shortcut.shape[2])
            padded = (hw[0] + (-hw[0]) % window, hw[1] + (-hw[1]) % window)
        if self.window_size > 0:
            x = window_unpartition(x, window, padded, hw)
        x = shortcut + x
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nn.Module):
    """7x7 convolution, stride 4, padding 3: ``(B, 3, H, W)`` -> ``(B, H/4, W/4, C)``."""

    def __init__(self, embed_dim: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, embed_dim, kernel_size=7, stride=4, padding=3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).permute(0, 2, 3, 1)


class Hiera(nn.Module):
    """The trunk: returns the four stage outputs ``(B, C_i, H_i, W_i)``, high resolution first."""

    def __init__(self, cfg: HieraConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.patch_embed = PatchEmbed(cfg.embed_dim)
        self.pos_embed = nn.Parameter(
            torch.zeros(1, cfg.embed_dim, *cfg.window_pos_embed_bkg_spatial_size)
        )
        first_window = cfg.window_spec[0]
        self.pos_embed_window = nn.Parameter(
            torch.zeros(1, cfg.embed_dim, first_window, first_window)
        )
        stage_ends = cfg.stage_ends
        q_pool_blocks = {end + 1 for end in stage_ends[:-1]}
        self.blocks = nn.ModuleList()
        dim, heads, stage = cfg.embed_dim, cfg.num_heads, 0
        for i in range(sum(cfg.stages)):
            dim_out = dim
            # The window size lags one block behind the stage: the first block of a stage
            # still uses the previous stage's window (on the pooled grid).
            window = 0 if i in cfg.global_att_blocks else cfg.window_spec[stage]
            if i - 1 in stage_ends:
                dim_out, heads, stage = dim * 2, heads * 2, stage + 1
            self.blocks.append(
                MultiScaleBlock(
                    dim,
                    dim_out,
                    heads,
                    cfg.mlp_ratio,
                    (2, 2) if i in q_pool_blocks else None,
                    window,
                )
            )
            dim = dim_out

    def position_embedding(self, hw: tuple[int, int]) -> torch.Tensor:
        """``(1, h, w, C)``: the background embedding (bicubic to the grid) plus the window
        embedding tiled over it. Depends only on the weights and the grid size, so an
        exporter can pass it in as a constant (see :meth:`forward`)."""
        pos = F.interpolate(self.pos_embed, size=hw, mode="bicubic")
        win = self.pos_embed_window
        pos = pos + win.tile(1, 1, hw[0] // win.shape[2], hw[1] // win.shape[3])
        return pos.permute(0, 2, 3, 1)

    def forward(self, x: torch.Tensor, pos_embed: torch.Tensor | None = None) -> list[torch.Tensor]:
        """``(B, 3, H, W)`` -> stage outputs; ``pos_embed``: :meth:`position_embedding` of the
        grid, computed here when None. (A bicubic resize of a constant inside an exported
        graph made OpenVINO spend minutes folding it.)"""
        x = self.patch_embed(x)
        if pos_embed is None:
            pos_embed = self.position_embedding((x.shape[1], x.shape[2]))
        x = x + pos_embed
        ends = set(self.cfg.stage_ends)
        outputs = []
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in ends:
                outputs.append(x.permute(0, 3, 1, 2))
        return outputs


class FpnNeck(nn.Module):
    """1x1 lateral convolutions to ``d_model`` channels plus a nearest top-down path.

    Only levels 2 and 3 (strides 16 and 32) receive the top-down sum, as in every published
    SAM 2 configuration; levels 0 and 1 are lateral only.
    """

    def __init__(self, channel_list: list[int], d_model: int = 256) -> None:
        super().__init__()
        self.convs = nn.ModuleList()
        for dim in channel_list:  # lowest resolution first
            lateral = nn.Sequential()
            lateral.add_module("conv", nn.Conv2d(dim, d_model, kernel_size=1))
            self.convs.append(lateral)
        self.top_down_levels = (2, 3)

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        """Stage outputs (high resolution first) -> ``d_model``-channel maps, same order."""
        n = len(self.convs) - 1
        out: list[torch.Tensor] = [xs[0]] * len(xs)
        previous = None
        for i in range(n, -1, -1):
            lateral = self.convs[n - i](xs[i])
            if i in self.top_down_levels and previous is not None:
                lateral = lateral + F.interpolate(previous, scale_factor=2.0, mode="nearest")
            previous = lateral
            out[i] = lateral
        return out


class Sam2ImageEncoder(nn.Module):
    """Trunk + neck, keeping the three finest levels (Meta's ``scalp=1``).

    ``(B, 3, 1024, 1024)`` -> ``[(B, 256, 256, 256), (B, 256, 128, 128), (B, 256, 64, 64)]``.
    """

    def __init__(self, cfg: HieraConfig, d_model: int = 256) -> None:
        super().__init__()
        self.trunk = Hiera(cfg)
        self.neck = FpnNeck(cfg.channel_list, d_model)

    def forward(self, x: torch.Tensor, pos_embed: torch.Tensor | None = None) -> list[torch.Tensor]:
        return self.neck(self.trunk(x, pos_embed))[:-1]
