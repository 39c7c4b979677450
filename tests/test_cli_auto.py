"""``samlabel auto``: a folder pre-labelled with proposals, resumable, never over reviewed work."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from samlabel.cli import main
from samlabel.io.store import AnnotationStore
from tests.inference.region_model import build_region_model, shapes_image

REPO_ROOT = Path(__file__).resolve().parent.parent
FAST = ["--backend", "torch", "--points-per-side", "4"]
EVERYTHING = ["--pred-iou-thresh", "0", "--stability-score-thresh", "0"]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """A small checkpoint (the region model's weights; the loader reads its architecture)."""
    path = tmp_path_factory.mktemp("model") / "small.pth"
    torch.save(build_region_model().state_dict(), path)
    return path


def _folder(tmp_path: Path, count: int) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(count):
        Image.fromarray(shapes_image(seed=i)).save(folder / f"img{i}.png")
    return folder


def _load(folder: Path) -> dict:
    return json.loads((folder / "annotations.json").read_text(encoding="utf-8"))


def _check_no_duplicates(data: dict) -> None:
    """Every image marked once, holding exactly the proposals its marker counts, no repeats."""
    seen = set()
    for annotation in data["annotations"]:
        key = (annotation["image_id"], annotation["segmentation"]["counts"])
        assert key not in seen, "an annotation was added twice"
        seen.add(key)
    for image in data["images"]:
        proposals = [
            a
            for a in data["annotations"]
            if a["image_id"] == image["id"] and a.get("samlabel_reviewed") is False
        ]
        assert len(proposals) == image["samlabel_auto"]["proposals"]


def test_folder_is_prelabelled_with_unreviewed_proposals_and_a_rerun_adds_nothing(
    tmp_path, checkpoint, capsys
):
    folder = _folder(tmp_path, 2)
    args = ["auto", str(folder), "--model", str(checkpoint), *FAST, *EVERYTHING]
    assert main([*args, "--category", "shape"]) == 0
    data = _load(folder)
    assert [c["name"] for c in data["categories"]] == ["shape"]
    assert len(data["annotations"]) >= 2
    for annotation in data["annotations"]:
        assert annotation["samlabel_reviewed"] is False
        assert 0.0 <= annotation["samlabel_score"] <= 1.5
        assert len(annotation["samlabel_prompts"]["points"]) == 1
    for image in data["images"]:
        assert image["samlabel_auto"]["points_per_side"] == 4
    assert "2 images pre-labelled" in capsys.readouterr().err

    before = (folder / "annotations.json").read_bytes()
    assert main([*args, "--category", "shape"]) == 0
    assert (folder / "annotations.json").read_bytes() == before
    assert "0 images pre-labelled" in capsys.readouterr().err
    _check_no_duplicates(_load(folder))


def test_reviewed_work_survives_and_proposals_do_not_cover_it(tmp_path, checkpoint):
    folder = _folder(tmp_path, 2)
    with AnnotationStore.open(folder / "annotations.json") as store:
        document = store.document
        image = document.add_image("img0.png", 320, 240)
        category = document.add_category("mine")
        everything = np.ones((240, 320), bool)
        reviewed = document.add_annotation(image.id, category.id, everything)
        store.save()
    before = _load(folder)["annotations"][0]

    args = ["auto", str(folder), "--model", str(checkpoint), *FAST, *EVERYTHING]
    assert main(args) == 0
    data = _load(folder)
    kept = [a for a in data["annotations"] if a["id"] == reviewed.id]
    assert kept == [before], "the reviewed annotation must be exactly as it was"
    on_first = [a for a in data["annotations"] if a["image_id"] == image.id and a is not kept[0]]
    # Every proposal there would overlap the whole-image annotation by its own area ratio.
    for annotation in on_first:
        assert annotation["area"] / (320 * 240) <= 0.5
    # The same kind of image without reviewed work does get such large proposals.
    others = [a["area"] / (320 * 240) for a in data["annotations"] if a["image_id"] != image.id]
    assert others and max(others) > 0.5
    _check_no_duplicates(data)


def test_unreadable_image_is_named_and_skipped(tmp_path, checkpoint, capsys):
    folder = _folder(tmp_path, 1)
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not an image")
    args = ["auto", str(folder), "--model", str(checkpoint), *FAST, *EVERYTHING]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "broken.png" in err and "1 skipped" in err and "Traceback" not in err
    assert [i["file_name"] for i in _load(folder)["images"]] == ["img0.png"]


def test_bad_input_is_one_message(tmp_path, checkpoint, capsys):
    assert main(["auto", str(tmp_path / "nowhere"), "--model", str(checkpoint)]) == 2
    assert "nowhere is not a folder" in capsys.readouterr().err
    folder = _folder(tmp_path, 1)
    assert main(["auto", str(folder), "--model", str(checkpoint), "--box-nms-thresh", "2"]) == 2
    assert "--box-nms-thresh must be between 0 and 1" in capsys.readouterr().err


def test_killed_run_resumes_where_it_stopped_without_duplicates(tmp_path, checkpoint):
    folder = _folder(tmp_path, 5)
    command = [sys.executable, "-m", "samlabel", "auto", str(folder), "--model", str(checkpoint)]
    command += [*FAST, *EVERYTHING]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    child = subprocess.Popen(
        command, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    marked = 0
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and child.poll() is None:
            try:
                data = _load(folder)
                marked = sum("samlabel_auto" in i for i in data["images"])
            except (OSError, ValueError):
                marked = 0
            if marked >= 1:
                break
            time.sleep(0.05)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert 1 <= marked < 5, "the child should be killed part-way through the folder"
    done_before = {
        i["file_name"]: i["samlabel_auto"] for i in _load(folder)["images"] if "samlabel_auto" in i
    }

    assert main(["auto", str(folder), "--model", str(checkpoint), *FAST, *EVERYTHING]) == 0
    data = _load(folder)
    assert all("samlabel_auto" in image for image in data["images"])
    assert len(data["images"]) == 5
    for image in data["images"]:  # what the killed run finished was not done again
        if image["file_name"] in done_before:
            assert image["samlabel_auto"] == done_before[image["file_name"]]
    _check_no_duplicates(data)


def test_a_16_bit_image_prelabelled_here_is_a_cache_hit_in_the_window(tmp_path, monkeypatch):
    """The window looks a 16-bit image up with its own window/level ("no window" in the key);
    ``auto`` used to key the same picture by the window's numbers, so the window encoded it
    again after a whole pre-labelling run."""
    from samlabel.inference import load_predictor
    from samlabel.inference.embedding_cache import EmbeddingCache, model_key
    from samlabel.session.encoding import Encoder
    from tests.inference.tiny_models import write_tiny_checkpoint

    # A model whose embedding has SAM's 256 channels (the cache checks them).
    checkpoint = write_tiny_checkpoint(tmp_path / "tiny.pth")
    monkeypatch.setenv("SAMLABEL_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "scans"
    folder.mkdir()
    rng = np.random.default_rng(4)
    scan = (rng.random((48, 64)) * 3000 + 20000).astype(np.uint16)
    Image.fromarray(scan).save(folder / "scan.png")
    assert main(["auto", str(folder), "--model", str(checkpoint), *FAST]) == 0

    predictor = load_predictor(checkpoint, backend="torch")
    encoder = Encoder(predictor, model_key(checkpoint, "fp32"), cache=EmbeddingCache())
    started: list[int] = []
    encoder.encode(folder / "scan.png", on_started=lambda: started.append(1))
    assert not started, "the window encoded an image that auto had just encoded"
