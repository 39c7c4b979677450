"""The background workers: newest request wins, stale jobs are dropped, failures reported."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from samlabel.inference.embedding_cache import EmbeddingCache
from samlabel.qt.workers import EmbeddingWorker, ImageLoader
from tests.qt.fakes import FakePredictor, image_mean


def _means(paths: list[Path]) -> dict[float, str]:
    """Mean pixel value of each image -> its name (the fake records means)."""
    from samlabel.session.source import read_source_image

    return {image_mean(read_source_image(p).pixels): p.name for p in paths}


def test_stale_request_is_dropped_before_it_starts(qtbot, image_folder: Path) -> None:
    paths = sorted(image_folder.glob("*.png"))
    predictor = FakePredictor(encode_delay=0.3)
    worker = EmbeddingWorker(predictor, "fake", cache=None)
    answers: list[tuple[int, str]] = []
    worker.ready.connect(lambda rid, path, emb: answers.append((rid, Path(path).name)))
    try:
        first = worker.request(paths[0])
        # While the first image encodes, the user moves on twice: the middle request is stale.
        qtbot.waitUntil(lambda: len(predictor.encoded) == 0 and worker._busy, timeout=2000)
        worker.request(paths[1])
        last = worker.request(paths[2])
        assert worker.wait_until_idle(10)
        qtbot.waitUntil(lambda: len(answers) == 2, timeout=2000)
    finally:
        worker.shutdown()
    names = _means(paths)
    encoded = [names[mean] for _, mean in predictor.encoded]
    assert encoded == ["img_000.png", "img_002.png"]  # img_001 was never encoded
    assert answers == [(first, "img_000.png"), (last, "img_002.png")]
    assert not worker.is_alive()


def test_prefetch_fills_the_disk_cache_and_going_back_is_instant(qtbot, image_folder, tmp_path):
    paths = sorted(image_folder.glob("*.png"))
    predictor = FakePredictor()
    cache = EmbeddingCache(tmp_path / "cache")
    worker = EmbeddingWorker(predictor, "fake", cache=cache)
    try:
        with qtbot.waitSignal(worker.ready, timeout=5000):
            worker.request(paths[0], prefetch=paths[1:3])
        assert worker.wait_until_idle(10)
        assert len(predictor.encoded) == 3  # the current image and two ahead
        # A new worker (the next session) finds all three on disk: nothing is encoded again.
        worker.shutdown()
        again = FakePredictor()
        worker = EmbeddingWorker(again, "fake", cache=cache)
        for path in paths[:3]:
            with qtbot.waitSignal(worker.ready, timeout=5000) as blocker:
                worker.request(path)
            assert blocker.args[2].features.shape == (1, 256, 64, 64)
        assert again.encoded == []
        # Another model id does not reuse them.
        worker.shutdown()
        other = FakePredictor()
        worker = EmbeddingWorker(other, "other model", cache=cache)
        with qtbot.waitSignal(worker.ready, timeout=5000):
            worker.request(paths[0])
        assert len(other.encoded) == 1
    finally:
        worker.shutdown()


def test_encoder_failure_reaches_the_gui_as_a_message(qtbot, image_folder: Path) -> None:
    paths = sorted(image_folder.glob("*.png"))
    mean = next(iter(_means(paths[:1])))
    worker = EmbeddingWorker(FakePredictor(fail_on_mean=mean), "fake")
    try:
        with qtbot.waitSignal(worker.failed, timeout=5000) as blocker:
            worker.request(paths[0])
        assert "fake encoder failure" in blocker.args[2]
        # The worker carries on with the next request.
        with qtbot.waitSignal(worker.ready, timeout=5000):
            worker.request(paths[1])
    finally:
        worker.shutdown()


def test_image_loader_reports_unreadable_files_by_name(qtbot, tmp_path: Path) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    loader = ImageLoader()
    try:
        with qtbot.waitSignal(loader.failed, timeout=5000) as blocker:
            loader.request(broken)
        assert "broken.png" in blocker.args[2]
    finally:
        loader.shutdown()
    assert not loader.is_alive()


def test_image_loader_answers_only_the_newest_request_when_busy(qtbot, image_folder) -> None:
    paths = sorted(image_folder.glob("*.png"))
    loader = ImageLoader()
    answers: list[str] = []
    loader.loaded.connect(lambda rid, path, image, levels: answers.append(Path(path).name))
    gate = threading.Event()
    original = loader._load

    def slow_load(request_id: int, path: str) -> None:
        gate.wait(5)
        original(request_id, path)

    loader._load = slow_load
    try:
        loader.request(paths[0])
        qtbot.waitUntil(lambda: loader._busy, timeout=2000)
        for path in paths[1:]:
            loader.request(path)
        gate.set()
        assert loader.wait_until_idle(10)
        qtbot.waitUntil(lambda: len(answers) == 2, timeout=2000)
    finally:
        loader.shutdown()
    assert answers == ["img_000.png", paths[-1].name]


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
