"""Helpers for comparing our segment everything with Meta's ``SamAutomaticMaskGenerator``."""

from __future__ import annotations

import numpy as np
from pycocotools import mask as mask_utils

from tests.meta_reference import segment_anything
from tests.meta_reference.sam1_build import build_vit_sam
from tests.reference_fixtures import SAM_FIXED_CONFIG


def meta_generator(model, config: dict, **options):
    """Meta's generator over a copy of our torch ``model``'s weights (official key names)."""
    segment_anything()
    from segment_anything import SamAutomaticMaskGenerator

    sam = build_vit_sam(config)
    sam.load_state_dict(model.state_dict())
    return SamAutomaticMaskGenerator(sam.eval(), output_mode="coco_rle", **options)


def tiny_config(model) -> dict:
    """The hyperparameters of a tiny model from tests/inference/tiny_models.py, as a config."""
    encoder = model.image_encoder
    return {
        "encoder_embed_dim": encoder.patch_embed.proj.out_channels,
        "encoder_depth": len(encoder.blocks),
        "encoder_num_heads": encoder.blocks[0].attn.num_heads,
        "encoder_global_attn_indexes": [
            i for i, block in enumerate(encoder.blocks) if block.window_size == 0
        ],
        "window_size": max(block.window_size for block in encoder.blocks),
        **SAM_FIXED_CONFIG,
    }


def _pyco(records: list[dict]) -> list[dict]:
    return [
        {"size": r["segmentation"]["size"], "counts": r["segmentation"]["counts"].encode()}
        for r in records
    ]


def match_fraction(reference: list[dict], ours: list[dict], iou: float = 0.9) -> float:
    """Fraction of ``reference`` masks with one of ``ours`` at mask IoU >= ``iou``."""
    if not reference:
        return 1.0 if not ours else 0.0
    if not ours:
        return 0.0
    ious = mask_utils.iou(_pyco(reference), _pyco(ours), [0] * len(ours))
    return float((np.asarray(ious).max(axis=1) >= iou).mean())
