"""Properties of the network pieces that the exporter and the backends rely on."""

from __future__ import annotations

import pytest
import torch

from samlabel.sam.build import DecoderConfig, SamConfig, build_sam
from samlabel.sam.image_encoder import ViTConfig, window_partition, window_unpartition


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    # A narrow decoder (64 channels) keeps these tests fast; the code paths are the same.
    decoder = DecoderConfig(prompt_embed_dim=64, mlp_dim=128, num_heads=4, iou_head_hidden_dim=64)
    m = build_sam(SamConfig(encoder=ViTConfig(32, 1, 2, (), 8, out_chans=64), decoder=decoder))
    with torch.no_grad():
        for p in m.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return m.eval()


def test_window_partition_round_trip_with_padding():
    x = torch.randn(2, 64, 64, 5)
    windows, padded = window_partition(x, 14)
    assert padded == (70, 70)
    assert windows.shape == (2 * 25, 14, 14, 5)
    assert torch.equal(window_unpartition(windows, 14, padded, (64, 64)), x)
    # Padding is zeros at the bottom/right: the last window row holds 64 - 56 = 8 real rows.
    assert torch.all(windows[-1, 8:, :, :] == 0)


def test_padding_point_ignores_its_position(model):
    pe = model.prompt_encoder
    labels = torch.tensor([[-1.0]])
    a = pe.embed_points(torch.tensor([[[0.0, 0.0]]]), labels)
    b = pe.embed_points(torch.tensor([[[500.0, 300.0]]]), labels)
    assert torch.equal(a, b)
    assert torch.allclose(a[0, 0], pe.not_a_point_embed.weight[0])


def test_box_corners_get_their_own_embeddings(model):
    pe = model.prompt_encoder
    coords = torch.tensor([[[100.0, 50.0], [100.0, 50.0]]])
    out = pe.embed_points(coords, torch.tensor([[2.0, 3.0]]))
    diff = out[0, 0] - out[0, 1]
    expected = pe.point_embeddings[2].weight[0] - pe.point_embeddings[3].weight[0]
    assert torch.allclose(diff, expected, atol=1e-6)


def _decode(model, mask, has_mask):
    feats = torch.randn(1, 64, 64, 64, generator=torch.Generator().manual_seed(3))
    coords = torch.tensor([[[300.0, 200.0], [0.0, 0.0]]])
    labels = torch.tensor([[1.0, -1.0]])
    with torch.inference_mode():
        return model.decode(feats, coords, labels, mask, torch.tensor([has_mask]))


def test_mask_input_is_ignored_without_has_mask_and_used_with_it(model):
    zeros = torch.zeros(1, 1, 256, 256)
    noise = torch.randn(1, 1, 256, 256) * 10
    masks_a, iou_a = _decode(model, zeros, 0.0)
    masks_b, iou_b = _decode(model, noise, 0.0)
    assert masks_a.shape == (1, 4, 256, 256) and iou_a.shape == (1, 4)
    assert torch.equal(masks_a, masks_b) and torch.equal(iou_a, iou_b)
    masks_c, _ = _decode(model, noise, 1.0)
    assert not torch.allclose(masks_a, masks_c)


def test_precomputed_image_kv_gives_the_same_tokens(model):
    transformer = model.mask_decoder.transformer
    g = torch.Generator().manual_seed(5)
    image = torch.randn(1, 64, 64, 64, generator=g)
    pe = model.prompt_encoder.get_dense_pe()
    tokens = torch.randn(1, 7, 64, generator=g)
    with torch.inference_mode():
        hs, keys = transformer(image, pe, tokens)
        kv = transformer.layers[0].image_kv(
            image.flatten(2).permute(0, 2, 1), pe.flatten(2).permute(0, 2, 1)
        )
        hs2, keys2 = transformer(image, pe, tokens, first_layer_image_kv=kv)
    assert torch.equal(hs, hs2) and torch.equal(keys, keys2)


def test_dense_positional_encoding_shape(model):
    pe = model.prompt_encoder.get_dense_pe()
    assert pe.shape == (1, 64, 64, 64)
    assert torch.all(pe.abs() <= 1.0)
