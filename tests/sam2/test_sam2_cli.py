"""``samlabel predict`` with a SAM 2.1 checkpoint, unchanged: Meta's masks come out."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from samlabel.cli import main


def test_predict_with_a_sam2_checkpoint_gives_metas_masks(tiny_reference, tmp_path, capsys):
    image_path = tmp_path / "wide.png"
    Image.fromarray(tiny_reference.images["rgb_wide"]).save(image_path)
    case = next(c for c in tiny_reference.cases["rgb_wide"] if c.name == "box_points")
    args = ["predict", "--model", str(tiny_reference.checkpoint), "--image", str(image_path)]
    for x, y, label in case.points:
        args += ["--point", f"{x},{y},{label}"]
    args += ["--box", ",".join(str(v) for v in case.box)]
    out = tmp_path / "masks.npz"
    assert main([*args, "--backend", "onnxruntime", "--out", str(out)]) == 0
    masks, scores, _, _ = tiny_reference.results["rgb_wide"]["box_points"]
    saved = np.load(out)
    assert saved["masks"].shape == masks.shape == (3, 300, 420)
    assert (saved["masks"] == masks).mean() >= 0.999
    np.testing.assert_allclose(saved["scores"], scores, atol=1e-3)
    printed = capsys.readouterr()
    assert "SAM 2.1 Hiera-T" in printed.err
    assert "mask 3: score" in printed.out


@pytest.mark.slow  # exports and clicks at 12 MP: about a minute on a busy 2-core machine
def test_bench_times_sam2_rows_beside_sam1_in_one_run(monkeypatch, capsys):
    """``samlabel bench`` runs SAM 2.1 end to end: encode per backend, the export, and per
    click the new-object (split decoder) and refining (whole decoder) paths, on a narrow
    Hiera here (full size from the command line)."""
    import torch

    from samlabel.inference import sam2_bench
    from samlabel.sam.hiera import HieraConfig
    from samlabel.sam.sam2_model import Sam2Config, build_sam2

    def narrow(name):
        torch.manual_seed(0)
        config = Sam2Config("tiny", HieraConfig(8, 1, (1, 1, 1, 1), (), (8, 4, 14, 7), (7, 7)))
        return build_sam2(config).eval(), f"narrow {name}"

    monkeypatch.setattr(sam2_bench, "build_random_sam2", narrow)
    args = ["bench", "--models", "sam2.1_t", "--clicks", "2", "--repeats", "1"]
    assert main([*args, "--precision", "none", "--no-meta"]) == 0
    out = capsys.readouterr().out
    for label in ("1 MP", "12 MP"):
        for row in (
            "ONNX Runtime, mask on screen",
            "ONNX Runtime, mask on screen, refining click",
            "ONNX Runtime, full-size mask to save",
        ):
            line = next(line for line in out.splitlines() if f"click {label}: {row} " in line)
            assert "narrow sam2.1_t" in line and "p50" in line and "p95" in line
    for row in ("encode, torch", "encode, ONNX Runtime", "ONNX export (once per model)"):
        assert f"| {row}" in out, row
