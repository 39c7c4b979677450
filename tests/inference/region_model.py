"""A small SAM whose weights are set by hand so that a point selects its colour region.

Random weights make every point of segment everything yield a whole-image texture mask (see
the design handbook, "Testing what random weights cannot show"). This model does something
sensible instead, through SAM's own architecture, so Meta's code and ours run it unchanged:

- image encoder: every transformer block is an identity (residual branches zeroed), the patch
  embedding takes each 16x16 patch's mean colour, and the neck turns it into a unit "hue" code
  ``(a, b, -a, -b)`` in channels 0..3 of the embedding (the two LayerNorms normalise it);
- positional encoding: 16 chosen frequencies (the others zero, so they leave channels free);
- decoder, layer 0: the point's token attends to the image positions near the point (the
  positional codes' dot product) and gathers their hue code; layer 1: the mask and IoU tokens
  copy it from the point's token; every other residual branch is zeroed;
- hypernetworks and upscaling: mask ``j`` has logits ``k * (cos(hue angle to the point) - c_j)``
  with ``c = (0.9, 0.93, 0.6, 0.2)``, so the three candidates are the point's colour region
  and regions of increasingly similar hues. The IoU head keeps random weights (it sees the
  gathered code, so scores differ between regions).

So a grid over an image of flat coloured shapes gives one mask per shape (and merged shapes
of similar hue), and NMS keeps many distinct masks.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from samlabel.sam.build import DecoderConfig, SamConfig, build_sam
from samlabel.sam.image_encoder import ViTConfig

DIM = 64
REGION_VIT = ViTConfig(
    embed_dim=16, depth=1, num_heads=1, global_attn_indexes=(), window_size=8, out_chans=DIM
)
REGION_DECODER = DecoderConfig(
    prompt_embed_dim=DIM, depth=2, mlp_dim=16, num_heads=1, iou_head_hidden_dim=64
)
#: Thresholds on the hue cosine of the four mask tokens (0: single mask; 1..3 candidates).
THRESHOLDS = (0.9, 0.93, 0.6, 0.2)
#: Hue codes, one pair of frequencies kept per positional channel pair: sin 8..23, cos 40..55.
LOCAL = list(range(8, 24))


def region_config() -> dict:
    """The model's hyperparameters in the fixtures' config format (for Meta's builder)."""
    return {
        "encoder_embed_dim": REGION_VIT.embed_dim,
        "encoder_depth": REGION_VIT.depth,
        "encoder_num_heads": REGION_VIT.num_heads,
        "encoder_global_attn_indexes": list(REGION_VIT.global_attn_indexes),
        "window_size": REGION_VIT.window_size,
        "patch_size": 16,
        "image_size": 1024,
        "prompt_embed_dim": DIM,
        "mlp_ratio": 4,
        "decoder_depth": REGION_DECODER.depth,
        "decoder_mlp_dim": REGION_DECODER.mlp_dim,
        "decoder_num_heads": REGION_DECODER.num_heads,
        "num_multimask_outputs": 3,
        "iou_head_depth": 3,
        "iou_head_hidden_dim": REGION_DECODER.iou_head_hidden_dim,
        "pixel_mean": [123.675, 116.28, 103.53],
        "pixel_std": [58.395, 57.12, 57.375],
    }


def _zero(module: torch.nn.Module) -> None:
    for parameter in module.parameters():
        parameter.zero_()


def build_region_model(seed: int = 0):
    """The hand-set :class:`~samlabel.sam.sam_model.SamModel` (eval mode)."""
    torch.manual_seed(seed)
    model = build_sam(SamConfig(encoder=REGION_VIT, decoder=REGION_DECODER)).eval()
    with torch.no_grad():
        _set_encoder(model.image_encoder)
        _set_prompt_encoder(model.prompt_encoder)
        _set_decoder(model.mask_decoder)
    return model


def _set_encoder(encoder) -> None:
    encoder.pos_embed.zero_()
    for block in encoder.blocks:
        _zero(block.attn.proj)
        _zero(block.mlp.lin2)
    proj = encoder.patch_embed.proj
    _zero(proj)
    for c in range(3):
        proj.weight[c, c] = 1.0 / 256  # mean of the normalised channel over the patch
    neck_in, norm_a, neck_mid, norm_b = encoder.neck
    neck_in.weight.zero_()
    code = torch.tensor([[1.0, -1.0, 0.0], [0.5, 0.5, -1.0]])  # (a, b) from (R, G, B)
    neck_in.weight[0:2, 0:3, 0, 0] = code
    neck_in.weight[2:4, 0:3, 0, 0] = -code
    neck_mid.weight.zero_()
    for c in range(4):
        neck_mid.weight[c, c, 1, 1] = 1.0
    for norm in (norm_a, norm_b):
        norm.weight.zero_()
        norm.weight[:4] = 1.0
        norm.bias.zero_()


def _set_prompt_encoder(prompt_encoder) -> None:
    gaussian = prompt_encoder.pe_layer.positional_encoding_gaussian_matrix
    gaussian.zero_()
    # Frequencies spread in angle and radius: a sharp peak where point and pixel coincide.
    for i, j in enumerate(LOCAL):
        angle = math.pi * i / len(LOCAL) * 3.0
        radius = 1.0 + 2.0 * (i % 4) / 3
        gaussian[0, j] = radius * math.cos(angle)
        gaussian[1, j] = radius * math.sin(angle)
    for table in prompt_encoder.point_embeddings:
        table.weight.zero_()
    prompt_encoder.point_embeddings[1].weight[0, 4] = 30.0  # marks the include point's token
    prompt_encoder.not_a_point_embed.weight.zero_()
    prompt_encoder.no_mask_embed.weight.zero_()


def _set_decoder(decoder) -> None:
    transformer = decoder.transformer
    for layer in transformer.layers:
        _zero(layer.self_attn.out_proj)
        _zero(layer.cross_attn_token_to_image.out_proj)
        _zero(layer.cross_attn_image_to_token.out_proj)
        _zero(layer.mlp.lin2)
    _zero(transformer.final_attn_token_to_image.out_proj)
    _zero(transformer.layers[0].self_attn)

    # Layer 0, token -> image: the point's token looks near the point, takes the hue code.
    gather = transformer.layers[0].cross_attn_token_to_image
    _zero(gather)
    gain = 0.5 * math.sqrt(gather.internal_dim)
    for i, j in enumerate(LOCAL):
        for channel, dim in ((j, i), (j + DIM // 2, i + len(LOCAL))):
            gather.q_proj.weight[dim, channel] = gain
            gather.k_proj.weight[dim, channel] = 1.0
    for c in range(4):
        gather.v_proj.weight[c, c] = 1.0
        gather.out_proj.weight[10 + c, c] = 1.0

    # Layer 1, self-attention: mask and IoU tokens copy the point's code (channels 10..13).
    copy = transformer.layers[1].self_attn
    _zero(copy)
    copy.q_proj.weight[0, 5] = 1.0
    copy.k_proj.weight[0, 4] = 1.0
    for c in range(4):
        copy.v_proj.weight[c, 10 + c] = 1.0
        copy.out_proj.weight[20 + c, c] = 1.0
    decoder.iou_token.weight.zero_()
    decoder.iou_token.weight[0, 5] = 10.0
    decoder.mask_tokens.weight.zero_()
    decoder.mask_tokens.weight[:, 5] = 10.0

    # Upscaling passes the code through (kept positive for GELU), plus a constant channel.
    up1, norm, _, up2, _ = decoder.output_upscaling
    _zero(up1)
    for c in range(4):
        up1.weight[c, c] = 1.0
    up1.bias[4], up1.bias[5] = 1.0, -1.0
    norm.bias.zero_()
    norm.bias[:5] = 10.0
    _zero(up2)
    for c in range(5):
        up2.weight[c, c] = 1.0

    # Hypernetworks: logits = k * (cos - c_j); 22.3 = 64 / (sqrt(2) * sqrt(66 / 16)).
    scale = 0.3
    constant = 1.0 / math.sqrt(66 / 16) + 10.0
    for j, mlp in enumerate(decoder.output_hypernetworks_mlps):
        first, second, last = mlp.layers
        _zero(mlp)
        for c in range(4):
            first.weight[c, 20 + c] = 1.0
            first.bias[c] = 50.0
            second.weight[c, c] = 1.0
            last.weight[c, c] = scale
            last.bias[c] = -50.0 * scale
        last.bias[4] = -scale * 22.3 * THRESHOLDS[j] / constant


#: Hue angles (degrees) of the twelve shapes and, last, the background in :func:`shapes_image`.
HUES = tuple(27 * i for i in range(13))


def _colour(hue_degrees: float) -> np.ndarray:
    """An RGB uint8 colour whose code ``(R - G, (R + G) / 2 - B)`` has the given angle."""
    angle = math.radians(hue_degrees)
    a, b = math.cos(angle), math.sin(angle)
    # Solve R - G = a, (R + G) / 2 - B = b with R + G + B = 0, then shift to mid-grey.
    blue = -2 * b / 3
    r = (a + 2 * b / 3) / 2
    rgb = np.array([r, r - a, blue])
    return np.clip(128 + 90 * rgb / (np.abs(rgb).max() or 1.0), 0, 255).astype(np.uint8)


def shapes_image(height: int = 240, width: int = 320, seed: int = 0) -> np.ndarray:
    """``(H, W, 3)`` uint8: a background and twelve flat rectangles and discs of distinct hues."""
    rng = np.random.default_rng(seed)
    image = np.empty((height, width, 3), np.uint8)
    image[:] = _colour(HUES[-1])
    yy, xx = np.mgrid[:height, :width]
    cells = [(row, col) for row in range(3) for col in range(4)]
    cell_h, cell_w = height // 3, width // 4
    for index, (row, col) in enumerate(cells):
        top, left = row * cell_h, col * cell_w
        cy = top + cell_h / 2 + rng.uniform(-4, 4)
        cx = left + cell_w / 2 + rng.uniform(-4, 4)
        size = rng.uniform(0.28, 0.38) * min(cell_h, cell_w)
        if index % 2:
            inside = (yy - cy) ** 2 + (xx - cx) ** 2 <= size**2
        else:
            inside = (np.abs(yy - cy) <= size) & (np.abs(xx - cx) <= size * 1.2)
        image[inside] = _colour(HUES[index])
    return image
