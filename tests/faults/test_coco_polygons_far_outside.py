"""Polygons with vertices absurdly far outside their image (a tester's 1e300, a script's bug).

pycocotools rasterises them in C: 1e300 crashed the whole process (SIGSEGV) and 1e7 cost
hundreds of MB. Opening such a file runs in a child process here, so a crash is a failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils

from samlabel.core.masks import Rle
from samlabel.io.coco import load_coco

REPO_ROOT = Path(__file__).resolve().parents[2]
FAR = [[0, 0, 1e300, 0, 1e300, 1e300], [0, 0, 2**70, 0, 2**70, 2**70], [0, 0, 1e7, 0, 1e7, 1e7]]


def _file(tmp_path: Path, polygons: list[list[float]]) -> Path:
    path = tmp_path / "annotations.json"
    data = {
        "images": [{"id": 1, "file_name": "a.png", "width": 10, "height": 10}],
        "categories": [{"id": 1, "name": "c"}],
        "annotations": [
            {"id": n, "image_id": 1, "category_id": 1, "segmentation": [polygon]}
            for n, polygon in enumerate(polygons, start=1)
        ],
    }
    path.write_text(json.dumps(data))
    return path


def test_far_vertices_neither_crash_nor_blow_up_and_keep_the_pixels_inside(tmp_path):
    path = _file(tmp_path, FAR)
    before = path.read_bytes()
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    out = tmp_path / "rle.json"
    command = [sys.executable, "-m", "samlabel", "export", str(path), "--format", "coco"]
    child = subprocess.run(
        [*command, "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == 0, (child.returncode, child.stderr[-2000:])
    assert "exported 3 annotations" in child.stdout
    assert path.read_bytes() == before
    # The triangle's part inside the image: every pixel whose centre is on or under y = x.
    (rle,) = mask_utils.frPyObjects([[0, 0, 5000, 0, 5000, 5000]], 10, 10)
    reference = Rle((10, 10), bytes(rle["counts"])).decode()
    assert reference.sum() == 45
    for annotation in load_coco(out).document.annotations:
        np.testing.assert_array_equal(annotation.rle.decode(), reference)
