"""Thin torch modules with the exact inputs and outputs of the exported ONNX graphs.

They hold no weights of their own: each wraps a :class:`~samlabel.sam.sam_model.SamModel`.
Point coordinates are pixels in the 1024 frame; labels 1/0 include/exclude, 2/3 box corners,
-1 padding (see :mod:`samlabel.sam.prompt_encoder`).
"""

from __future__ import annotations

import torch
from torch import nn

from samlabel.sam.sam_model import SamModel


class EncoderForExport(nn.Module):
    """image ``(1, 3, 1024, 1024)`` normalised and padded -> ``(1, 256, 64, 64)``."""

    def __init__(self, model: SamModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.model.image_encoder(image)


class FullDecoder(nn.Module):
    """Whole decoder for one prompt set: returns ``(iou_predictions (1, 4), low_res_masks
    (1, 4, 256, 256))``.

    The same network as :meth:`SamModel.decode`, computed in the cheaper order of
    :func:`_reordered_transformer` (the attentions project the few prompt tokens instead of
    the 4096 image tokens). Batch 1 only: one click, as the window decodes it.
    """

    def __init__(self, model: SamModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, image_embeddings, point_coords, point_labels, mask_input, has_mask_input):
        prompt_encoder, decoder = self.model.prompt_encoder, self.model.mask_decoder
        sparse, dense = prompt_encoder(point_coords, point_labels, mask_input, has_mask_input)
        tokens = torch.cat([decoder.output_tokens(1), sparse], dim=1)
        src = image_embeddings + dense
        keys = src.flatten(2).permute(0, 2, 1)
        key_pe = prompt_encoder.get_dense_pe().flatten(2).permute(0, 2, 1)
        queries, keys = _reordered_transformer(decoder.transformer, tokens, keys, key_pe)
        masks, iou = heads_channels_last(decoder, queries, keys, tuple(src.shape[-2:]))
        return iou, masks


def heads_channels_last(
    decoder, hs: torch.Tensor, src_tokens: torch.Tensor, grid_hw: tuple[int, int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """:meth:`MaskDecoder.predict_from_tokens`, computed on the image tokens as they are.

    The reference turns ``src_tokens (B, H*W, C)`` into an image ``(B, C, H, W)`` for two
    transposed convolutions and a channel LayerNorm, which ONNX Runtime runs as a transpose,
    two ConvTranspose and nine elementwise passes. A 2x2 stride-2 transposed convolution is
    one matrix product per pixel (``C -> 2*2*C'``), and the LayerNorm is per pixel, so here
    both stay in token order (pixel, then channel): two MatMuls and a fused LayerNorm, 1 ms
    less per click on 2 cores. The sub-pixels are put in place once, on the four masks.

    Returns ``(masks (B, num_mask_tokens, 4H, 4W), iou_pred (B, num_mask_tokens))``, equal
    to the reference's up to float32 rounding.
    """
    conv1, norm, act1, conv2, act2 = decoder.output_upscaling
    b = src_tokens.shape[0]
    h, w = grid_hw
    mid, out = conv1.out_channels, conv2.out_channels
    # weight (C_in, C_out, 2, 2) -> (C_in, (dy, dx, C_out)): sub-pixel (dy, dx), then channel.
    w1 = conv1.weight.permute(0, 2, 3, 1).reshape(conv1.in_channels, 4 * mid)
    x = (src_tokens @ w1).reshape(b, h * w * 4, mid) + conv1.bias
    x = act1(nn.functional.layer_norm(x, (mid,), norm.weight, norm.bias, norm.eps))
    w2 = conv2.weight.permute(0, 2, 3, 1).reshape(mid, 4 * out)
    x = act2((x @ w2).reshape(b, h * w * 16, out) + conv2.bias)
    count = decoder.num_mask_tokens
    tokens_out = hs[:, 1 : 1 + count, :]
    hyper_in = torch.stack(
        [mlp(tokens_out[:, i, :]) for i, mlp in enumerate(decoder.output_hypernetworks_mlps)],
        dim=1,
    )  # (B, count, C')
    masks = x @ hyper_in.transpose(1, 2)  # (B, (y, x, dy1, dx1, dy2, dx2), count)
    # Sub-pixels into place: row 4y + 2*dy1 + dy2, likewise columns. As channels per pixel
    # (a 2-D transpose), reordered so that each pixel shuffle takes the innermost 2x2, then
    # two DepthToSpace: 0.2 ms less per click than one 8-D transpose in ONNX Runtime.
    masks = masks.reshape(b, h * w, 16 * count).transpose(1, 2)
    masks = masks[:, _shuffle_order(count)].reshape(b, 16 * count, h, w)
    masks = nn.functional.pixel_shuffle(nn.functional.pixel_shuffle(masks, 2), 2)
    return masks, decoder.iou_prediction_head(hs[:, 0, :])


def _shuffle_order(count: int) -> torch.Tensor:
    """Channel order for two pixel shuffles of ``(dy1, dx1, dy2, dx2, mask)`` channels.

    ``pixel_shuffle`` reads channel ``c * 4 + (dy * 2 + dx)``: the first one places
    ``(dy1, dx1)``, the second ``(dy2, dx2)``, so the order is (mask, dy2, dx2, dy1, dx1).
    """
    order = [
        dy1 * 8 * count + dx1 * 4 * count + dy2 * 2 * count + dx2 * count + mask
        for mask in range(count)
        for dy2 in range(2)
        for dx2 in range(2)
        for dy1 in range(2)
        for dx1 in range(2)
    ]
    return torch.tensor(order)


def _image_tokens_without_mask(model: SamModel, image_embeddings: torch.Tensor):
    """Flattened ``(1, 4096, 256)`` image tokens plus no-mask embedding, and their pe."""
    return image_tokens_without_mask(model.prompt_encoder, image_embeddings)


def image_tokens_without_mask(prompt_encoder, image_embeddings: torch.Tensor):
    """``(image_embeddings + no_mask_embed (1, C, 64, 64), dense pe (1, C, 64, 64))``: the
    decoder's image side when no mask is given (SAM 1 and SAM 2 alike)."""
    no_mask = prompt_encoder.no_mask_embed.weight.reshape(1, -1, 1, 1)
    return image_embeddings + no_mask, prompt_encoder.get_dense_pe()


def layer0_image_kv(prompt_encoder, transformer, image_embeddings: torch.Tensor):
    """The first two-way layer's projected image keys and values without a mask input, each
    ``(1, heads, 4096, head_dim)``: prompt-independent, so computed once per image."""
    return image_side_without_mask(prompt_encoder, transformer, image_embeddings)[:2]


def model_layer0_kv(model: SamModel, image_embeddings: torch.Tensor):
    """:func:`layer0_image_kv` of ``model``: what the batch decoder takes of the image."""
    return layer0_image_kv(model.prompt_encoder, model.mask_decoder.transformer, image_embeddings)


def image_side_without_mask(prompt_encoder, transformer, image_embeddings: torch.Tensor):
    """Everything of the decoder that depends on the image alone (no mask input):
    ``(layer0_keys, layer0_values)`` as :func:`layer0_image_kv`, then the image tokens
    ``(1, 4096, C)`` (embedding plus no-mask embedding, pixel by pixel) and the same plus
    their positional encoding, which the first layer's image-to-token attention reads."""
    src, pe = image_tokens_without_mask(prompt_encoder, image_embeddings)
    keys = src.flatten(2).permute(0, 2, 1)
    key_pe = pe.flatten(2).permute(0, 2, 1)
    layer0_keys, layer0_values = transformer.layers[0].image_kv(keys, key_pe)
    return layer0_keys, layer0_values, keys, keys + key_pe


class DecoderImageSide(nn.Module):
    """Per-image work of the decoder without mask input (:func:`image_side_without_mask`):
    ``(layer0_keys, layer0_values (1, heads, 4096, head_dim), image_tokens,
    image_tokens_pe (1, 4096, C))``."""

    def __init__(self, model: SamModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, image_embeddings: torch.Tensor):
        model = self.model
        return image_side_without_mask(
            model.prompt_encoder, model.mask_decoder.transformer, image_embeddings
        )


class DecoderPromptSide(nn.Module):
    """Per-click work of the decoder (no mask input) given :class:`DecoderImageSide`'s four
    outputs, for one prompt set, in the cheaper order of :func:`_reordered_transformer`.

    Returns ``(iou_predictions (1, 4), low_res_masks (1, 4, 256, 256))``.
    """

    def __init__(self, model: SamModel) -> None:
        super().__init__()
        self.model = model

    def forward(
        self, image_tokens, image_tokens_pe, layer0_keys, layer0_values, point_coords, point_labels
    ):
        decoder = self.model.mask_decoder
        prompt_encoder = self.model.prompt_encoder
        sparse = prompt_encoder.embed_points(point_coords, point_labels)
        tokens = torch.cat([decoder.output_tokens(1), sparse], dim=1)
        pe = prompt_encoder.get_dense_pe()
        key_pe = pe.flatten(2).permute(0, 2, 1)
        queries, keys = _reordered_transformer(
            decoder.transformer,
            tokens,
            image_tokens,
            key_pe,
            (layer0_keys, layer0_values),
            layer0_keys_pe=image_tokens_pe,
        )
        masks, iou = heads_channels_last(decoder, queries, keys, tuple(pe.shape[-2:]))
        return iou, masks


def example_decoder_inputs(num_points: int = 3, seed: int = 0):
    """Random decoder inputs for tracing and checking: embedding, coords, labels, mask, has_mask."""
    generator = torch.Generator().manual_seed(seed)
    embedding = torch.randn(1, 256, 64, 64, generator=generator)
    coords = torch.rand(1, num_points, 2, generator=generator) * 1024
    labels = torch.tensor([[1.0, 0.0, 2.0, 3.0, -1.0][i % 5] for i in range(num_points)])[None]
    mask = torch.randn(1, 1, 256, 256, generator=generator)
    has_mask = torch.ones(1)
    return embedding, coords, labels, mask, has_mask


class DecoderWithUpsampling(nn.Module):
    """The naive decoder, as Meta's ONNX export builds it: masks upsampled to the original
    image size inside the graph. Used only to measure what keeping upsampling out saves.

    Extra input ``orig_im_size`` ``(2,)`` float ``(H, W)``; outputs ``(iou (1, 4),
    masks (1, 4, H, W) logits)``.
    """

    def __init__(self, model: SamModel) -> None:
        super().__init__()
        self.model = model

    def forward(
        self, image_embeddings, point_coords, point_labels, mask_input, has_mask_input, orig_im_size
    ):
        low_res, iou = self.model.decode(
            image_embeddings, point_coords, point_labels, mask_input, has_mask_input
        )
        masks = nn.functional.interpolate(
            low_res, size=(1024, 1024), mode="bilinear", align_corners=False
        )
        scale = 1024.0 / orig_im_size.max()
        resized = (orig_im_size * scale + 0.5).floor().to(torch.int64)
        masks = masks[..., : resized[0], : resized[1]]
        size = orig_im_size.to(torch.int64)
        masks = nn.functional.interpolate(
            masks, size=(size[0], size[1]), mode="bilinear", align_corners=False
        )
        return iou, masks


def _token_to_image(attn, queries: torch.Tensor, keys_pe: torch.Tensor, keys: torch.Tensor):
    """``attn(queries, keys_pe, keys)`` without projecting the ``HW`` image tokens.

    Same value as :class:`~samlabel.sam.transformer.Attention` (up to rounding): the key and
    value projections are moved onto the few queries, (q W_k) . x = q . (W_k x), and the
    attention weights sum to one, so projecting the weighted mean of the values equals the
    weighted mean of the projected values. Heads are folded into the query axis so that each
    product is one batched matrix product. Shapes: queries ``(B, N, C)``, keys_pe and keys
    ``(B, HW, C)``; returns ``(B, N, C)``.
    """
    heads = attn.num_heads
    q = attn.q_proj(queries)
    b, n, internal = q.shape
    d = internal // heads
    channels = keys.shape[-1]
    q = q.reshape(b, n, heads, d).transpose(1, 2)  # (B, h, N, d)
    # The softmax's 1/sqrt(d) goes onto the few queries, not the (hN, HW) scores.
    q = q * d**-0.5
    w_k = attn.k_proj.weight.reshape(heads, d, channels)
    b_k = attn.k_proj.bias.reshape(1, heads, 1, d)
    q_in = (q @ w_k).reshape(b, heads * n, channels)  # queries in the image-token space
    bias = (q * b_k).sum(-1).reshape(b, heads * n, 1)
    scores = torch.bmm(q_in, keys_pe.transpose(1, 2)) + bias  # (B, hN, HW)
    mean = torch.bmm(scores.softmax(dim=-1), keys)  # (B, hN, C)
    w_v = attn.v_proj.weight.reshape(heads, d, channels)
    mean = mean.reshape(b, heads, n, channels)
    out = mean @ w_v.transpose(1, 2) + attn.v_proj.bias.reshape(1, heads, 1, d)  # (B, h, N, d)
    return attn.out_proj(out.transpose(1, 2).reshape(b, n, internal))


def _image_to_token(attn, image_pe: torch.Tensor, tokens_pe: torch.Tensor, tokens: torch.Tensor):
    """``attn(image_pe, tokens_pe, tokens)`` (image tokens query the prompt tokens) without
    projecting the ``HW`` image tokens: the query and output projections move onto the tokens.

    Shapes: image_pe ``(B, HW, C)``, tokens_pe and tokens ``(B, N, C)``; returns ``(B, HW, C)``.
    """
    heads = attn.num_heads
    k = attn.k_proj(tokens_pe)
    b, n, internal = k.shape
    d = internal // heads
    channels = image_pe.shape[-1]
    # The softmax's 1/sqrt(d) goes onto the few keys, not the (HW, hN) scores.
    k = k.reshape(b, n, heads, d).transpose(1, 2) * d**-0.5  # (B, h, N, d)
    v = attn.v_proj(tokens).reshape(b, n, heads, d).transpose(1, 2)
    w_q = attn.q_proj.weight.reshape(heads, d, channels)
    b_q = attn.q_proj.bias.reshape(1, heads, 1, d)
    k_in = (k @ w_q).reshape(b, heads * n, channels)  # keys in the image-token space
    bias = (k * b_q).sum(-1).reshape(b, 1, heads * n)
    scores = torch.bmm(image_pe, k_in.transpose(1, 2)) + bias  # (B, HW, hN)
    hw = scores.shape[1]
    weights = scores.reshape(b, hw, heads, n).softmax(dim=-1).reshape(b, hw, heads * n)
    w_o = attn.out_proj.weight.reshape(channels, heads, d).permute(1, 2, 0)  # (h, d, C)
    v_out = (v @ w_o).reshape(b, heads * n, channels)  # values already through out_proj
    return torch.bmm(weights, v_out) + attn.out_proj.bias  # heads summed by the product


class DecoderPromptBatch(nn.Module):
    """:class:`DecoderPromptSide` for ``B`` prompt sets at once (segment everything).

    Inputs: image_embeddings ``(1, C, 64, 64)``, layer0_keys / layer0_values from
    :class:`DecoderImageSide` (computed once per image and broadcast over the batch),
    point_coords ``(B, N, 2)`` in the 1024 frame, point_labels ``(B, N)``.
    Returns ``(iou_predictions (B, 4), low_res_masks (B, 4, 256, 256))``.

    The same network as the reference decoder, computed in another order where that is
    cheaper: after the first layer every prompt has its own 4096 image tokens, and the
    attentions between those and the few prompt tokens project the prompt tokens instead of
    the image tokens (see :func:`_token_to_image`, :func:`_image_to_token`).
    """

    def __init__(self, model: SamModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, image_embeddings, layer0_keys, layer0_values, point_coords, point_labels):
        decoder = self.model.mask_decoder
        transformer = decoder.transformer
        sparse = self.model.prompt_encoder.embed_points(point_coords, point_labels)
        # Output tokens repeated per prompt set; the image side stays at batch 1 and
        # broadcasts, so its first-layer projections are not repeated B times.
        output = decoder.output_tokens(1).expand(sparse.shape[0], -1, -1)
        tokens = torch.cat([output, sparse], dim=1)
        src, pe = _image_tokens_without_mask(self.model, image_embeddings)
        keys = src.flatten(2).permute(0, 2, 1)
        key_pe = pe.flatten(2).permute(0, 2, 1)
        queries, keys = _reordered_transformer(
            transformer, tokens, keys, key_pe, (layer0_keys, layer0_values), first_as_is=True
        )
        masks, iou = heads_channels_last(decoder, queries, keys, tuple(src.shape[-2:]))
        return iou, masks


def _reordered_layer(layer, queries, keys, tokens, key_pe, image_kv=None, keys_pe=None):
    """One two-way block, its image-token attentions in the order of :func:`_token_to_image`
    and :func:`_image_to_token`. Same inputs and value as ``layer(queries, keys, tokens,
    key_pe, image_kv)``; shapes queries/tokens ``(1, N, C)``, keys/key_pe ``(1, HW, C)``.
    ``keys_pe``: ``keys + key_pe`` where already computed (the first layer's, per image)."""
    queries = layer.self_attend(queries, tokens)
    q = queries + tokens
    if image_kv is not None:  # projected once per image (DecoderImageSide)
        attended = layer.cross_attn_token_to_image.attend(q, *image_kv)
    else:
        attended = _token_to_image(layer.cross_attn_token_to_image, q, keys + key_pe, keys)
    queries = layer.norm2(queries + attended)
    queries = layer.norm3(queries + layer.mlp(queries))
    q = queries + tokens
    if keys_pe is None:
        keys_pe = keys + key_pe
    attended = _image_to_token(layer.cross_attn_image_to_token, keys_pe, q, queries)
    return queries, layer.norm4(keys + attended)


def _reordered_transformer(
    transformer, tokens, keys, key_pe, layer0_kv=None, first_as_is=False, layer0_keys_pe=None
):
    """:class:`~samlabel.sam.transformer.TwoWayTransformer` on flattened image tokens.

    Args:
        tokens: ``(B, N, C)`` output tokens then prompt tokens.
        keys, key_pe: ``(1, HW, C)`` image tokens (plus dense prompt) and their encoding.
        layer0_kv: the first layer's projected image keys and values, or None.
        layer0_keys_pe: ``keys + key_pe``, computed once per image, or None.
        first_as_is: run the first layer as written (it broadcasts batch-1 image tokens over
            ``B`` prompt sets; the reordered products need equal batches).

    Returns:
        ``(queries (B, N, C), keys (B, HW, C))``, as the transformer returns them.
    """
    queries = tokens
    for i, layer in enumerate(transformer.layers):
        kv = layer0_kv if i == 0 else None
        if i == 0 and first_as_is:
            queries, keys = layer(queries, keys, tokens, key_pe, image_kv=kv)
        else:
            keys_pe = layer0_keys_pe if i == 0 else None
            queries, keys = _reordered_layer(layer, queries, keys, tokens, key_pe, kv, keys_pe)
    final = transformer.final_attn_token_to_image
    q = queries + tokens
    attended = _token_to_image(final, q, keys + key_pe, keys)
    return transformer.norm_final_attn(queries + attended), keys


def two_way_reordered(
    transformer,
    tokens: torch.Tensor,
    src: torch.Tensor,
    pe: torch.Tensor,
    layer0_kv: tuple[torch.Tensor, torch.Tensor] | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`_reordered_transformer` on the image side as a map (SAM 2's per-click graphs).

    Args:
        transformer: a :class:`~samlabel.sam.transformer.TwoWayTransformer`.
        tokens: ``(B, N, C)`` output tokens then prompt tokens.
        src, pe: ``(1 or B, C, 64, 64)`` image side (embedding plus dense prompt) and its
            positional encoding ``(1, C, 64, 64)``; broadcast to the ``B`` prompt sets, which
            the reordered products need.
        layer0_kv: the first layer's keys and values from :func:`layer0_image_kv` (only
            without a mask input), or None.

    Returns:
        ``(tokens (B, N, C), image tokens (B, 4096, C))``, as ``transformer`` returns them.
    """
    batch = tokens.shape[0]
    keys = src.flatten(2).permute(0, 2, 1).expand(batch, -1, -1)
    key_pe = pe.flatten(2).permute(0, 2, 1).expand(batch, -1, -1)
    return _reordered_transformer(transformer, tokens, keys, key_pe, layer0_kv)
