"""MobileSAM's TinyViT image encoder in torch.

Input: a batch of normalised, zero-padded images, (B, in_chans, img_size, img_size) float32
(for MobileSAM (B, 3, 1024, 1024)). Output: image embeddings (B, out_chans, img_size/16,
img_size/16) float32, (B, 256, 64, 64) for MobileSAM.

The network: a patch embedding of two stride-2 convolutions (1/4 resolution), a stage of
MBConv blocks, then stages of TinyViT blocks (windowed self-attention with learned
attention biases, a depthwise "local" convolution and an MLP). A PatchMerging module
between stages changes the width and halves the resolution, except the last one which
keeps stride 1 (MobileSAM's change, so the output stays at 1/16). A neck (1x1 conv, 3x3
conv, each with a channel LayerNorm) maps the last stage to ``out_chans``.

Module, parameter and buffer names follow the official ``mobile_sam.pt`` keys under
``image_encoder.``, so ``TinyViT.load_state_dict(sd, strict=True)`` accepts them. The
``attention_bias_idxs`` buffers are derived from the window size and are not saved, as in
the official checkpoint. The classifier head (``norm_head``, ``head``) is kept for
key compatibility but is not used by ``forward``.

Everything in ``forward`` depends only on static shapes fixed at construction, so the
module exports to ONNX without data-dependent control flow.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from samlabel.sam.tiny_vit_config import TinyViTConfig, infer_tiny_vit_config

__all__ = ["TinyViT", "TinyViTConfig", "infer_tiny_vit_config"]


class Conv2dBN(nn.Sequential):
    """Conv2d without bias followed by BatchNorm2d; keys ``c.weight`` and ``bn.*``."""

    def __init__(
        self,
        in_chans: int,
        out_chans: int,
        kernel_size: int = 1,
        stride: int = 1,
        padding: int = 0,
        groups: int = 1,
    ) -> None:
        super().__init__()
        self.add_module(
            "c",
            nn.Conv2d(in_chans, out_chans, kernel_size, stride, padding, groups=groups, bias=False),
        )
        self.add_module("bn", nn.BatchNorm2d(out_chans))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            return super().forward(x)
        # Inference: fold the BatchNorm into the conv weights (a few KB of arithmetic)
        # instead of a second pass over the activations; ONNX export constant-folds it.
        conv, bn = self.c, self.bn
        scale = bn.weight * torch.rsqrt(bn.running_var + bn.eps)
        weight = conv.weight * scale[:, None, None, None]
        bias = bn.bias - bn.running_mean * scale
        return F.conv2d(x, weight, bias, conv.stride, conv.padding, conv.dilation, conv.groups)


class PatchEmbed(nn.Module):
    """Two 3x3 stride-2 Conv2dBN with GELU between: (B, C, H, W) -> (B, dim, H/4, W/4)."""

    def __init__(self, in_chans: int, dim: int) -> None:
        super().__init__()
        self.seq = nn.Sequential(
            Conv2dBN(in_chans, dim // 2, 3, 2, 1), nn.GELU(), Conv2dBN(dim // 2, dim, 3, 2, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.seq(x)


class MBConv(nn.Module):
    """Inverted residual block on (B, C, H, W): 1x1 expand, 3x3 depthwise, 1x1 project."""

    def __init__(self, dim: int, expand_ratio: float) -> None:
        super().__init__()
        hidden = round(dim * expand_ratio)  # round: inferred ratios may be inexact floats
        self.conv1 = Conv2dBN(dim, hidden, 1)
        self.act1 = nn.GELU()
        self.conv2 = Conv2dBN(hidden, hidden, 3, 1, 1, groups=hidden)
        self.act2 = nn.GELU()
        self.conv3 = Conv2dBN(hidden, dim, 1)
        self.act3 = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act1(self.conv1(x))
        y = self.act2(self.conv2(y))
        return self.act3(self.conv3(y) + x)


class PatchMerging(nn.Module):
    """Change width (and resolution) between stages.

    Input (B, dim, R, R) or tokens (B, R*R, dim) in row-major order; output tokens
    (B, (R/stride)^2, out_dim).
    """

    def __init__(self, resolution: int, dim: int, out_dim: int, stride: int) -> None:
        super().__init__()
        self.resolution = resolution
        self.conv1 = Conv2dBN(dim, out_dim, 1)
        self.conv2 = Conv2dBN(out_dim, out_dim, 3, stride, 1, groups=out_dim)
        self.conv3 = Conv2dBN(out_dim, out_dim, 1)
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 3:
            r = self.resolution
            x = x.reshape(x.shape[0], r, r, -1).permute(0, 3, 1, 2)
        x = self.act(self.conv1(x))
        x = self.act(self.conv2(x))
        x = self.conv3(x)
        return x.flatten(2).transpose(1, 2)


class ConvLayer(nn.Module):
    """Stage 0: MBConv blocks at 1/4 resolution, then PatchMerging to the next width."""

    def __init__(self, cfg: TinyViTConfig) -> None:
        super().__init__()
        dim = cfg.embed_dims[0]
        self.blocks = nn.ModuleList(
            MBConv(dim, cfg.mbconv_expand_ratio) for _ in range(cfg.depths[0])
        )
        self.downsample = _merging(cfg, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return self.downsample(x)


class Attention(nn.Module):
    """Multi-head self-attention inside one window, with a learned bias per head and offset.

    Input and output (B', N, dim) with N = window * window tokens in row-major order. The
    bias of query (y1, x1) and key (y2, x2) is ``attention_biases[h, |y1-y2| * window +
    |x1-x2|]``: the official code numbers the offsets in first-seen order, which for the
    first query (0, 0) is exactly this row-major order.
    """

    def __init__(self, dim: int, num_heads: int, window: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim**-0.5
        self.norm = nn.LayerNorm(dim)
        # Per head: q, k, v of head_dim each, interleaved by head (not q|k|v for all heads).
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.attention_biases = nn.Parameter(torch.zeros(num_heads, window * window))
        ys, xs = torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")
        ys, xs = ys.reshape(-1), xs.reshape(-1)
        idxs = (ys[:, None] - ys[None, :]).abs() * window + (xs[:, None] - xs[None, :]).abs()
        self.register_buffer("attention_bias_idxs", idxs, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        qkv = self.qkv(self.norm(x)).view(b, n, self.num_heads, 3 * self.head_dim)
        q, k, v = qkv.permute(0, 2, 1, 3).split(self.head_dim, dim=3)  # each (b, heads, n, hd)
        bias = self.attention_biases[:, self.attention_bias_idxs]  # (heads, n, n)
        attn = torch.matmul(q * self.scale, k.transpose(-2, -1)) + bias  # (b, heads, n, n)
        out = torch.matmul(attn.softmax(dim=-1), v)  # (b, heads, n, hd)
        return self.proj(out.transpose(1, 2).reshape(b, n, c))


class Mlp(nn.Module):
    """LayerNorm, Linear, GELU, Linear on (B, N, dim) tokens."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(self.norm(x))))


class TinyViTBlock(nn.Module):
    """Windowed attention, depthwise local conv, MLP on (B, R*R, dim) row-major tokens.

    The token grid is zero-padded at the bottom and right to a multiple of the window;
    padded tokens take part in attention as keys (as in the reference) and are cropped after.
    """

    def __init__(
        self, dim: int, resolution: int, num_heads: int, window: int, cfg: TinyViTConfig
    ) -> None:
        super().__init__()
        self.resolution = resolution
        self.window = window
        self.attn = Attention(dim, num_heads, window)
        self.mlp = Mlp(dim, round(dim * cfg.mlp_ratio))
        k = cfg.local_conv_size
        self.local_conv = Conv2dBN(dim, dim, k, 1, k // 2, groups=dim)

    def _windowed_attention(self, x: torch.Tensor) -> torch.Tensor:
        b, _, c = x.shape
        r, w = self.resolution, self.window
        if r == w:
            return self.attn(x)
        pad = (w - r % w) % w
        rp = r + pad
        n = rp // w
        x = x.reshape(b, r, r, c)
        if pad:
            x = F.pad(x, (0, 0, 0, pad, 0, pad))
        # (b, n, w, n, w, c) -> (b * n * n, w * w, c)
        x = x.reshape(b, n, w, n, w, c).transpose(2, 3).reshape(b * n * n, w * w, c)
        x = self.attn(x)
        x = x.view(b, n, n, w, w, c).transpose(2, 3).reshape(b, rp, rp, c)
        if pad:
            x = x[:, :r, :r]
        return x.reshape(b, r * r, c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, c = x.shape
        r = self.resolution
        x = x + self._windowed_attention(x)
        # A channels-last view of the tokens: no copy in, and flatten(2).transpose(1, 2) of
        # the channels-last conv output is again contiguous (B, L, C) tokens.
        x = self.local_conv(x.reshape(b, r, r, c).permute(0, 3, 1, 2))
        x = x.flatten(2).transpose(1, 2)
        return x + self.mlp(x)


class BasicLayer(nn.Module):
    """An attention stage: TinyViT blocks, then PatchMerging unless it is the last stage."""

    def __init__(self, cfg: TinyViTConfig, stage: int) -> None:
        super().__init__()
        dim = cfg.embed_dims[stage]
        res = cfg.stage_resolution(stage)
        self.blocks = nn.ModuleList(
            TinyViTBlock(dim, res, cfg.num_heads[stage], cfg.window_sizes[stage], cfg)
            for _ in range(cfg.depths[stage])
        )
        self.downsample = _merging(cfg, stage) if stage < len(cfg.embed_dims) - 1 else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        if self.downsample is not None:
            x = self.downsample(x)
        return x


def _merging(cfg: TinyViTConfig, stage: int) -> PatchMerging:
    """PatchMerging from ``stage`` to ``stage + 1``; stride 1 into the last stage."""
    stride = cfg.stage_resolution(stage) // cfg.stage_resolution(stage + 1)
    return PatchMerging(
        cfg.stage_resolution(stage), cfg.embed_dims[stage], cfg.embed_dims[stage + 1], stride
    )


class LayerNorm2d(nn.Module):
    """LayerNorm over the channels of (B, C, H, W), eps 1e-6 as in SAM's neck."""

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.layer_norm(x.permute(0, 2, 3, 1), x.shape[1:2], self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class TinyViT(nn.Module):
    """TinyViT image encoder: (B, in_chans, S, S) float32 -> (B, out_chans, S/16, S/16).

    S = ``cfg.img_size`` (1024 for MobileSAM). The input is the normalised image, zero
    padded at the bottom and right to S x S.
    """

    def __init__(self, cfg: TinyViTConfig | None = None) -> None:
        super().__init__()
        cfg = cfg or TinyViTConfig()
        self.config = cfg
        self.img_size = cfg.img_size
        dims = cfg.embed_dims
        self.patch_embed = PatchEmbed(cfg.in_chans, dims[0])
        self.layers = nn.ModuleList(
            [ConvLayer(cfg)] + [BasicLayer(cfg, i) for i in range(1, len(dims))]
        )
        if cfg.norm_head:
            self.norm_head = nn.LayerNorm(dims[-1])
        if cfg.num_classes > 0:
            self.head = nn.Linear(dims[-1], cfg.num_classes)
        self.neck = nn.Sequential(
            nn.Conv2d(dims[-1], cfg.out_chans, 1, bias=False),
            LayerNorm2d(cfg.out_chans),
            nn.Conv2d(cfg.out_chans, cfg.out_chans, 3, padding=1, bias=False),
            LayerNorm2d(cfg.out_chans),
        )

    @classmethod
    def from_config(cls, cfg: TinyViTConfig) -> TinyViT:
        """Build an (untrained) encoder with the architecture ``cfg``."""
        return cls(cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in_chans, S, S) float32 normalised image -> (B, out_chans, S/16, S/16).

        S/16 holds for four stages; in general the output side is ``config.out_resolution``.
        """
        size = self.config.img_size
        if x.ndim != 4 or x.shape[1] != self.config.in_chans or x.shape[-2:] != (size, size):
            raise ValueError(
                f"TinyViT expects a (B, {self.config.in_chans}, {size}, {size}) image batch, "
                f"got {tuple(x.shape)}"
            )
        # Channels-last runs the convolutions about twice as fast on CPU (oneDNN) and lets
        # conv outputs turn into (B, L, C) tokens without copies. No-op for ONNX export.
        x = self.patch_embed(x.contiguous(memory_format=torch.channels_last))
        for layer in self.layers:
            x = layer(x)
        r = self.config.out_resolution
        x = x.reshape(x.shape[0], r, r, -1).permute(0, 3, 1, 2)
        return self.neck(x).contiguous()
