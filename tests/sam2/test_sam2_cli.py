"""``samlabel predict`` with a SAM 2.1 checkpoint, unchanged: Meta's masks come out."""

from __future__ import annotations

import numpy as np
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
