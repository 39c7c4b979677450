"""Hostile and unusual checkpoint files, opened through ``load_predictor``.

Each case checks that the user's file is left as it was and that the user gets one sentence
naming the file (a ``CheckpointError``), or, for wrapped fine-tuning checkpoints that do hold
all the weights, that the model loads and says what was unwrapped.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from samlabel.core.errors import CheckpointError
from samlabel.inference import load_predictor
from tests.inference.tiny_models import write_tiny_checkpoint

IMAGE = np.random.default_rng(3).integers(0, 255, (40, 56, 3), dtype=np.uint8)
POINTS = [(20.0, 15.0, 1)]


@pytest.fixture(scope="module")
def plain(tmp_path_factory) -> Path:
    return write_tiny_checkpoint(tmp_path_factory.mktemp("plain") / "tiny.pth", seed=13)


@pytest.fixture(scope="module")
def state(plain) -> dict[str, torch.Tensor]:
    return torch.load(plain, map_location="cpu", weights_only=True)


@pytest.fixture(scope="module")
def reference(plain):
    predictor = load_predictor(plain, backend="torch", device="cpu")
    return predictor.decode(predictor.encode(IMAGE), points=POINTS)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _refused(path: Path, *fragments: str) -> str:
    """Load ``path``; assert a one-sentence CheckpointError naming it and the file untouched."""
    before = _digest(path) if os.path.isfile(path) else None  # never raises
    with pytest.raises(CheckpointError) as caught:
        load_predictor(path, backend="torch", device="cpu")
    message = str(caught.value)
    assert str(path) in message or path.name in message
    assert "\n" not in message and "Traceback" not in message
    for fragment in fragments:
        assert fragment in message, message
    if before is not None:
        assert _digest(path) == before  # nothing of the user's changed
    return message


def test_nan_weights_are_refused(tmp_path, state):
    broken = {k: v.clone() for k, v in state.items()}
    broken["mask_decoder.iou_token.weight"][0, 0] = float("nan")
    torch.save(broken, tmp_path / "diverged.pth")
    _refused(tmp_path / "diverged.pth", "NaN or infinite", "1 weight (mask_decoder.iou_token")


def test_infinite_weights_are_refused(tmp_path, state):
    broken = {k: v.clone() for k, v in state.items()}
    broken["image_encoder.pos_embed"].view(-1)[5] = float("-inf")
    torch.save(broken, tmp_path / "inf.pth")
    _refused(tmp_path / "inf.pth", "NaN or infinite")


def test_meta_tensors_are_refused(tmp_path, state):
    empty = {k: torch.empty(v.shape, device="meta") for k, v in state.items()}
    torch.save(empty, tmp_path / "m.pt")
    _refused(tmp_path / "m.pt", "without data", "meta")


def test_integer_weights_are_refused(tmp_path, state):
    torch.save({k: v.to(torch.int8) for k, v in state.items()}, tmp_path / "q.pth")
    _refused(tmp_path / "q.pth", "int8", "floating-point")


@pytest.mark.parametrize(
    ("wrap", "told"),
    [
        (lambda s: {"module." + k: v for k, v in s.items()}, "'module.'"),
        (lambda s: {"_orig_mod." + k: v for k, v in s.items()}, "'_orig_mod.'"),
        (
            lambda s: {"state_dict": {"model." + k: v for k, v in s.items()}, "epoch": 3},
            "'model.'",
        ),
        (
            lambda s: {"model": {"module._orig_mod." + k: v for k, v in s.items()}},
            "'module.' then '_orig_mod.'",
        ),
        (lambda s: {"state_dict": dict(s), "optimizer_states": [], "epoch": 7}, "'state_dict'"),
    ],
    ids=["ddp", "compiled", "lightning", "nested", "state_dict"],
)
def test_wrapped_fine_tuning_checkpoints_load_and_say_what_was_removed(
    tmp_path, state, reference, wrap, told, caplog
):
    path = tmp_path / "finetuned.ckpt"
    torch.save(wrap(state), path)
    before = _digest(path)
    shown: list[str] = []
    with caplog.at_level(logging.INFO, logger="samlabel"):
        predictor = load_predictor(
            path, backend="torch", device="cpu", progress=lambda m, f: shown.append(m)
        )
    prediction = predictor.decode(predictor.encode(IMAGE), points=POINTS)
    np.testing.assert_array_equal(prediction.masks, reference.masks)
    assert np.isfinite(prediction.scores).all()
    assert any(told in r.getMessage() and path.name in r.getMessage() for r in caplog.records)
    assert any(told in m and path.name in m for m in shown)  # for the window to show
    assert _digest(path) == before


def test_wrapper_notice_reaches_the_progress_of_a_first_conversion(tmp_path, state):
    path = tmp_path / "lightning.ckpt"
    torch.save({"state_dict": {"model." + k: v for k, v in state.items()}}, path)
    messages: list[str] = []
    predictor = load_predictor(
        path, backend="onnxruntime", progress=lambda message, fraction: messages.append(message)
    )
    assert any("removed the prefix 'model.'" in m and "lightning.ckpt" in m for m in messages)
    assert np.isfinite(predictor.decode(predictor.encode(IMAGE), points=POINTS).scores).all()


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_weights_load(tmp_path, state, dtype):
    path = tmp_path / "half.pth"
    torch.save({k: v.to(dtype) for k, v in state.items()}, path)
    predictor = load_predictor(path, backend="torch", device="cpu")
    prediction = predictor.decode(predictor.encode(IMAGE), points=POINTS)
    assert prediction.masks.shape == (3, 40, 56)
    assert np.isfinite(prediction.scores).all()


def test_a_zip_that_is_not_a_torch_file(tmp_path):
    path = tmp_path / "weights.pth"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "not weights")
    message = _refused(path, "zip archive")
    assert "enforce fail" not in message


def test_a_checkpoint_that_is_a_folder(tmp_path):
    (tmp_path / "model.pth").mkdir()
    _refused(tmp_path / "model.pth")


def test_a_truncated_checkpoint(tmp_path, plain):
    path = tmp_path / "partial.pth"
    path.write_bytes(plain.read_bytes()[: plain.stat().st_size // 3])
    _refused(path, "truncated or damaged")


def test_lightning_module_with_other_parts_keeps_the_network(tmp_path, state, reference, caplog):
    path = tmp_path / "epoch=3.ckpt"
    wrapped = {"model." + k: v for k, v in state.items()}
    wrapped["loss.class_weights"] = torch.ones(2)
    torch.save({"state_dict": wrapped, "epoch": 3}, path)
    with caplog.at_level(logging.INFO, logger="samlabel"):
        predictor = load_predictor(path, backend="torch", device="cpu")
    prediction = predictor.decode(predictor.encode(IMAGE), points=POINTS)
    np.testing.assert_array_equal(prediction.masks, reference.masks)
    told = " ".join(r.getMessage() for r in caplog.records)
    assert "ignored 1 entries outside the network (loss.class_weights)" in told


def test_safetensors_with_nan_is_refused_and_prefixed_one_loads(tmp_path, state, reference):
    from safetensors.torch import save_file

    broken = {k: v.clone().contiguous() for k, v in state.items()}
    broken["mask_decoder.iou_token.weight"][0, 1] = float("inf")
    save_file(broken, str(tmp_path / "bad.safetensors"))
    _refused(tmp_path / "bad.safetensors", "NaN or infinite")
    save_file(
        {"module." + k: v.contiguous() for k, v in state.items()}, str(tmp_path / "ok.safetensors")
    )
    predictor = load_predictor(tmp_path / "ok.safetensors", backend="torch", device="cpu")
    prediction = predictor.decode(predictor.encode(IMAGE), points=POINTS)
    np.testing.assert_array_equal(prediction.masks, reference.masks)


def test_a_pipe_or_device_is_not_read_as_a_checkpoint(tmp_path):
    pipe = tmp_path / "model.pth"
    os.mkfifo(pipe)
    _refused(pipe, "pipe, socket or device")  # never blocks waiting for a writer
    _refused(Path("/dev/null"), "pipe, socket or device")


def test_a_name_too_long_is_a_sentence(tmp_path):
    _refused(tmp_path / ("x" * 300 + ".pth"), "too long")


@pytest.mark.skipif(sys.platform != "linux", reason="mounts a Linux tmpfs")
def test_checkpoint_on_a_read_only_mount_loads(tmp_path, plain, reference):
    mountpoint = tmp_path / "ro"
    mountpoint.mkdir()
    if subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mountpoint)]
    ).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        shutil.copy(plain, mountpoint / "tiny.pth")
        subprocess.run(["mount", "-o", "remount,ro", str(mountpoint)], check=True)
        predictor = load_predictor(mountpoint / "tiny.pth", backend="torch", device="cpu")
        prediction = predictor.decode(predictor.encode(IMAGE), points=POINTS)
        np.testing.assert_array_equal(prediction.masks, reference.masks)
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=True)
