"""``samlabel embed``: image embeddings for a whole folder, into the embedding cache.

Example::

    samlabel embed ~/photos/transect-07 --model sam_vit_b_01ec64.pth --cache /data/emb
    samlabel embed /nfs/photos --model sam_vit_h.pth --ray auto      # on a Ray cluster

Entries are keyed by the model's sha256, the image's content hash and the preprocessing
(:mod:`samlabel.inference.embedding_cache`), never by a path, so the cache folder can be
copied to another machine's user cache (``~/.cache/samlabel/embeddings``) and the window
there opens every image without encoding it. Entries already in the cache are skipped and
counted, so an interrupted run resumes; an image that cannot be encoded is reported by name
and skipped. The exit status is non-zero only when nothing could be done.

With ``--ray ADDRESS`` (or ``--ray local``) the images are decoded and encoded on a Ray
cluster (:mod:`samlabel.cluster.ray_embed`; the optional extra ``samlabel[cluster]``), and
the embeddings come back to this machine's cache.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from samlabel.core.errors import SamlabelError

#: No pruning while a folder is filled: the run's own entries must all stay.
UNLIMITED_BYTES = 1 << 62


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``embed``."""
    parser = subparsers.add_parser(
        "embed",
        help="compute the image embeddings of a folder into the embedding cache",
        description="Encode every image of FOLDER with the model into the embedding cache, "
        "which the window uses as is (also on another machine). Safe to interrupt and run "
        "again: images already in the cache are skipped.",
    )
    parser.add_argument("folder", help="folder of images")
    parser.add_argument(
        "--model", required=True, help="checkpoint file, ONNX model folder, or installed model name"
    )
    parser.add_argument(
        "--cache", help="embedding cache folder (default: the user cache's embeddings folder)"
    )
    parser.add_argument(
        "--backend",
        default="auto",
        choices=("auto", "onnxruntime", "openvino", "torch"),
        help="inference backend (default: auto)",
    )
    add_ray_arguments(parser)


def add_ray_arguments(parser: argparse.ArgumentParser) -> None:
    """``--ray``, ``--workers`` and ``--batch-size`` (shared with ``samlabel auto``)."""
    parser.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="run on a Ray cluster: its address, 'auto' for the one this machine belongs to, "
        "or 'local' for a Ray instance on this machine (needs samlabel[cluster])",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="with --ray: encoder workers, each loading the model once (default: one per GPU "
        "of the cluster, else 1)",
    )
    parser.add_argument(
        "--batch-size", type=int, default=4, help="with --ray: images per encoder call"
    )


def run(args: argparse.Namespace) -> int:
    """Fill the cache for the folder; prints a progress bar and a summary."""
    from samlabel.cluster.images import FolderTally
    from samlabel.commands.predict import resolve_model
    from samlabel.inference.embedding_cache import EmbeddingCache
    from samlabel.io.images import list_images

    folder = Path(args.folder).expanduser()
    if not folder.is_dir():
        raise SamlabelError(f"{folder} is not a folder of images.", folder)
    images = list_images(folder)
    if not images:
        raise SamlabelError(f"{folder} holds no images samlabel can read.", folder)
    model_path = resolve_model(args.model)
    cache = EmbeddingCache(args.cache, max_bytes=UNLIMITED_BYTES)
    tally = FolderTally(total=len(images))
    if args.ray:
        from samlabel.cluster.ray_embed import embed_on_ray

        embed_on_ray(images, model_path, args, cache, tally)
    else:
        _embed_here(images, model_path, args.backend, cache, tally)
    print(f"done: {tally.summary()}", file=sys.stderr)
    for line in tally.failed:
        print(f"  skipped {line}", file=sys.stderr)
    return tally.exit_status()


def _embed_here(images: list[Path], model_path: Path, backend: str, cache, tally) -> None:
    """Encode on this machine, one image at a time."""
    from samlabel.cluster.images import (
        ImageSkipped,
        prepare_image,
        progress_bar,
        whole_image_key,
    )
    from samlabel.inference import load_predictor
    from samlabel.inference.embedding_cache import content_sha256, model_key

    predictor = load_predictor(model_path, backend=backend, progress=_report)
    model_id = model_key(model_path, getattr(predictor, "precision", "fp32"))
    print(f"{len(images)} images, {predictor.describe()}", file=sys.stderr)
    progress = progress_bar(len(images))
    for path in images:
        try:
            key = whole_image_key(model_id, content_sha256(path))
            if cache.get(key) is not None:
                tally.cached += 1
            else:
                embedding = predictor.encode(prepare_image(path))
                if cache.put(key, embedding) is None:
                    raise ImageSkipped(f"the cache folder {cache.root} refused the embedding.")
                tally.done += 1
        except (SamlabelError, OSError, ValueError) as error:
            tally.failed.append(f"{path.name}: {_sentence(error)}")
            progress.write(f"skipped {path.name}: {_sentence(error)}")
        progress.update(1)
    progress.close()


def _sentence(error: BaseException) -> str:
    if isinstance(error, OSError):
        return f"cannot be read ({error.strerror or error})."
    return str(error)


def _report(message: str, fraction: float) -> None:
    print(f"{message} ({fraction:.0%})", file=sys.stderr)
