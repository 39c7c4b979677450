"""``samlabel embed --ray``: the folder encoded on a Ray cluster, the cache filled on the driver.

The driver hashes each image (the cache key names its content), skips those already in the
cache, sends the rest through :func:`samlabel.cluster.ray_encode.encoded_dataset` and writes
each embedding that comes back into the cache, once: a row repeated by a retry is ignored.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from samlabel.cluster.images import FolderTally, progress_bar, whole_image_key
from samlabel.inference.embedding_cache import EmbeddingCache, content_sha256, model_key


def pending_items(
    images: list[Path], model_id: str, cache: EmbeddingCache | None, tally: FolderTally
) -> list[dict[str, str]]:
    """``{path, sha256}`` of the images whose embedding is not in ``cache`` yet."""
    items = []
    for path in images:
        try:
            digest = content_sha256(path)
        except OSError as error:
            tally.failed.append(f"{path.name}: cannot be read ({error.strerror or error}).")
            continue
        if cache is not None and cache.get(whole_image_key(model_id, digest)) is not None:
            tally.cached += 1
            continue
        items.append({"path": str(path), "sha256": digest})
    return items


def embed_on_ray(
    images: list[Path],
    model_path: Path,
    args: argparse.Namespace,
    cache: EmbeddingCache,
    tally: FolderTally,
) -> None:
    """Encode ``images`` on the cluster ``args.ray`` into ``cache``; counts go to ``tally``."""
    from samlabel.cluster.ray_encode import embedding_of, encoded_dataset, plan
    from samlabel.cluster.ray_session import connect

    ray = connect(args.ray)
    # Workers skip calibration and run fp32 unless the backend says otherwise.
    items = pending_items(images, model_key(model_path, "fp32"), cache, tally)
    encode_plan = plan(ray, model_path, args.backend, args.workers, args.batch_size)
    print(
        f"{len(images)} images: {tally.cached} already in the cache, {len(items)} to encode on "
        f"{encode_plan.workers} Ray worker(s)",
        file=sys.stderr,
    )
    if not items:
        return
    stored: set[str] = set()
    progress = progress_bar(len(items))
    for row in encoded_dataset(ray, items, encode_plan).iter_rows():
        name = Path(str(row["path"])).name
        if row["error"]:
            tally.failed.append(str(row["error"]))
            progress.write(f"skipped {row['error']}")
        elif row["sha256"] not in stored:
            key = whole_image_key(str(row["model_id"]), str(row["sha256"]))
            if cache.put(key, embedding_of(row)) is None:
                tally.failed.append(f"{name}: the cache folder {cache.root} refused it.")
            else:
                stored.add(str(row["sha256"]))
                tally.done += 1
        else:
            tally.cached += 1  # a second file with the same bytes: one entry serves both
        progress.update(1)
    progress.close()
