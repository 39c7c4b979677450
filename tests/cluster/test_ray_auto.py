"""``samlabel auto --ray``: the same proposals as a local run, even with a worker killed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from PIL import Image

from samlabel.cli import main
from tests.cluster.ray_helpers import start_local_ray
from tests.inference.region_model import build_region_model, shapes_image

pytestmark = pytest.mark.slow
FAST = ["--backend", "torch", "--points-per-side", "4"]
EVERYTHING = ["--pred-iou-thresh", "0", "--stability-score-thresh", "0"]


@pytest.fixture(scope="module")
def ray_session(tmp_path_factory):
    crash_file = tmp_path_factory.mktemp("crash") / "armed"
    ray = start_local_ray(crash_file, crash_after=1)
    yield crash_file
    ray.shutdown()


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """The hand-set region model (tests/inference/region_model.py): real region masks."""
    path = tmp_path_factory.mktemp("model") / "region.pth"
    torch.save(build_region_model().state_dict(), path)
    return path


def _folder(root: Path, count: int) -> Path:
    folder = root / "photos"
    folder.mkdir(parents=True)
    for i in range(count):
        Image.fromarray(shapes_image(seed=i)).save(folder / f"img{i}.png")
    (folder / "broken.png").write_bytes(b"not an image")
    return folder


def _annotation_set(folder: Path) -> tuple[set, dict]:
    data = json.loads((folder / "annotations.json").read_text(encoding="utf-8"))
    names = {i["id"]: i["file_name"] for i in data["images"]}
    categories = {c["id"]: c["name"] for c in data["categories"]}
    masks = {
        (
            names[a["image_id"]],
            categories[a["category_id"]],
            a["segmentation"]["counts"],
            a["samlabel_reviewed"],
            round(a["samlabel_score"], 3),
        )
        for a in data["annotations"]
    }
    markers = {i["file_name"]: i.get("samlabel_auto") for i in data["images"]}
    return masks, markers


def test_ray_proposals_equal_a_local_run_with_a_worker_killed(
    ray_session, tmp_path, checkpoint, capsys
):
    local = _folder(tmp_path / "local", 2)
    remote = _folder(tmp_path / "remote", 2)
    args = ["--model", str(checkpoint), *FAST, *EVERYTHING, "--category", "shape"]
    assert main(["auto", str(local), *args]) == 0
    capsys.readouterr()
    ray_session.write_text("armed")  # the first encoder to finish an image dies
    ray_args = ["--ray", "local", "--workers", "1", "--batch-size", "1"]
    assert main(["auto", str(remote), *args, *ray_args]) == 0
    assert not ray_session.exists(), "the fault was not triggered"
    err = capsys.readouterr().err
    assert "done: 2 images pre-labelled" in err and "broken.png" in err

    local_masks, local_markers = _annotation_set(local)
    remote_masks, remote_markers = _annotation_set(remote)
    assert len(local_masks) >= 2
    assert remote_masks == local_masks  # same masks, categories, scores; none twice
    assert remote_markers == local_markers
    data = json.loads((remote / "annotations.json").read_text(encoding="utf-8"))
    assert len(data["annotations"]) == len(remote_masks)

    # A second run resumes: everything is done, nothing is added.
    before = (remote / "annotations.json").read_bytes()
    assert main(["auto", str(remote), *args, *ray_args]) == 0
    assert (remote / "annotations.json").read_bytes() == before
