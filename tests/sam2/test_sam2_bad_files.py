"""Bad SAM 2 files are refused with one sentence naming the file, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from samlabel.core.errors import CheckpointError
from samlabel.inference.loader import load_predictor
from samlabel.sam.sam2_checkpoint import load_sam2_model
from tests.inference.tiny_models import write_tiny_checkpoint


@pytest.fixture(scope="module")
def meta_state(tiny_meta) -> dict[str, torch.Tensor]:
    return torch.load(tiny_meta[1], weights_only=True)["model"]


def _one_sentence(error: pytest.ExceptionInfo, path: Path) -> str:
    message = str(error.value)
    assert str(path) in message
    assert "Traceback" not in message and "\n" not in message
    assert message.endswith(".")
    return message


def _write(state: dict, path: Path) -> Path:
    torch.save({"model": state}, path)
    return path


def test_an_official_style_file_loads_and_keeps_only_the_image_part(tiny_meta):
    model, info = load_sam2_model(tiny_meta[1])
    assert info.name == "SAM 2.1 Hiera-T"
    assert not any(k.startswith(("memory_", "obj_ptr")) for k in model.state_dict())


def test_a_sam2_0_file_is_named_as_such(meta_state, tmp_path):
    state = {k: v for k, v in meta_state.items() if k not in ("no_obj_embed_spatial",)}
    state = {k: v for k, v in state.items() if not k.startswith("obj_ptr_tpos_proj.")}
    _, info = load_sam2_model(_write(state, tmp_path / "sam2_hiera_tiny.pt"))
    assert info.name == "SAM 2 Hiera-T"


@pytest.mark.parametrize("backend", ["torch", "onnxruntime"])
def test_truncated(tiny_meta, tmp_path, backend):
    path = tmp_path / "sam2.1_hiera_tiny.pt"
    data = tiny_meta[1].read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError) as error:
        load_predictor(path, backend=backend)
    assert "truncated" in _one_sentence(error, path)


def test_a_trunk_of_no_published_size(meta_state, tmp_path):
    # Drop the last block: stages 1-2-7-1 exist in no SAM 2 release.
    state = {k: v for k, v in meta_state.items() if ".trunk.blocks.11." not in k}
    path = _write(state, tmp_path / "odd.pt")
    with pytest.raises(CheckpointError) as error:
        load_predictor(path, backend="torch")
    message = _one_sentence(error, path)
    assert "no published size" in message and "1-2-7-1" in message


def test_a_missing_image_weight_is_named(meta_state, tmp_path):
    state = {k: v for k, v in meta_state.items() if k != "sam_mask_decoder.conv_s0.weight"}
    path = _write(state, tmp_path / "missing.pt")
    with pytest.raises(CheckpointError) as error:
        load_sam2_model(path)
    assert "sam_mask_decoder.conv_s0.weight" in _one_sentence(error, path)


def test_an_unknown_extra_module_is_refused(meta_state, tmp_path):
    state = dict(meta_state, **{"adapter.weight": torch.zeros(3)})
    path = _write(state, tmp_path / "extra.pt")
    with pytest.raises(CheckpointError) as error:
        load_sam2_model(path)
    assert "adapter.weight" in _one_sentence(error, path)


def test_a_wrong_shape_is_refused(meta_state, tmp_path):
    state = dict(meta_state, no_mem_embed=torch.zeros(1, 1, 128))
    path = _write(state, tmp_path / "shape.pt")
    with pytest.raises(CheckpointError) as error:
        load_sam2_model(path)
    assert "no_mem_embed" in _one_sentence(error, path)


def test_sam1_weights_given_as_sam2(tmp_path):
    path = write_tiny_checkpoint(tmp_path / "sam_vit_tiny.pth")
    with pytest.raises(CheckpointError) as error:
        load_sam2_model(path)
    assert "not a SAM 2 checkpoint" in _one_sentence(error, path)
    # ... while the general entry point opens it as what it is.
    assert load_predictor(path, backend="torch").model_name.startswith("SAM ViT")
