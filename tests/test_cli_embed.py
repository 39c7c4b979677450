"""``samlabel embed``: a folder's embeddings in the cache, found by the window on any machine."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from samlabel.cli import main
from samlabel.cluster.images import prepare_image
from samlabel.inference import load_predictor
from samlabel.inference.embedding_cache import EmbeddingCache, model_key
from tests.inference.tiny_models import write_tiny_checkpoint

TORCH = ["--backend", "torch"]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    return write_tiny_checkpoint(tmp_path_factory.mktemp("model") / "tiny.pth")


def write_images(folder: Path, count: int, seed: int = 0) -> list[Path]:
    """``count`` small random RGB images of different sizes."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(count):
        pixels = rng.integers(0, 256, (40 + 8 * i, 64 - 4 * i, 3), dtype=np.uint8)
        paths.append(folder / f"img{i:02d}.png")
        Image.fromarray(pixels).save(paths[-1])
    return paths


class CountingPredictor:
    """The real predictor, counting its encodes (to see cache hits)."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.encodes = 0

    def encode(self, image):
        self.encodes += 1
        return self.inner.encode(image)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_embed_fills_the_cache_reports_bad_images_and_resumes(tmp_path, checkpoint, capsys):
    folder = tmp_path / "photos"
    write_images(folder, 3)
    (folder / "broken.png").write_bytes(b"not a png at all")
    Image.fromarray(np.zeros((1, 3000), np.uint8)).save(folder / "sliver.png")
    cache = tmp_path / "cache"
    args = ["embed", str(folder), "--model", str(checkpoint), "--cache", str(cache), *TORCH]

    assert main(args) == 0
    err = capsys.readouterr().err
    assert "5 images: 3 embedded, 0 already in the cache, 2 skipped." in err
    assert "broken.png" in err
    # Too elongated for SAM's 1024 frame: the reader or our own check names it.
    assert "sliver.png" in err and ("elongated" in err or "short side would vanish" in err)
    assert len(list(cache.glob("*/*.npz"))) == 3

    # A second run (an interrupted one resumed) encodes nothing and says so.
    assert main(args) == 0
    assert "0 embedded, 3 already in the cache, 2 skipped." in capsys.readouterr().err

    # An edited image is a new entry: the key names the content, not the file.
    Image.fromarray(np.full((30, 30, 3), 7, np.uint8)).save(folder / "img01.png")
    assert main(args) == 0
    assert "1 embedded, 2 already in the cache" in capsys.readouterr().err


def test_nothing_done_is_a_failure_with_names(tmp_path, checkpoint, capsys):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "a.png").write_bytes(b"garbage")
    args = ["embed", str(folder), "--model", str(checkpoint), "--cache", str(tmp_path / "c")]
    assert main([*args, *TORCH]) == 1
    err = capsys.readouterr().err
    assert "a.png" in err and "Traceback" not in err
    assert main(["embed", str(tmp_path / "missing"), "--model", str(checkpoint)]) == 2
    assert "is not a folder of images" in capsys.readouterr().err


def test_an_entry_written_by_embed_is_a_hit_for_the_window_on_another_machine(tmp_path, checkpoint):
    from samlabel.session.encoding import Encoder

    folder = tmp_path / "server" / "photos"
    paths = write_images(folder, 2)
    cache = tmp_path / "cache"
    args = ["embed", str(folder), "--model", str(checkpoint), "--cache", str(cache), *TORCH]
    assert main(args) == 0

    # The laptop: another copy of the images and of the model, under other paths.
    laptop = tmp_path / "laptop"
    shutil.copytree(folder, laptop / "photos")
    model_copy = laptop / "model.pth"
    shutil.copy2(checkpoint, model_copy)
    predictor = CountingPredictor(load_predictor(model_copy, backend="torch"))
    # The window names the model through model_key (its model id) and looks up through the
    # session's Encoder, which calls EmbeddingKey.for_file.
    model_id = model_key(model_copy, getattr(predictor, "precision", "fp32"))
    encoder = Encoder(predictor, model_id, cache=EmbeddingCache(cache))
    started = []
    for path in paths:
        moved = laptop / "photos" / path.name
        served = encoder.encode(moved, on_started=lambda: started.append(1))
        expected = predictor.inner.encode(prepare_image(moved))
        np.testing.assert_array_equal(served.features, expected.features)
        assert served.original_size == expected.original_size
    assert predictor.encodes == 0 and not started  # every embedding came from the cache


def test_ray_without_the_extra_says_how_to_install_it(tmp_path, checkpoint, capsys, monkeypatch):
    import sys

    folder = tmp_path / "photos"
    write_images(folder, 1)
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    args = ["embed", str(folder), "--model", str(checkpoint), "--ray", "local"]
    assert main([*args, "--cache", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err.strip()
    assert "pip install 'samlabel[cluster]'" in err and "Traceback" not in err
    assert len(err.splitlines()) == 1
