"""MobileSAM's TinyViT encoder: official key names, parity with the reference, config
read from the weights, ONNX export."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
from PIL import Image

from samlabel.inference.transforms import preprocess
from samlabel.sam.tiny_vit import Conv2dBN, TinyViT, TinyViTConfig, infer_tiny_vit_config

PREFIX = "image_encoder."

# A small architecture that still exercises every path: windows that need padding (stage 1:
# 16 -> 20 tokens a side, stage 2: 8 -> 9), a window equal to the grid (stage 3), the stride-1
# merge into the last stage, odd ratios, a 5x5 local conv and a non-default classifier head.
SMALL = TinyViTConfig(
    img_size=128,
    embed_dims=(16, 32, 48, 64),
    depths=(1, 2, 3, 1),
    num_heads=(1, 2, 3, 4),
    window_sizes=(7, 5, 3, 8),
    mlp_ratio=3.0,
    mbconv_expand_ratio=2.0,
    local_conv_size=5,
    out_chans=32,
    num_classes=10,
)


def randomize(model: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Random values in every parameter and BatchNorm statistic, so no term can hide
    behind an identity initialisation (zero attention biases, unit running variance)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if not tensor.is_floating_point():
                continue
            if name.endswith("running_var"):
                tensor.copy_(torch.rand(tensor.shape, generator=gen) + 0.5)
            else:
                tensor.copy_(torch.randn(tensor.shape, generator=gen) * 0.2)
    return model.eval()


def encoder_weights(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k[len(PREFIX) :]: v for k, v in state.items() if k.startswith(PREFIX)}


@pytest.fixture(scope="module")
def mobile_sam_state(fixtures_dir) -> dict[str, torch.Tensor]:
    path = fixtures_dir / "mobile_sam_random" / "checkpoint.pth"
    return torch.load(path, weights_only=True, map_location="cpu")


@pytest.fixture(scope="module")
def mobile_sam_encoder(mobile_sam_state) -> TinyViT:
    model = TinyViT.from_config(infer_tiny_vit_config(mobile_sam_state))
    model.load_state_dict(encoder_weights(mobile_sam_state), strict=True)
    return model.eval()


def test_default_config_has_the_official_names_and_shapes(mobile_sam_state):
    ours = {k: tuple(v.shape) for k, v in TinyViT(TinyViTConfig()).state_dict().items()}
    official = {k: tuple(v.shape) for k, v in encoder_weights(mobile_sam_state).items()}
    assert ours == official
    assert "head.weight" in ours and "norm_head.weight" in ours  # the unused classifier


def test_fixture_weights_load_strictly(mobile_sam_encoder, mobile_sam_state):
    loaded = mobile_sam_encoder.state_dict()
    for name, value in encoder_weights(mobile_sam_state).items():
        assert torch.equal(loaded[name], value), name
    # The derived, unsaved index buffer: offset (|dy|, |dx|) -> |dy| * window + |dx|.
    idxs = mobile_sam_encoder.layers[2].blocks[0].attn.attention_bias_idxs
    assert idxs.shape == (196, 196)
    assert idxs[0, 14 * 3 + 5].item() == 3 * 14 + 5
    assert idxs[14 * 3 + 5, 0].item() == 3 * 14 + 5
    assert idxs[14 * 2 + 9, 14 * 5 + 1].item() == 3 * 14 + 8


def test_fixture_embedding_matches_reference(mobile_sam_encoder, fixtures_dir):
    folder = fixtures_dir / "mobile_sam_random"
    image = np.asarray(Image.open(folder / "image.png").convert("RGB"))
    tensor, _ = preprocess(image)
    with torch.inference_mode():
        embedding = mobile_sam_encoder(torch.from_numpy(tensor)).numpy()
    reference = np.load(folder / "expected.npz")["image_embedding"]
    assert embedding.shape == (1, 256, 64, 64) and embedding.dtype == np.float32
    error = float(np.abs(embedding - reference).max() / np.abs(reference).max())
    print(f"TinyViT embedding: max abs diff / max abs reference = {error:.2e}")
    assert error < 0.05


def test_config_is_read_from_the_fixture_weights(mobile_sam_state, fixtures_dir):
    expected = json.loads((fixtures_dir / "mobile_sam_random" / "config.json").read_text())
    cfg = infer_tiny_vit_config(mobile_sam_state)
    assert cfg.embed_dims == tuple(expected["embed_dims"])
    assert cfg.depths == tuple(expected["depths"])
    assert cfg.num_heads == tuple(expected["num_heads"])
    assert cfg.window_sizes == tuple(expected["window_sizes"])
    assert cfg.mlp_ratio == expected["mlp_ratio"]
    assert cfg.mbconv_expand_ratio == expected["mbconv_expand_ratio"]
    assert cfg.local_conv_size == expected["local_conv_size"]
    assert cfg.img_size == expected["image_size"]
    assert cfg.out_chans == expected["prompt_embed_dim"]
    assert cfg == TinyViTConfig()  # MobileSAM's vit_t is the default


def test_small_config_round_trips_through_a_saved_state_dict(tmp_path):
    model = randomize(TinyViT.from_config(SMALL), seed=1)
    path = tmp_path / "tiny.pth"
    torch.save({PREFIX + k: v for k, v in model.state_dict().items()}, path)
    state = torch.load(path, weights_only=True)

    cfg = infer_tiny_vit_config(state, img_size=SMALL.img_size)
    # Stage 0 is convolutional: its head count and window do not exist in the weights.
    assert cfg.num_heads[1:] == SMALL.num_heads[1:]
    assert cfg.window_sizes[1:] == SMALL.window_sizes[1:]
    stage0 = {"num_heads": SMALL.num_heads, "window_sizes": SMALL.window_sizes}
    assert dataclasses.replace(cfg, **stage0) == SMALL

    rebuilt = TinyViT.from_config(cfg)
    rebuilt.load_state_dict(encoder_weights(state), strict=True)
    x = torch.randn(2, 3, 128, 128, generator=torch.Generator().manual_seed(2))
    with torch.inference_mode():
        out = model(x)
        assert out.shape == (2, 32, 8, 8)
        torch.testing.assert_close(rebuilt.eval()(x), out, rtol=0, atol=0)
        # Windows must never mix images of a batch.
        torch.testing.assert_close(model(x[1:]), out[1:], rtol=1e-4, atol=1e-5)


def test_wrong_input_size_is_refused_with_the_expected_shape():
    model = TinyViT(SMALL).eval()
    with pytest.raises(ValueError, match=r"\(B, 3, 128, 128\).*\(1, 3, 120, 128\)"):
        model(torch.zeros(1, 3, 120, 128))


def test_inference_folds_batchnorm_like_the_unfused_layers():
    layer = randomize(Conv2dBN(8, 12, kernel_size=3, stride=2, padding=1), seed=3)
    x = torch.randn(2, 8, 9, 9)
    with torch.no_grad():
        unfused = torch.nn.Sequential.forward(layer, x)
        torch.testing.assert_close(layer(x), unfused, rtol=1e-5, atol=1e-5)


def test_not_tiny_vit_weights_are_refused_with_a_clear_message():
    vit = {
        "image_encoder.patch_embed.proj.weight": torch.zeros(96, 3, 16, 16),
        "image_encoder.blocks.0.attn.qkv.weight": torch.zeros(288, 96),
    }
    with pytest.raises(ValueError, match="do not look like a TinyViT"):
        infer_tiny_vit_config(vit)

    state = TinyViT(SMALL).state_dict()
    del state["patch_embed.seq.2.c.weight"]
    with pytest.raises(ValueError, match=r"missing 'patch_embed\.seq\.2\.c\.weight'"):
        infer_tiny_vit_config(state, prefix="")

    state = TinyViT(SMALL).state_dict()
    state["layers.2.blocks.1.attn.attention_biases"] = torch.zeros(3, 16)
    with pytest.raises(ValueError, match=r"layers\.2\.blocks\.1\.attn\.attention_biases"):
        infer_tiny_vit_config(state, prefix="")


@pytest.mark.slow
# torch.export's own deprecation noise (pytree), which we do not control.
@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_onnx_export_reproduces_torch(tmp_path):
    # The small architecture has every path of the full one (padded and exact windows, the
    # stride-1 merge) at a fraction of the export time; the full size exports the same way.
    ort = pytest.importorskip("onnxruntime")
    model = randomize(TinyViT(SMALL), seed=4)
    x = torch.randn(1, 3, 128, 128, generator=torch.Generator().manual_seed(5))
    path = tmp_path / "tiny_vit.onnx"
    from samlabel.inference.onnx_convert import convert_to_onnx  # the product's export path

    convert_to_onnx(model, (x,), path, ["image"], ["embedding"], points_axis=None)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (onnx_out,) = session.run(None, {"image": x.numpy()})
    with torch.inference_mode():
        torch_out = model(x).numpy()
    assert onnx_out.shape == (1, 32, 8, 8)
    error = float(np.abs(onnx_out - torch_out).max() / np.abs(torch_out).max())
    assert error < 1e-3
