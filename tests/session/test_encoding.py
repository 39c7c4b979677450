"""Embeddings from memory, the disk cache or the model; images read once; damaged caches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from samlabel.core.errors import SamlabelError
from samlabel.inference.embedding_cache import EmbeddingCache
from samlabel.session.encoding import Encoder, ImageMemory
from samlabel.session.source import read_source_image
from tests.qt.fakes import FakePredictor, image_mean


def _means(paths: list[Path]) -> dict[float, str]:
    """Mean pixel value of each image -> its name (the fake records means)."""
    return {image_mean(read_source_image(p).pixels): p.name for p in paths}


def test_prefetch_fills_the_disk_cache_and_going_back_is_instant(image_folder, tmp_path):
    paths = sorted(image_folder.glob("*.png"))
    predictor = FakePredictor()
    cache = EmbeddingCache(tmp_path / "cache")
    encoder = Encoder(predictor, "fake", cache=cache)
    started: list[str] = []
    first = encoder.encode(paths[0], None, lambda: started.append("encoding"))
    assert first is not None and started == ["encoding"]
    for path in paths[1:3]:
        encoder.prefetch(path)
    assert len(predictor.encoded) == 3  # the current image and two ahead
    assert encoder.cached(paths[0]) is first and encoder.cached(paths[1]) is None  # on disk
    # A new encoder (the next session) finds all three on disk: nothing is encoded again.
    again = FakePredictor()
    encoder = Encoder(again, "fake", cache=cache)
    for path in paths[:3]:
        embedding = encoder.encode(path, None, lambda: started.append("again"))
        assert embedding.features.shape == (1, 256, 64, 64)
    assert again.encoded == [] and started == ["encoding"]
    # Another model id does not reuse them.
    other = FakePredictor()
    Encoder(other, "other model", cache=cache).encode(paths[0])
    assert len(other.encoded) == 1


def test_an_embedding_from_the_disk_cache_is_prepared_before_the_first_click(
    image_folder, tmp_path
) -> None:
    class Preparing(FakePredictor):
        def prepare(self, embedding) -> None:
            embedding.extras["prepared"] = True

    path = sorted(image_folder.glob("*.png"))[0]
    cache = EmbeddingCache(tmp_path / "cache")
    Encoder(FakePredictor(), "fake", cache=cache).encode(path)
    from_disk = Encoder(Preparing(), "fake", cache=cache).encode(path)
    assert from_disk is not None and from_disk.extras.get("prepared") is True


def test_the_encoder_warms_the_decoder_once(image_folder) -> None:
    paths = sorted(image_folder.glob("*.png"))
    predictor = FakePredictor()
    encoder = Encoder(predictor, "fake")
    encoder.encode(paths[0])
    encoder.encode(paths[1])
    assert predictor.decode_calls == 1  # the first decode's one-off costs, paid ahead


def test_encoder_failures_raise_and_the_next_image_still_encodes(image_folder) -> None:
    paths = sorted(image_folder.glob("*.png"))
    mean = next(iter(_means(paths[:1])))
    encoder = Encoder(FakePredictor(fail_on_mean=mean), "fake")
    with pytest.raises(RuntimeError, match="fake encoder failure"):
        encoder.encode(paths[0])
    assert encoder.encode(paths[1]) is not None


def test_image_memory_reads_once_and_names_unreadable_files(tmp_path, image_folder) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    built: list[tuple[int, ...]] = []
    memory = ImageMemory(lambda rgb: built.append(rgb.shape) or ["levels"])
    with pytest.raises(SamlabelError, match="broken.png"):
        memory.load(broken)
    path = sorted(image_folder.glob("*.png"))[0]
    image, pyramid = memory.load(path)
    assert memory.load(path)[0] is image and pyramid == ["levels"] and len(built) == 1
    assert memory.peek(path) is image and memory.peek(broken) is None


@pytest.mark.parametrize("corrupt", [b"", b"not an npz"])
def test_embedding_cache_ignores_damaged_files(tmp_path: Path, corrupt: bytes) -> None:
    from samlabel.inference.embedding_cache import EmbeddingKey

    image = tmp_path / "a.png"
    image.write_bytes(b"x")
    cache = EmbeddingCache(tmp_path / "cache")
    key = EmbeddingKey.for_file("m", image)
    path = cache.path_for(key)
    path.parent.mkdir(parents=True)
    path.write_bytes(corrupt)
    assert cache.get(key) is None


def test_embedding_cache_forgets_the_least_recently_used(tmp_path: Path) -> None:
    import os

    from samlabel.inference.api import ImageEmbedding
    from samlabel.inference.embedding_cache import EmbeddingKey

    embedding = ImageEmbedding(np.zeros((1, 256, 64, 64), np.float32), (10, 20), (512, 1024))
    one_file = 4 * 256 * 64 * 64
    cache = EmbeddingCache(tmp_path / "cache", max_bytes=int(2.5 * one_file))
    keys = []
    for index in range(4):
        image = tmp_path / f"{index}.png"
        image.write_bytes(b"x" * (index + 1))
        key = EmbeddingKey.for_file("m", image)
        cache.put(key, embedding)
        os.utime(cache.path_for(key), ns=(index * 10**9, index * 10**9))
        keys.append(key)
    assert cache.get(keys[0]) is not None  # reading makes it the most recent
    assert cache.prune() == 2
    assert cache.get(keys[0]) is not None and cache.get(keys[3]) is not None
    assert cache.get(keys[1]) is None and cache.get(keys[2]) is None
