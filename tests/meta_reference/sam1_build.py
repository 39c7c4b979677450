"""Build Meta's SAM 1 predictor for a random-weight checkpoint of our fixtures' kind.

The fixtures' ``config.json`` gives the hyperparameters; the returned ``SamPredictor`` is
Meta's own code (segment-anything 1.0), so tests can make reference outputs for any image
and prompt instead of relying on stored ones.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import torch

from tests.meta_reference import segment_anything


def build_vit_sam(config: dict):
    """Meta's ``Sam`` (ViT encoder) from a config dict as in ``fixtures/*/config.json``."""
    segment_anything()
    from segment_anything.modeling import (
        ImageEncoderViT,
        MaskDecoder,
        PromptEncoder,
        Sam,
        TwoWayTransformer,
    )

    embed = config["prompt_embed_dim"]
    image_size = config["image_size"]
    grid = image_size // config["patch_size"]
    return Sam(
        image_encoder=ImageEncoderViT(
            depth=config["encoder_depth"],
            embed_dim=config["encoder_embed_dim"],
            img_size=image_size,
            mlp_ratio=config["mlp_ratio"],
            norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
            num_heads=config["encoder_num_heads"],
            patch_size=config["patch_size"],
            qkv_bias=True,
            use_rel_pos=True,
            global_attn_indexes=tuple(config["encoder_global_attn_indexes"]),
            window_size=config["window_size"],
            out_chans=embed,
        ),
        prompt_encoder=PromptEncoder(
            embed_dim=embed,
            image_embedding_size=(grid, grid),
            input_image_size=(image_size, image_size),
            mask_in_chans=16,
        ),
        mask_decoder=MaskDecoder(
            num_multimask_outputs=config["num_multimask_outputs"],
            transformer=TwoWayTransformer(
                depth=config["decoder_depth"],
                embedding_dim=embed,
                mlp_dim=config["decoder_mlp_dim"],
                num_heads=config["decoder_num_heads"],
            ),
            transformer_dim=embed,
            iou_head_depth=config["iou_head_depth"],
            iou_head_hidden_dim=config["iou_head_hidden_dim"],
        ),
        pixel_mean=config["pixel_mean"],
        pixel_std=config["pixel_std"],
    )


def reference_predictor(checkpoint: Path, config: dict):
    """Meta's ``SamPredictor`` over ``checkpoint`` (a state_dict with official key names)."""
    SamPredictor = segment_anything().SamPredictor
    sam = build_vit_sam(config)
    sam.load_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=True))
    return SamPredictor(sam.eval())


def fixture_reference_predictor(fixture_dir: Path):
    """Meta's predictor for a fixture folder holding ``checkpoint.pth`` and ``config.json``."""
    config = json.loads((fixture_dir / "config.json").read_text())
    return reference_predictor(fixture_dir / "checkpoint.pth", config)
