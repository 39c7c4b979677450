"""The README screenshots script still runs and draws what it promises."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "screenshots.py"


@pytest.mark.slow
def test_screenshot_script_draws_the_window_with_a_mask(qtbot, tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("screenshots", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--out", str(tmp_path)]) == 0
    with Image.open(tmp_path / "window.png") as image:
        window = np.asarray(image.convert("RGB"))
    assert window.shape[0] >= 800 and window.shape[1] >= 1400
    for name in ("candidates.png", "layers.png"):
        with Image.open(tmp_path / name) as image:
            assert image.size[0] > 200
    # The colour-region stand-in segments the scene's house: its prompts are on it.
    predictor = module.ColourRegionPredictor()
    scene = module.draw_scene()
    prediction = predictor.decode(predictor.encode(scene), points=[(620, 290, 1)])
    masks = prediction.masks
    assert masks[0][290, 620] and not masks[0][50, 50]
    assert masks[0].sum() <= masks[2].sum()
