"""Damaged embedding cache entries and cache folders that refuse writes.

A damaged entry is reported as missing and deleted, so the next encode rewrites it (and a
warning naming the file is logged); a folder that refuses writes keeps embeddings in memory
and says so once.
"""

from __future__ import annotations

import io
import logging
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from samlabel.inference.api import ImageEmbedding
from samlabel.inference.embedding_cache import MEMORY_ITEMS, EmbeddingCache, EmbeddingKey

GOOD = ImageEmbedding(
    np.random.default_rng(0).standard_normal((1, 256, 64, 64)).astype(np.float32),
    (480, 640),
    (768, 1024),
)


@pytest.fixture
def key(tmp_path) -> EmbeddingKey:
    image = tmp_path / "photo.png"
    image.write_bytes(b"pretend image")
    return EmbeddingKey.for_file("model-a", image)


def _npz(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def _entry(features, original=(480, 640), input_size=(768, 1024)) -> bytes:
    return _npz(
        features=features,
        original_size=np.asarray(original, np.int64),
        input_size=np.asarray(input_size, np.int64),
    )


def _nan_features() -> np.ndarray:
    features = GOOD.features.copy()
    features[0, 3, 10, 10] = np.nan
    return features


DAMAGED = {
    "truncated": lambda good: good[: len(good) // 2],
    "not an npz": lambda good: b"PK\x03\x04 garbage",
    "wrong shape": lambda good: _entry(np.zeros((1, 256, 32, 32), np.float32)),
    "wrong dtype": lambda good: _entry(GOOD.features.astype(np.float16)),
    "float64": lambda good: _entry(GOOD.features.astype(np.float64)),
    "nan": lambda good: _entry(_nan_features()),
    "inf": lambda good: _entry(np.full((1, 256, 64, 64), np.inf, np.float32)),
    "missing array": lambda good: _npz(features=GOOD.features),
    "bad sizes": lambda good: _entry(GOOD.features, original=(0, 640)),
    "plain npy": lambda good: _npy(GOOD.features),
    "input too big": lambda good: _entry(GOOD.features, input_size=(4096, 1024)),
    "pickled object": lambda good: _npz(
        features=np.array([None], dtype=object), original_size=[1, 1], input_size=[1, 1]
    ),
}


@pytest.mark.parametrize("damage", sorted(DAMAGED))
def test_damaged_entry_is_discarded_told_and_rebuilt(tmp_path, key, damage, caplog):
    cache = EmbeddingCache(tmp_path / "cache")
    path = cache.put(key, GOOD)
    assert path is not None
    path.write_bytes(DAMAGED[damage](path.read_bytes()))
    with caplog.at_level(logging.WARNING, logger="samlabel"):
        assert cache.get(key) is None
    assert not path.exists()  # discarded, not left to fail again
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and str(path) in warnings[0] and "encoding again" in warnings[0]
    # The caller encodes again and stores it: the entry is whole again.
    assert cache.put(key, GOOD) == path
    again = cache.get(key)
    assert again is not None
    np.testing.assert_array_equal(again.features, GOOD.features)
    assert again.original_size == (480, 640) and again.input_size == (768, 1024)


def test_an_entry_from_a_zip_bomb_like_member_is_not_trusted(tmp_path, key):
    cache = EmbeddingCache(tmp_path / "cache")
    path = cache.put(key, GOOD)
    with zipfile.ZipFile(path, "w") as archive:  # a zip without the arrays we wrote
        archive.writestr("features.npy", b"\x93NUMPY garbage")
    assert cache.get(key) is None and not path.exists()


def _refusing_cache_is_told_once_and_keeps_embeddings(root: Path, key, caplog) -> None:
    cache = EmbeddingCache(root)
    with caplog.at_level(logging.WARNING, logger="samlabel"):
        assert cache.put(key, GOOD) is None
        assert cache.put(key, GOOD) is None
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and str(root) in warnings[0]
    assert cache.problem is not None and "kept in memory" in cache.problem
    remembered = cache.get(key)
    assert remembered is not None  # nothing lost: the work is not encoded twice
    np.testing.assert_array_equal(remembered.features, GOOD.features)


def test_cache_folder_that_is_a_file(tmp_path, key, caplog):
    blocker = tmp_path / "cache"
    blocker.write_text("someone's file")
    _refusing_cache_is_told_once_and_keeps_embeddings(blocker, key, caplog)
    assert blocker.read_text() == "someone's file"
    assert EmbeddingCache(blocker).prune() == 0


@pytest.mark.skipif(sys.platform != "linux", reason="mounts a Linux tmpfs")
def test_read_only_cache_mount(tmp_path, key, caplog):
    mountpoint = tmp_path / "ro"
    mountpoint.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k,ro", "tmpfs", str(mountpoint)],
        capture_output=True,
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        _refusing_cache_is_told_once_and_keeps_embeddings(mountpoint / "emb", key, caplog)
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=True)


def test_memory_fallback_keeps_only_the_latest(tmp_path):
    blocker = tmp_path / "cache"
    blocker.write_text("x")
    cache = EmbeddingCache(blocker)
    keys = []
    for i in range(MEMORY_ITEMS + 2):
        image = tmp_path / f"img{i}.png"
        image.write_bytes(b"i" * (i + 1))
        keys.append(EmbeddingKey.for_file("m", image))
        cache.put(keys[-1], GOOD)
    assert cache.get(keys[0]) is None and cache.get(keys[1]) is None
    assert all(cache.get(k) is not None for k in keys[2:])
