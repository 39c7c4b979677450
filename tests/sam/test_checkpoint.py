"""Checkpoint loading: architecture read from the weights, and clear errors for bad files."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from samlabel.core.errors import CheckpointError
from samlabel.sam.build import VIT_CONFIGS, DecoderConfig, SamConfig, build_sam
from samlabel.sam.checkpoint import infer_sam_config, load_sam_model
from samlabel.sam.image_encoder import ViTConfig


@pytest.fixture(scope="module")
def vit_checkpoint(fixtures_dir) -> Path:
    return fixtures_dir / "sam_vit_random" / "checkpoint.pth"


@pytest.fixture(scope="module")
def vit_state(vit_checkpoint) -> dict[str, torch.Tensor]:
    return torch.load(vit_checkpoint, map_location="cpu", weights_only=True)


def test_fixture_architecture_is_read_from_the_weights(vit_checkpoint):
    model, info = load_sam_model(vit_checkpoint)
    assert info.name == "SAM ViT (custom: embed 96, depth 3)"
    assert info.encoder_kind == "vit"
    assert info.config.encoder == ViTConfig(
        embed_dim=96, depth=3, num_heads=3, global_attn_indexes=(1,), window_size=14
    )
    assert info.config.decoder == DecoderConfig()
    assert info.sha256 == hashlib.sha256(vit_checkpoint.read_bytes()).hexdigest()
    assert not model.training


def test_mobile_sam_is_recognised(fixtures_dir):
    pytest.importorskip("samlabel.sam.tiny_vit", reason="TinyViT encoder not written yet")
    _, info = load_sam_model(fixtures_dir / "mobile_sam_random" / "checkpoint.pth")
    assert info.name == "MobileSAM"
    assert info.encoder_kind == "tiny_vit"


@pytest.mark.parametrize("name", sorted(VIT_CONFIGS))
def test_official_vit_sizes_are_named(name):
    # Built on the meta device: names and shapes only, no memory for ViT-H.
    with torch.device("meta"):
        state = build_sam(SamConfig(encoder=VIT_CONFIGS[name])).state_dict()
    assert "image_encoder.blocks.0.attn.rel_pos_h" in state
    assert "mask_decoder.transformer.layers.0.cross_attn_token_to_image.q_proj.weight" in state
    cfg = infer_sam_config(state)
    assert cfg.encoder == VIT_CONFIGS[name]
    from samlabel.sam.checkpoint import _model_name

    assert _model_name(cfg) == name


def test_custom_vit_round_trip(tmp_path):
    cfg = SamConfig(encoder=ViTConfig(64, 4, 2, (1, 3), 7))
    torch.manual_seed(0)
    model = build_sam(cfg)
    with torch.no_grad():  # rel-pos tables start at zero; make them count
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    path = tmp_path / "custom.pth"
    torch.save(model.state_dict(), path)
    loaded, info = load_sam_model(path)
    assert info.config == cfg
    assert info.name == "SAM ViT (custom: embed 64, depth 4)"
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key


def test_wrapped_and_prefixed_checkpoints_load(tmp_path, vit_state):
    wrapped = tmp_path / "wrapped.pth"
    torch.save({"model": {f"module.{k}": v for k, v in vit_state.items()}, "epoch": 3}, wrapped)
    _, info = load_sam_model(wrapped)
    assert info.config.encoder.embed_dim == 96


def test_safetensors_loads(tmp_path, vit_state):
    from safetensors.torch import save_file

    path = tmp_path / "model.safetensors"
    save_file({k: v.contiguous() for k, v in vit_state.items()}, str(path))
    _, info = load_sam_model(path)
    assert info.config.encoder.depth == 3


def _error_for(path: Path) -> str:
    with pytest.raises(CheckpointError) as caught:
        load_sam_model(path)
    message = str(caught.value)
    assert str(path) in message
    assert "Traceback" not in message
    return message


def test_missing_file(tmp_path):
    assert "does not exist" in _error_for(tmp_path / "nope.pth")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.pth"
    path.write_bytes(b"")
    assert "empty" in _error_for(path)


def test_truncated_file(tmp_path, vit_checkpoint):
    path = tmp_path / "truncated.pth"
    data = vit_checkpoint.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert "truncated" in _error_for(path)


def test_random_bytes(tmp_path):
    path = tmp_path / "noise.pth"
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    assert "not a PyTorch weights file" in _error_for(path)


def test_state_dict_of_another_network(tmp_path):
    path = tmp_path / "other.pth"
    torch.save(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)).state_dict(), path)
    message = _error_for(path)
    assert "not a SAM checkpoint" in message
    assert "missing" in message and "0.weight" in message
    assert "4 are not SAM's" in message


def test_missing_decoder_weights_are_listed(tmp_path, vit_state):
    path = tmp_path / "partial.pth"
    partial = {k: v for k, v in vit_state.items() if not k.startswith("mask_decoder.iou_")}
    torch.save(partial, path)
    message = _error_for(path)
    assert "missing" in message and "mask_decoder.iou_" in message


def test_shape_mismatch(tmp_path, vit_state):
    path = tmp_path / "mismatch.pth"
    bad = dict(vit_state)
    bad["mask_decoder.iou_token.weight"] = torch.zeros(1, 128)
    torch.save(bad, path)
    message = _error_for(path)
    assert "wrong shape" in message and "mask_decoder.iou_token.weight" in message


class _Payload:
    """Pickles to a call that would create a marker file when unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch '{self.marker}'",))


class _OpenPayload(_Payload):
    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.mark.parametrize("payload", [_Payload, _OpenPayload])
def test_pickle_with_code_is_refused_and_never_runs(tmp_path, payload):
    marker = tmp_path / "marker"
    path = tmp_path / "evil.pth"
    torch.save({"image_encoder.pos_embed": torch.zeros(1), "x": payload(marker)}, path)
    message = _error_for(path)
    assert "refused for safety" in message
    assert not marker.exists()


def test_folder_is_not_a_weights_file(tmp_path):
    folder = tmp_path / "model.pth"
    folder.mkdir()
    assert "folder" in _error_for(folder)


def test_copy_with_other_suffix_loads(tmp_path, vit_checkpoint):
    copy = tmp_path / "sam.pt"
    shutil.copyfile(vit_checkpoint, copy)
    _, info = load_sam_model(copy)
    assert info.encoder_kind == "vit"


@pytest.mark.parametrize(
    ("version", "expected"),
    [("2.13.0+cpu", (2, 13)), ("2.9.1+cu121", (2, 9)), ("2.10.0a0+git123", (2, 10)), ("x", (0, 0))],
)
def test_torch_version_parsing_for_the_minimum_check(version, expected):
    from samlabel.sam.checkpoint import _MIN_TORCH, _version_tuple

    assert _version_tuple(version) == expected
    assert (_version_tuple(version) >= _MIN_TORCH) == (expected >= (2, 10))
