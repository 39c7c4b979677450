"""TinyViT architecture: its hyperparameters, and reading them from a state dict.

``TinyViTConfig`` describes MobileSAM's TinyViT encoder (``samlabel.sam.tiny_vit.TinyViT``);
``infer_tiny_vit_config`` reads one from checkpoint weights alone (official ``mobile_sam.pt``
key names), since real checkpoints come with no config.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

import torch

__all__ = ["TinyViTConfig", "infer_tiny_vit_config"]


@dataclass(frozen=True)
class TinyViTConfig:
    """TinyViT hyperparameters; MobileSAM's ``vit_t`` by default.

    ``embed_dims``, ``depths``, ``num_heads`` and ``window_sizes`` have one entry per stage.
    Stage 0 is the MBConv stage (its ``num_heads``/``window_sizes`` entries are unused);
    later stages are attention stages. ``num_classes`` is the size of the unused classifier
    head (0: no ``head`` Linear); ``norm_head`` says whether its LayerNorm exists.
    """

    img_size: int = 1024
    in_chans: int = 3
    embed_dims: tuple[int, ...] = (64, 128, 160, 320)
    depths: tuple[int, ...] = (2, 2, 6, 2)
    num_heads: tuple[int, ...] = (2, 4, 5, 10)
    window_sizes: tuple[int, ...] = (7, 7, 14, 7)
    mlp_ratio: float = 4.0
    mbconv_expand_ratio: float = 4.0
    local_conv_size: int = 3
    out_chans: int = 256
    num_classes: int = 1000
    norm_head: bool = True

    def __post_init__(self) -> None:
        n = len(self.embed_dims)
        if n < 2:
            raise ValueError("TinyViT needs at least two stages (one MBConv, one attention)")
        for name in ("depths", "num_heads", "window_sizes"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"TinyViTConfig.{name} must have {n} entries, one per stage")
        for i in range(1, n):
            if self.embed_dims[i] % self.num_heads[i]:
                raise ValueError(
                    f"stage {i}: width {self.embed_dims[i]} is not divisible by "
                    f"{self.num_heads[i]} heads"
                )
        if self.img_size % (4 << (n - 2)):
            raise ValueError(f"img_size {self.img_size} must be divisible by {4 << (n - 2)}")

    def stage_resolution(self, stage: int) -> int:
        """Side length of the token grid of ``stage``: 1/4 of the image, halved per stage,
        except that the last stage keeps the resolution of the one before it."""
        return self.img_size // 4 // (2 ** min(stage, len(self.embed_dims) - 2))

    @property
    def out_resolution(self) -> int:
        """Side length of the output embedding (64 for a 1024 input)."""
        return self.stage_resolution(len(self.embed_dims) - 1)


_STAGE_KEY = re.compile(r"layers\.(\d+)\.blocks\.(\d+)\.")


def infer_tiny_vit_config(
    state_dict: Mapping[str, torch.Tensor], prefix: str = "image_encoder.", img_size: int = 1024
) -> TinyViTConfig:
    """Read a TinyViT architecture from the names and shapes of its weights.

    ``state_dict`` holds the encoder's tensors under ``prefix`` (other keys are ignored).
    Widths come from the conv/linear shapes, depths from the block counts, heads from the
    attention bias tables (heads, window^2), the window from the table width, the local
    conv size from its kernel. ``img_size`` cannot be read from the weights (TinyViT has no
    positional embedding); SAM uses 1024.

    Raises ValueError if the keys do not look like a TinyViT encoder.
    """

    def get(name: str) -> torch.Tensor:
        try:
            return state_dict[prefix + name]
        except KeyError:
            raise ValueError(
                f"weights do not look like a TinyViT encoder: missing '{prefix}{name}'"
            ) from None

    block_counts: dict[int, int] = {}
    for key in state_dict:
        if key.startswith(prefix):
            m = _STAGE_KEY.match(key, len(prefix))
            if m:
                stage, block = int(m.group(1)), int(m.group(2))
                block_counts[stage] = max(block_counts.get(stage, 0), block + 1)
    n = len(block_counts)
    if n < 2 or sorted(block_counts) != list(range(n)):
        raise ValueError(
            "weights do not look like a TinyViT encoder: expected "
            f"'{prefix}layers.<i>.blocks.<j>.*' keys for consecutive stages 0..N (N >= 1), "
            f"found stages {sorted(block_counts)}"
        )
    stem = get("patch_embed.seq.0.c.weight")
    in_chans = stem.shape[1]
    embed_dims = [get("patch_embed.seq.2.c.weight").shape[0]]
    for i in range(n - 1):
        embed_dims.append(get(f"layers.{i}.downsample.conv1.c.weight").shape[0])
    depths = [block_counts[i] for i in range(n)]
    mbconv_hidden = get("layers.0.blocks.0.conv1.c.weight").shape[0]
    num_heads = [1]
    window_sizes = [1]
    for i in range(1, n):
        heads, table = get(f"layers.{i}.blocks.0.attn.attention_biases").shape
        window = math.isqrt(table)
        if window * window != table:
            raise ValueError(
                f"'{prefix}layers.{i}.blocks.0.attn.attention_biases' has {table} offsets, "
                "not a square window"
            )
        num_heads.append(heads)
        window_sizes.append(window)
    # Stage 0 has no attention; the official config carries a head count and window there
    # anyway. Use the next stage's window and the head width of stage 1 so a round trip of
    # the default config is exact (these values do not affect the network).
    num_heads[0] = max(1, embed_dims[0] * num_heads[1] // embed_dims[1])
    window_sizes[0] = window_sizes[1]
    mlp_hidden = get("layers.1.blocks.0.mlp.fc1.weight").shape[0]
    local_conv = get("layers.1.blocks.0.local_conv.c.weight").shape[-1]
    # One config describes every block: refuse weights whose blocks disagree with it.
    for i in range(1, n):
        dim = embed_dims[i]
        for j in range(depths[i]):
            blk = f"layers.{i}.blocks.{j}."
            found = {
                "attn.attention_biases": tuple(get(blk + "attn.attention_biases").shape),
                "mlp.fc1.weight": tuple(get(blk + "mlp.fc1.weight").shape),
                "local_conv.c.weight": tuple(get(blk + "local_conv.c.weight").shape),
            }
            want = {
                "attn.attention_biases": (num_heads[i], window_sizes[i] ** 2),
                "mlp.fc1.weight": (round(dim * mlp_hidden / embed_dims[1]), dim),
                "local_conv.c.weight": (dim, 1, local_conv, local_conv),
            }
            for name, shape in found.items():
                if shape != want[name]:
                    raise ValueError(
                        f"TinyViT weights are inconsistent: '{prefix}{blk}{name}' has shape "
                        f"{shape}, expected {want[name]} from the first block of its stage"
                    )
    head = state_dict.get(prefix + "head.weight")
    return TinyViTConfig(
        img_size=img_size,
        in_chans=in_chans,
        embed_dims=tuple(embed_dims),
        depths=tuple(depths),
        num_heads=tuple(num_heads),
        window_sizes=tuple(window_sizes),
        mlp_ratio=mlp_hidden / embed_dims[1],
        mbconv_expand_ratio=mbconv_hidden / embed_dims[0],
        local_conv_size=local_conv,
        out_chans=get("neck.0.weight").shape[0],
        num_classes=0 if head is None else head.shape[0],
        norm_head=prefix + "norm_head.weight" in state_dict,
    )
