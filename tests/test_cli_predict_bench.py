"""``samlabel predict`` and ``samlabel bench`` from the command line."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from samlabel.cli import main
from samlabel.inference import load_predictor
from tests.inference.tiny_models import TINY_VIT, write_tiny_checkpoint


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return write_tiny_checkpoint(tmp_path_factory.mktemp("model") / "tiny.pth")


@pytest.fixture
def image_path(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "photo.png"
    Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(path)
    return path


def test_predict_writes_the_masks_the_api_returns(checkpoint, image_path, tmp_path, capsys):
    out = tmp_path / "out" / "masks.npz"
    code = main(
        [
            "predict",
            "--model",
            str(checkpoint),
            "--image",
            str(image_path),
            "--point",
            "20,10,1",
            "--point",
            "40,30,0",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    saved = np.load(out)
    predictor = load_predictor(checkpoint)
    rgb = np.asarray(Image.open(image_path))
    expected = predictor.decode(predictor.encode(rgb), points=[(20, 10, 1), (40, 30, 0)])
    np.testing.assert_array_equal(saved["masks"], expected.masks)
    np.testing.assert_allclose(saved["scores"], expected.scores, atol=1e-5)
    assert "mask 3: score" in capsys.readouterr().out


def test_predict_png_is_the_best_mask(checkpoint, image_path, tmp_path):
    out = tmp_path / "best.png"
    assert (
        main(
            [
                "predict",
                "--model",
                str(checkpoint),
                "--image",
                str(image_path),
                "--box",
                "5,5,40,30",
                "--single",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    mask = np.asarray(Image.open(out))
    assert mask.shape == (48, 64) and set(np.unique(mask)) <= {0, 255}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "at least one --point or a --box"),
        (["--point", "1,1,7"], None),  # label must be 0 or 1: a usage error
    ],
)
def test_predict_usage_errors(checkpoint, image_path, tmp_path, capsys, extra, message):
    argv = [
        "predict",
        "--model",
        str(checkpoint),
        "--image",
        str(image_path),
        "--out",
        str(tmp_path / "m.npz"),
        *extra,
    ]
    if message is None:
        with pytest.raises(SystemExit):
            main(argv)
        return
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_predict_on_a_broken_image_names_the_file(checkpoint, tmp_path, capsys):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 truncated")
    code = main(
        [
            "predict",
            "--model",
            str(checkpoint),
            "--image",
            str(broken),
            "--point",
            "1,1,1",
            "--out",
            str(tmp_path / "m.npz"),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "broken.jpg" in err and "Traceback" not in err


def test_bench_prints_a_table_with_every_path(monkeypatch, capsys):
    """The benchmark code runs end to end (on a tiny model here; full size from the CLI),
    with Meta's paths beside ours: its tiny ViT has Meta's window size, so segment-anything
    can build it."""
    import torch

    from samlabel.inference import benchmark
    from samlabel.sam.build import SamConfig, build_sam
    from samlabel.sam.image_encoder import ViTConfig
    from tests.meta_reference import segment_anything

    segment_anything()  # skips when Meta's package is missing
    meta_sized = ViTConfig(
        embed_dim=32, depth=2, num_heads=2, global_attn_indexes=(1,), window_size=14
    )

    def tiny(name):
        torch.manual_seed(0)
        return build_sam(SamConfig(encoder=meta_sized)).eval(), f"tiny {name}"

    monkeypatch.setattr(benchmark, "_build_random_model", tiny)
    assert main(["bench", "--models", "vit_b", "--clicks", "3", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    for row in (
        "encode, torch",
        "encode, Meta's torch (SamPredictor.set_image)",
        "encode, ONNX Runtime",
        "x Meta's torch",
        "Meta: full-size masks in the graph (3)",
        "ours, mask on screen",
        "ours, mask on screen, refining click",
        "ours: decode + chosen full-size mask to RLE",
        "ours: decode + three full-size masks (exact)",
        "ours: decode only",
        "chosen mask only: Meta's postprocess_masks (torch)",
        "click 12 MP: Meta's graph vs ours, three full-size masks (p50)",
        "click 12 MP: Meta's graph vs ours, floor: decode only (p50)",
        "click 12 MP: Meta's graph vs ours, accept: chosen candidate to RLE (p50)",
        "int8 decoder vs fp32",
        "click 12 MP: speed-up on screen at p95",
    ):
        assert row in out, row
    same = [line for line in out.splitlines() if "vs Meta's postprocess_masks" in line]
    assert len(same) == 2 and all("identical pixels" in line for line in same)  # 1 and 12 MP
    assert "DIFFERENT" not in out


def test_bench_without_meta_says_so_and_quick_leaves_out_int8(monkeypatch, capsys):
    import torch

    from samlabel.inference import benchmark
    from samlabel.sam.build import SamConfig, build_sam

    def tiny(name):
        torch.manual_seed(0)
        return build_sam(SamConfig(encoder=TINY_VIT)).eval(), f"tiny {name}"

    monkeypatch.setattr(benchmark, "_build_random_model", tiny)
    assert main(["bench", "--quick", "--clicks", "2", "--precision", "none"]) == 0
    out = capsys.readouterr().out
    assert "Meta's paths" in out and "skipped: Meta's ViT has windows of 14, this one 8" in out
    assert "naive: full-size masks in the graph (3)" in out
    assert "int8" not in out
