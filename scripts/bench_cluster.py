"""Throughput of ``samlabel embed`` locally and on a local Ray instance, in one run.

    python scripts/bench_cluster.py [--images 32] [--size 256] [--model tiny|mobile]
                                    [--backend torch] [--cpus 2]

Generates the images and a random-weight model (``tiny``: a 2-block ViT of the tests;
``mobile``: MobileSAM's TinyViT, real size), then embeds the folder into a fresh cache four
times: on this machine (one process), and through ``--ray`` with 1 and 2 encoder workers on a
local Ray instance of ``--cpus`` CPUs; then locally once more, in the now warm process.
Every run loads its model (a local run once, each Ray worker once); Ray's own start is not
counted. Prints images per minute and the cost per image of each run against the local one.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent


def _write_model(path: Path, kind: str) -> Path:
    import torch

    from samlabel.sam.build import SamConfig, build_sam
    from samlabel.sam.image_encoder import ViTConfig
    from samlabel.sam.tiny_vit_config import TinyViTConfig

    torch.manual_seed(0)
    if kind == "tiny":
        encoder: object = ViTConfig(
            embed_dim=32, depth=2, num_heads=2, global_attn_indexes=(1,), window_size=8
        )
    else:
        encoder = TinyViTConfig()
    torch.save(build_sam(SamConfig(encoder=encoder)).state_dict(), path)
    return path


def _write_images(folder: Path, count: int, size: int) -> None:
    from PIL import Image

    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        pixels = rng.integers(0, 256, (size, size + 16 * (i % 4), 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"img{i:03d}.png")


def _timed_embed(argv: list[str]) -> float:
    from samlabel.cli import main

    started = time.perf_counter()
    with contextlib.redirect_stderr(io.StringIO()) as err:
        status = main(argv)
    seconds = time.perf_counter() - started
    if status != 0 or " 0 skipped" not in err.getvalue():
        raise SystemExit(f"the run failed:\n{err.getvalue()}")
    return seconds


def main() -> int:
    """Run the three configurations and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--size", type=int, default=256, help="image height in pixels")
    parser.add_argument("--model", choices=("tiny", "mobile"), default="tiny")
    parser.add_argument("--backend", default="torch")
    parser.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray instance")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="samlabel-bench-cluster-"))
    os.environ["SAMLABEL_CACHE_DIR"] = str(work / "user-cache")  # converted models etc.
    folder = work / "photos"
    _write_images(folder, args.images, args.size)
    model = _write_model(work / f"{args.model}.pth", args.model)
    base = ["embed", str(folder), "--model", str(model), "--backend", args.backend]

    rows = [("local, 1 process", _timed_embed([*base, "--cache", str(work / "c-local")]))]
    import ray

    pythonpath = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    ray.init(
        num_cpus=args.cpus,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": pythonpath, **_samlabel_env()}},
    )
    try:
        for workers in (1, 2):
            cache = str(work / f"c-ray{workers}")
            ray_args = ["--ray", "local", "--workers", str(workers), "--cache", cache]
            rows.append((f"Ray, {workers} worker(s)", _timed_embed([*base, *ray_args])))
    finally:
        ray.shutdown()
    # The first run also paid this process's one-off costs (imports, first torch calls): the
    # local run again, warm, shows how much of its time that was.
    rows.append(("local again, warm process", _timed_embed([*base, "--cache", str(work / "c2")])))

    local = rows[0][1] / args.images
    print(
        f"{args.images} images of {args.size} px, model {args.model}, backend {args.backend}, "
        f"{os.cpu_count()} CPUs on this machine (load average {os.getloadavg()[0]:.1f})"
    )
    print("| run | seconds | images per minute | seconds per image | cost vs local |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, seconds in rows:
        per_image = seconds / args.images
        print(
            f"| {name} | {seconds:.1f} | {60 * args.images / seconds:.1f} | {per_image:.3f} | "
            f"{per_image / local:.2f}x |"
        )
    return 0


def _samlabel_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith("SAMLABEL_")}


if __name__ == "__main__":
    sys.exit(main())
