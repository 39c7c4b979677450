"""Tiny random SAM checkpoints the tests build themselves (fast to export and encode)."""

from __future__ import annotations

from pathlib import Path

import torch

from samlabel.sam.build import SamConfig, build_sam
from samlabel.sam.image_encoder import ViTConfig

TINY_VIT = ViTConfig(embed_dim=32, depth=2, num_heads=2, global_attn_indexes=(1,), window_size=8)


def write_tiny_checkpoint(path: Path, seed: int = 0) -> Path:
    """Save the state dict of a small random SAM (official key names) to ``path``."""
    torch.manual_seed(seed)
    model = build_sam(SamConfig(encoder=TINY_VIT))
    torch.save(model.state_dict(), path)
    return path
