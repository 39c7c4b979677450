"""Builders: one private builder from configurations, plus Meta's named ViT sizes."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from torch import nn

from samlabel.sam.image_encoder import ImageEncoderViT, ViTConfig
from samlabel.sam.mask_decoder import MaskDecoder
from samlabel.sam.prompt_encoder import PromptEncoder
from samlabel.sam.sam_model import SamModel
from samlabel.sam.transformer import TwoWayTransformer


@dataclass(frozen=True)
class DecoderConfig:
    """Hyper-parameters of the prompt encoder and mask decoder (inferable from weights)."""

    prompt_embed_dim: int = 256
    mask_in_chans: int = 16
    depth: int = 2
    mlp_dim: int = 2048
    num_heads: int = 8  # not visible in the weights; 8 in every published checkpoint
    attention_downsample_rate: int = 2
    num_multimask_outputs: int = 3
    iou_head_depth: int = 3
    iou_head_hidden_dim: int = 256


#: Meta's published ViT encoders, by the names of their checkpoints.
VIT_CONFIGS: dict[str, ViTConfig] = {
    "SAM ViT-B": ViTConfig(768, 12, 12, (2, 5, 8, 11)),
    "SAM ViT-L": ViTConfig(1024, 24, 16, (5, 11, 17, 23)),
    "SAM ViT-H": ViTConfig(1280, 32, 16, (7, 15, 23, 31)),
}


@dataclass(frozen=True)
class SamConfig:
    """Whole-network configuration: an encoder config and a decoder config."""

    encoder: object = field(default_factory=ViTConfig)  # ViTConfig or TinyViTConfig
    decoder: DecoderConfig = field(default_factory=DecoderConfig)


def build_image_encoder(encoder_cfg: object) -> nn.Module:
    """A ViT encoder for a :class:`ViTConfig`, else a TinyViT for a ``TinyViTConfig``."""
    if isinstance(encoder_cfg, ViTConfig):
        return ImageEncoderViT(encoder_cfg)
    from samlabel.sam.tiny_vit import TinyViT  # written separately; imported when needed

    return TinyViT.from_config(encoder_cfg)


_INIT_FUNCTIONS = ("uniform_", "normal_", "kaiming_uniform_", "trunc_normal_", "zeros_", "ones_")
_init_lock = threading.Lock()


@contextlib.contextmanager
def _skip_weight_init() -> Iterator[None]:
    """Make ``torch.nn.init``'s random/constant fills no-ops while modules are built.

    Layers call these through the ``torch.nn.init`` module at construction time; filling
    ViT-H's 636M parameters with random numbers that a checkpoint overwrites at once costs
    seconds and doubles peak memory.
    """
    originals = {name: getattr(nn.init, name) for name in _INIT_FUNCTIONS}
    with _init_lock:
        try:
            for name in _INIT_FUNCTIONS:
                setattr(nn.init, name, lambda tensor, *args, **kwargs: tensor)
            yield
        finally:
            for name, func in originals.items():
                setattr(nn.init, name, func)


def build_sam(cfg: SamConfig, init_weights: bool = True) -> SamModel:
    """A SAM for ``cfg``.

    With ``init_weights`` False the parameters are left uninitialised (arbitrary memory):
    only for loading a complete state dict right after.
    """
    if not init_weights:
        with _skip_weight_init():
            return _build_sam(cfg)
    return _build_sam(cfg)


def _build_sam(cfg: SamConfig) -> SamModel:
    dec = cfg.decoder
    image_size = 1024
    grid = image_size // 16
    prompt_encoder = PromptEncoder(
        embed_dim=dec.prompt_embed_dim,
        image_embedding_size=(grid, grid),
        input_image_size=(image_size, image_size),
        mask_in_chans=dec.mask_in_chans,
    )
    transformer = TwoWayTransformer(
        depth=dec.depth,
        embedding_dim=dec.prompt_embed_dim,
        num_heads=dec.num_heads,
        mlp_dim=dec.mlp_dim,
        attention_downsample_rate=dec.attention_downsample_rate,
    )
    mask_decoder = MaskDecoder(
        transformer,
        transformer_dim=dec.prompt_embed_dim,
        num_multimask_outputs=dec.num_multimask_outputs,
        iou_head_depth=dec.iou_head_depth,
        iou_head_hidden_dim=dec.iou_head_hidden_dim,
    )
    return SamModel(build_image_encoder(cfg.encoder), prompt_encoder, mask_decoder)
