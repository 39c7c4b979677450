"""The converted-model (ONNX) cache when its files are damaged, or its folder cannot be written.

Each case goes through ``load_predictor`` and checks that the model still works (the damaged
export rebuilt, or made in a temporary folder), that the user's checkpoint is untouched, and
that the user was told (a progress message the window and the command line show, and the
log).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from samlabel.core.errors import CheckpointError
from samlabel.inference import export_cache_guard as guard
from samlabel.inference import load_predictor, onnx_export
from tests.inference.tiny_models import write_tiny_checkpoint

IMAGE = np.random.default_rng(5).integers(0, 255, (36, 52, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    return write_tiny_checkpoint(tmp_path_factory.mktemp("model") / "tiny.pth", seed=4)


@pytest.fixture(scope="module")
def pristine(checkpoint, tmp_path_factory) -> Path:
    """A cache holding one intact export of ``checkpoint`` (exporting costs seconds)."""
    root = tmp_path_factory.mktemp("pristine-cache")
    previous = os.environ.get("SAMLABEL_CACHE_DIR", "")
    try:
        _load(checkpoint, root, [])
    finally:
        os.environ["SAMLABEL_CACHE_DIR"] = previous
    return root


@pytest.fixture(scope="module")
def reference(checkpoint, pristine):
    """Masks of the intact export."""
    predictor = load_predictor(_export_folder(pristine), backend="onnxruntime")
    return predictor.decode(predictor.encode(IMAGE), points=[(20, 12, 1)])


@pytest.fixture
def cache(tmp_path, pristine) -> Path:
    """A copy of the pristine cache, for this test to damage."""
    root = tmp_path / "cache"
    shutil.copytree(pristine, root)
    return root


@pytest.fixture
def exports(monkeypatch) -> list[Path]:
    """The checkpoints exported during the test (each costs seconds)."""
    calls: list[Path] = []
    real = onnx_export.export_checkpoint

    def counting(checkpoint, out_dir, digest, report):
        calls.append(checkpoint)
        return real(checkpoint, out_dir, digest, report)

    monkeypatch.setattr(onnx_export, "export_checkpoint", counting)
    return calls


def _load(checkpoint: Path, root: Path, messages: list[str]):
    """``load_predictor`` on ONNX Runtime with its cache in ``root``."""
    os.environ["SAMLABEL_CACHE_DIR"] = str(root)
    return load_predictor(
        checkpoint, backend="onnxruntime", progress=lambda m, f: messages.append(m)
    )


@pytest.fixture
def cache_env(monkeypatch):
    """Restore SAMLABEL_CACHE_DIR after :func:`_load` set it."""
    monkeypatch.setenv("SAMLABEL_CACHE_DIR", os.environ.get("SAMLABEL_CACHE_DIR", ""))


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _same_masks(predictor, reference) -> None:
    prediction = predictor.decode(predictor.encode(IMAGE), points=[(20, 12, 1)])
    np.testing.assert_array_equal(prediction.masks, reference.masks)
    np.testing.assert_allclose(prediction.scores, reference.scores, atol=1e-5)


def _export_folder(root: Path) -> Path:
    (folder,) = [p for p in (root / "onnx").iterdir() if p.is_dir() and not p.name.startswith(".")]
    return folder


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _flip_a_byte_keeping_size_and_time(path: Path) -> None:
    stat = path.stat()
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


@pytest.mark.parametrize(
    ("damage", "told"),
    [
        (lambda folder: _truncate(folder / "encoder.onnx"), "encoder.onnx is"),
        (
            lambda folder: _flip_a_byte_keeping_size_and_time(folder / "decoder.onnx"),
            "decoder.onnx does not match the checksum",
        ),
    ],
    ids=["truncated-encoder", "same-size-bit-flip"],
)
def test_damaged_export_is_rebuilt_with_a_notice(
    cache, checkpoint, reference, exports, cache_env, monkeypatch, caplog, damage, told
):
    root = cache
    folder = _export_folder(root)
    damage(folder)
    monkeypatch.setattr(guard, "_verified", set())  # as in a new process: hash again
    before = _digest(checkpoint)
    messages: list[str] = []
    with caplog.at_level(logging.INFO, logger="samlabel"):
        predictor = _load(checkpoint, root, messages)
    assert len(exports) == 1  # rebuilt, once
    notices = [m for m in messages if "damaged" in m]
    assert len(notices) == 1 and told in notices[0] and str(folder) in notices[0]
    assert any(told in r.getMessage() for r in caplog.records)  # and the log file keeps it
    _same_masks(predictor, reference)
    assert guard.find_damage(folder) is None and _digest(checkpoint) == before
    _load(checkpoint, root, [])
    assert len(exports) == 1  # and then used again, not rebuilt every time


@pytest.mark.parametrize(
    ("damage", "told"),
    [
        (lambda folder: _truncate(folder / "decoder_prompt.onnx"), "decoder_prompt.onnx is"),
        (lambda folder: (folder / "decoder_image.onnx").unlink(), "decoder_image.onnx is missing"),
        (lambda folder: (folder / guard.RECORD_NAME).write_text("{"), guard.RECORD_NAME),
        (
            lambda folder: (folder / guard.RECORD_NAME).write_text('{"files": {}}'),
            "lists no files",
        ),
    ],
    ids=["truncated-split-decoder", "missing-split-decoder", "broken-record", "empty-record"],
)
def test_other_damage_is_found(cache, monkeypatch, damage, told):
    folder = _export_folder(cache)
    assert guard.find_damage(folder) is None
    damage(folder)
    monkeypatch.setattr(guard, "_verified", set())
    found = guard.find_damage(folder)
    assert found is not None and told in found


def test_intact_export_is_hashed_once_per_process(
    cache, checkpoint, exports, cache_env, monkeypatch
):
    monkeypatch.setattr(guard, "_verified", set())  # as in a new process
    hashed: list[Path] = []
    real = guard._sha256
    monkeypatch.setattr(guard, "_sha256", lambda path: hashed.append(path) or real(path))
    _load(checkpoint, cache, [])
    assert {p.name for p in hashed} >= {"encoder.onnx", "decoder.onnx"}
    hashed.clear()
    _load(checkpoint, cache, [])
    assert hashed == [] and exports == []


def test_export_from_before_the_record_is_checked_and_recorded(
    cache, checkpoint, reference, exports, cache_env
):
    folder = _export_folder(cache)
    (folder / guard.RECORD_NAME).unlink()
    _same_masks(_load(checkpoint, cache, []), reference)
    assert exports == [] and (folder / guard.RECORD_NAME).is_file()
    # Such an older folder with a truncated file is found damaged, by parsing.
    (folder / guard.RECORD_NAME).unlink()
    _truncate(folder / "encoder.onnx")
    assert "encoder.onnx does not parse" in (guard.find_damage(folder) or "")


def test_user_onnx_folder_without_its_decoder_is_named(cache, tmp_path):
    folder = tmp_path / "my-model"
    shutil.copytree(_export_folder(cache), folder)
    (folder / "decoder.onnx").unlink()
    with pytest.raises(CheckpointError, match="has no decoder model file") as caught:
        load_predictor(folder, backend="onnxruntime")
    assert str(folder) in str(caught.value)
    assert (folder / "encoder.onnx").is_file()  # a user's folder is never "repaired"


def _unwritable_cache_works_and_says_so(root: Path, checkpoint, reference, caplog) -> None:
    before = _digest(checkpoint)
    messages: list[str] = []
    with caplog.at_level(logging.INFO, logger="samlabel"):
        first = _load(checkpoint, root, messages)
        second = _load(checkpoint, root, [])
    _same_masks(first, reference)
    _same_masks(second, reference)
    told = [m for m in messages if "cannot be written" in m]
    assert len(told) == 1 and str(root / "onnx") in told[0] and "temporary folder" in told[0]
    warnings = [r.getMessage() for r in caplog.records if "cannot be written" in r.getMessage()]
    assert len(warnings) <= 1  # said once per session, whoever converted first
    assert _digest(checkpoint) == before


def test_cache_folder_that_is_a_file(tmp_path, checkpoint, reference, cache_env, caplog):
    blocker = tmp_path / "cache"
    blocker.write_text("a note")
    _unwritable_cache_works_and_says_so(blocker, checkpoint, reference, caplog)
    assert blocker.read_text() == "a note"


@pytest.mark.skipif(sys.platform != "linux", reason="mounts a Linux tmpfs")
def test_read_only_cache_mount(tmp_path, checkpoint, reference, cache_env, caplog):
    mountpoint = tmp_path / "ro"
    mountpoint.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k,ro", "tmpfs", str(mountpoint)],
        capture_output=True,
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        _unwritable_cache_works_and_says_so(mountpoint, checkpoint, reference, caplog)
        assert list(mountpoint.iterdir()) == []
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=True)


def test_damaged_digest_index_is_hashed_again(cache, checkpoint, reference, exports, cache_env):
    index = cache / "onnx" / "digests.json"
    entries = json.loads(index.read_text())
    index.write_text(json.dumps({key: "../../outside" for key in entries}))
    folder = _export_folder(cache)
    _same_masks(_load(checkpoint, cache, []), reference)
    assert exports == [] and _export_folder(cache) == folder
    assert not (cache.parent / "outside").exists()
    assert set(json.loads(index.read_text()).values()) == {folder.name}
