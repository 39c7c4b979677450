"""``samlabel predict`` when the cache folder cannot be written: it works and says so."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from tests.inference.tiny_models import write_tiny_checkpoint

REPO = Path(__file__).resolve().parents[2]


def test_predict_with_a_cache_folder_that_is_a_file(tmp_path):
    checkpoint = write_tiny_checkpoint(tmp_path / "tiny.pth", seed=12)
    image = tmp_path / "photo.png"
    Image.fromarray(np.full((24, 32, 3), 90, np.uint8)).save(image)
    blocker = tmp_path / "cache"
    blocker.write_text("not a folder")
    out = tmp_path / "m.npz"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "samlabel",
            "predict",
            "--model",
            str(checkpoint),
            "--image",
            str(image),
            "--point",
            "10,10,1",
            "--backend",
            "onnxruntime",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), "SAMLABEL_CACHE_DIR": str(blocker)},
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    told = [line for line in run.stderr.splitlines() if "cannot be written" in line]
    assert len(told) == 1 and str(blocker / "onnx") in told[0] and "SAMLABEL_CACHE_DIR" in told[0]
    with np.load(out) as saved:
        assert saved["masks"].shape == (3, 24, 32)
    assert blocker.read_text() == "not a folder"
