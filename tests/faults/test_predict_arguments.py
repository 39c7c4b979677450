"""``samlabel predict`` with bad prompts, output paths and images.

Mistakes that can be seen without the model are refused before it is loaded: the test's
private cache folder stays without any converted model, no output file appears, and the
user reads one line naming the value or file.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from samlabel.cli import main
from tests.inference.tiny_models import write_tiny_checkpoint

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    # Its own weights: other tests count the exports of the default tiny model.
    return write_tiny_checkpoint(tmp_path_factory.mktemp("model") / "tiny.pth", seed=11)


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """A private, empty cache: a converted model appearing in it means the model was loaded."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("SAMLABEL_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def image(tmp_path) -> Path:
    path = tmp_path / "photo.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (30, 40, 3), dtype=np.uint8)).save(path)
    return path


def _predict(checkpoint: Path, image: Path, out: Path, *prompts: str) -> list[str]:
    return [
        "predict",
        "--model",
        str(checkpoint),
        "--image",
        str(image),
        "--backend",
        "onnxruntime",
        "--out",
        str(out),
        *prompts,
    ]


def _nothing_loaded(cache: Path) -> bool:
    return not (cache / "onnx").exists() or not any((cache / "onnx").glob("*/encoder.onnx"))


@pytest.mark.parametrize(
    ("prompt", "told"),
    [
        (["--box", "nan,1,20,20"], "must be finite"),
        (["--box", "1,1,inf,20"], "must be finite"),
        (["--point", "nan,3,1"], "must be finite"),
        (["--point", "4,-inf,0"], "must be finite"),
        (["--box", "30,20,2,2"], "X0 < X1"),
    ],
)
def test_bad_prompt_values_are_refused_before_the_model_loads(
    checkpoint, image, tmp_path, cache, capsys, prompt, told
):
    out = tmp_path / "m.npz"
    with pytest.raises(SystemExit) as exited:
        main(_predict(checkpoint, image, out, *prompt))
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert told in err and prompt[1] in err and "Traceback" not in err
    assert not out.exists() and _nothing_loaded(cache)


def test_upper_case_npz_is_written_under_the_given_name(checkpoint, image, tmp_path):
    out = tmp_path / "masks.NPZ"
    assert main(_predict(checkpoint, image, out, "--point", "10,10,1")) == 0
    assert out.is_file() and not (tmp_path / "masks.NPZ.npz").exists()
    with np.load(out) as saved:
        assert saved["masks"].shape == (3, 30, 40)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_output_folder_under_a_file_is_refused_first(checkpoint, image, tmp_path, cache, capsys):
    blocker = tmp_path / "results"
    blocker.write_text("my notes")
    out = blocker / "masks.npz"
    assert main(_predict(checkpoint, image, out, "--point", "10,10,1")) == 2
    err = capsys.readouterr().err
    assert str(out) in err and "is a file, not a folder" in err
    assert blocker.read_text() == "my notes" and _nothing_loaded(cache)


def test_output_that_is_a_folder_is_refused_first(checkpoint, image, tmp_path, cache, capsys):
    folder = tmp_path / "masks.png"
    folder.mkdir()
    assert main(_predict(checkpoint, image, folder, "--point", "10,10,1")) == 2
    assert "is a folder" in capsys.readouterr().err
    assert folder.is_dir() and list(folder.iterdir()) == [] and _nothing_loaded(cache)


@pytest.mark.skipif(sys.platform != "linux", reason="mounts a Linux tmpfs")
def test_output_on_a_read_only_mount_is_refused_first(checkpoint, image, tmp_path, cache, capsys):
    mountpoint = tmp_path / "ro"
    mountpoint.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k,ro", "tmpfs", str(mountpoint)],
        capture_output=True,
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        out = mountpoint / "masks.npz"
        assert main(_predict(checkpoint, image, out, "--point", "10,10,1")) == 2
        err = capsys.readouterr().err
        assert str(out) in err and "does not accept new files" in err
        assert _nothing_loaded(cache)
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=True)


def test_prompts_outside_the_image_warn_and_still_give_masks(checkpoint, image, tmp_path, capsys):
    out = tmp_path / "m.npz"
    code = main(_predict(checkpoint, image, out, "--point", "70,10,1", "--box", "50,40,70,55"))
    assert code == 0
    err = capsys.readouterr().err
    assert "point 70,10 lies outside the 40 x 30 image" in err
    assert "box 50,40,70,55 lies outside" in err
    with np.load(out) as saved:
        assert saved["masks"].shape == (3, 30, 40)


def test_an_existing_output_is_replaced_whole(checkpoint, image, tmp_path):
    out = tmp_path / "best.png"
    out.write_bytes(b"old")
    assert main(_predict(checkpoint, image, out, "--point", "10,10,1")) == 0
    assert np.asarray(Image.open(out)).shape == (30, 40)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp left


def test_too_elongated_image_is_named_with_its_size_without_a_traceback(
    checkpoint, tmp_path, cache
):
    wide = tmp_path / "strip.png"
    Image.fromarray(np.zeros((10, 100_000), np.uint8)).save(wide)
    out = tmp_path / "m.npz"
    run = subprocess.run(
        [sys.executable, "-m", "samlabel", *_predict(checkpoint, wide, out, "--point", "5,5,1")],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**_env(), "SAMLABEL_CACHE_DIR": str(cache)},
        timeout=300,
    )
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, run.stderr
    assert str(wide) in lines[0] and "100000 x 10" in lines[0] and "2048:1" in lines[0]
    assert not out.exists() and _nothing_loaded(cache)


@pytest.mark.parametrize("side", [1, 2])
def test_tiny_images_give_masks_of_their_size(checkpoint, tmp_path, side):
    path = tmp_path / f"dot{side}.png"
    Image.fromarray(np.full((side, side, 3), 200, np.uint8)).save(path)
    out = tmp_path / "m.npz"
    assert main(_predict(checkpoint, path, out, "--point", "0,0,1")) == 0
    with np.load(out) as saved:
        assert saved["masks"].shape == (3, side, side)
        assert np.isfinite(saved["scores"]).all()


def _env() -> dict[str, str]:
    import os

    return {**os.environ, "PYTHONPATH": str(REPO)}


@pytest.mark.parametrize(
    ("device", "told"), [("banana", "unknown torch device 'banana'"), ("cuda:7", "'cuda:7'")]
)
def test_a_torch_device_that_is_not_there_is_a_sentence(
    checkpoint, image, tmp_path, capsys, device, told
):
    out = tmp_path / "m.npz"
    argv = _predict(checkpoint, image, out, "--point", "3,3,1")
    argv[argv.index("onnxruntime")] = "torch"
    assert main([*argv, "--device", device]) == 2
    err = capsys.readouterr().err
    assert told in err and len(err.strip().splitlines()) == 1 and not out.exists()


@pytest.mark.parametrize(
    ("prompt", "told"),
    [
        (["--point", "1e300,3,1"], "point 1e+300,3 lies far outside the 40 x 30 image"),
        (["--box", "0,0,90,10"], "box 0,0,90,10 lies far outside"),
        (["--point", "5,-31,0"], "point 5,-31 lies far outside"),
    ],
)
def test_prompts_far_outside_are_refused_before_the_model_loads(
    checkpoint, image, tmp_path, cache, capsys, prompt, told
):
    out = tmp_path / "m.npz"
    assert main(_predict(checkpoint, image, out, *prompt)) == 2
    err = capsys.readouterr().err
    assert told in err and str(image) in err and len(err.strip().splitlines()) == 1
    assert not out.exists() and _nothing_loaded(cache)
