"""``samlabel embed --ray``: the same cache as a local run; a killed worker loses nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from samlabel.cli import main
from tests.cluster.ray_helpers import start_local_ray
from tests.inference.tiny_models import write_tiny_checkpoint
from tests.test_cli_embed import write_images

pytestmark = pytest.mark.slow
TORCH = ["--backend", "torch"]


@pytest.fixture(scope="module")
def ray_session(tmp_path_factory):
    crash_file = tmp_path_factory.mktemp("crash") / "armed"
    ray = start_local_ray(crash_file)
    yield crash_file
    ray.shutdown()


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    return write_tiny_checkpoint(tmp_path_factory.mktemp("model") / "tiny.pth")


def _entries(cache: Path) -> dict[str, np.ndarray]:
    """Cache file (model folder/digest) -> its features."""
    found = {}
    for file in sorted(cache.glob("*/*.npz")):
        with np.load(file) as data:
            found[f"{file.parent.name}/{file.name}"] = np.array(data["features"])
    return found


def test_ray_run_writes_the_same_entries_as_a_local_run(ray_session, tmp_path, checkpoint, capsys):
    folder = tmp_path / "photos"
    write_images(folder, 5)
    (folder / "broken.png").write_bytes(b"not an image")
    base = ["embed", str(folder), "--model", str(checkpoint), *TORCH]
    assert main([*base, "--cache", str(tmp_path / "local")]) == 0
    capsys.readouterr()
    assert main([*base, "--cache", str(tmp_path / "ray"), "--ray", "local", "--workers", "2"]) == 0
    err = capsys.readouterr().err
    assert "6 images: 5 embedded, 0 already in the cache, 1 skipped." in err
    assert "broken.png" in err
    local, remote = _entries(tmp_path / "local"), _entries(tmp_path / "ray")
    assert sorted(local) == sorted(remote) and len(local) == 5
    for name, features in local.items():
        # Same code on the same CPU, but another thread count: equal to float rounding.
        np.testing.assert_allclose(remote[name], features, rtol=1e-5, atol=1e-6)
    # Resumable on the cluster path too: nothing left to do.
    assert main([*base, "--cache", str(tmp_path / "ray"), "--ray", "local"]) == 0
    assert "0 embedded, 5 already in the cache" in capsys.readouterr().err


def test_a_worker_killed_mid_run_loses_nothing_and_repeats_nothing(
    ray_session, tmp_path, checkpoint, capsys
):
    folder = tmp_path / "photos"
    write_images(folder, 8, seed=3)
    ray_session.write_text("armed")  # the first worker to encode its 2nd image dies
    args = ["embed", str(folder), "--model", str(checkpoint), *TORCH, "--ray", "local"]
    cache = tmp_path / "cache"
    assert main([*args, "--cache", str(cache), "--workers", "2", "--batch-size", "1"]) == 0
    assert not ray_session.exists(), "the fault was not triggered"
    # Every image exactly once: 8 results, none repeated (a repeat would count as cached).
    assert "8 images: 8 embedded, 0 already in the cache, 0 skipped." in capsys.readouterr().err
    assert len(_entries(cache)) == 8
