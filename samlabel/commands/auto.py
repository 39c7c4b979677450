"""``samlabel auto``: pre-label a folder with segment everything, for review in the window.

Example::

    samlabel auto ~/photos/transect-07 --model sam_vit_b_01ec64.pth --category plant

Every image of the folder goes through SAM's automatic mask generator
(:mod:`samlabel.inference.automatic`, Meta's parameters and defaults); its masks are added to
the folder's annotations file (``annotations.json``, or ``--annotations``) under one category,
as *proposals*:

- each proposal is an annotation with ``"samlabel_reviewed": false`` in the file, its
  predicted IoU as ``samlabel_score`` and its grid point as ``samlabel_prompts``; an
  annotation without that field is reviewed work (the window shows proposals as "to
  review"; accepting one there drops the field);
- the image record gets ``"samlabel_auto"``: the parameters, the model and the number of
  proposals. An image that has it is skipped by later runs, so an interrupted run resumes
  where it stopped and never adds anything twice (the file is saved atomically after each
  image; an image whose save did not happen is simply done again);
- reviewed work is never replaced: on an image that already has reviewed annotations, a
  proposal overlapping one of them (mask IoU > 0.5) is left out, the rest are added.

Embeddings come from and go to the embedding cache, so the window opens pre-labelled images
without encoding them again. Unreadable images are reported by name and skipped.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from samlabel.core.errors import SamlabelError
from samlabel.core.model import REVIEWED_FIELD

#: Image field recording that ``samlabel auto`` ran on the image, and how.
AUTO_FIELD = "samlabel_auto"
#: A proposal overlapping reviewed work more than this (mask IoU) is left out.
OVERLAP_IOU = 0.5

#: Command-line option -> generator parameter, with its default (Meta's).
PARAMETERS: dict[str, tuple[type, Any]] = {
    "points_per_side": (int, 32),
    "points_per_batch": (int, 64),
    "pred_iou_thresh": (float, 0.88),
    "stability_score_thresh": (float, 0.95),
    "box_nms_thresh": (float, 0.7),
    "crop_n_layers": (int, 0),
    "min_mask_region_area": (int, 0),
}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``auto``."""
    parser = subparsers.add_parser(
        "auto",
        help="pre-label a folder of images with segment everything (proposals to review)",
        description="Run SAM's automatic mask generator on every image of FOLDER and add its "
        "masks to the folder's annotations file as unreviewed proposals. Safe to interrupt "
        "and run again: finished images are skipped.",
    )
    parser.add_argument("folder", help="folder of images")
    parser.add_argument(
        "--model", required=True, help="checkpoint file, ONNX model folder, or installed model name"
    )
    parser.add_argument(
        "--annotations", help="annotations file (default: annotations.json in the folder)"
    )
    parser.add_argument("--category", default="object", help="category of the proposals")
    for name, (kind, default) in PARAMETERS.items():
        parser.add_argument(
            "--" + name.replace("_", "-"),
            type=kind,
            default=default,
            help=f"as in Meta's SamAutomaticMaskGenerator (default {default:g})",
        )
    parser.add_argument(
        "--backend",
        default="auto",
        choices=("auto", "onnxruntime", "openvino", "torch"),
        help="inference backend (default: auto)",
    )
    parser.add_argument(
        "--int8-decoder",
        action="store_true",
        help="decode with the int8 copy of the decoder (ONNX Runtime; faster, masks differ "
        "slightly: see samlabel bench)",
    )
    from samlabel.commands.embed import add_ray_arguments

    add_ray_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """Pre-label the folder; prints one line per image and a summary."""
    from samlabel.io.store import AnnotationStore

    folder = Path(args.folder).expanduser()
    if not folder.is_dir():
        raise SamlabelError(f"{folder} is not a folder of images.", folder)
    params = {name: getattr(args, name) for name in PARAMETERS}
    _check_parameters(params)
    annotations = Path(args.annotations) if args.annotations else folder / "annotations.json"
    store = AnnotationStore.open(annotations)
    try:
        if store.read_only:
            raise SamlabelError(f"cannot pre-label: {store.read_only_reason}", annotations)
        return _prelabel(store, folder, args, params)
    finally:
        store.close()


def _check_parameters(params: dict[str, Any]) -> None:
    if params["points_per_side"] < 1 or params["points_per_batch"] < 1:
        raise SamlabelError("--points-per-side and --points-per-batch must be at least 1.")
    if params["crop_n_layers"] < 0 or params["min_mask_region_area"] < 0:
        raise SamlabelError("--crop-n-layers and --min-mask-region-area cannot be negative.")
    for name in ("pred_iou_thresh", "stability_score_thresh", "box_nms_thresh"):
        if not 0.0 <= params[name] <= 1.0:
            raise SamlabelError(f"--{name.replace('_', '-')} must be between 0 and 1.")


def _prelabel(store, folder: Path, args: argparse.Namespace, params: dict[str, Any]) -> int:
    if getattr(args, "ray", None):
        return _prelabel_on_ray(store, folder, args, params)
    from samlabel.inference.automatic import AutomaticMaskGenerator

    document = store.document
    root = store.path.parent
    images, unreadable = _images_in(document, folder, root)
    category = _category(document, args.category)
    predictor, model_id = _load(args)
    generator = AutomaticMaskGenerator(predictor, output_mode="coco_rle", **params)
    record_params = {**params, "model": predictor.model_name, "category": args.category}
    if args.int8_decoder:
        record_params["decoder"] = "int8"
    done = masks_added = 0
    already = sum(1 for _, image_id in images if AUTO_FIELD in document.image(image_id).extra)
    todo = [(p, i) for p, i in images if AUTO_FIELD not in document.image(i).extra]
    print(
        f"{len(images) + len(unreadable)} images in {folder}: {already} pre-labelled before, "
        f"{len(todo)} to do ({predictor.describe()})",
        file=sys.stderr,
    )
    progress = _progress(len(todo))
    for path, image_id in todo:
        started = time.perf_counter()
        try:
            rgb = _read(path)
        except SamlabelError as error:
            unreadable.append(f"{path.name}: {error}")
            progress.write(f"skipped {path.name}: {error}")
            progress.update(1)
            continue
        encode = _cached_encoder(predictor, model_id, path, rgb.shape[:2])
        found = generator.generate_masks(rgb, encode=encode)
        added = _add_proposals(document, image_id, category, found, record_params)
        store.save()
        done += 1
        masks_added += added
        seconds = time.perf_counter() - started
        progress.write(f"{path.name}: {added} proposals ({seconds:.1f} s)")
        progress.update(1)
    progress.close()
    _summary(done, masks_added, already, unreadable)
    return 0


def _prelabel_on_ray(store, folder: Path, args: argparse.Namespace, params: dict) -> int:
    """As :func:`_prelabel`, the images encoded and segmented on a Ray cluster
    (:mod:`samlabel.cluster.ray_auto`); the file is written here, through the store, with the
    same per-image marker, so a result sent twice by a retried worker is added once."""
    from samlabel.cluster.images import FolderTally
    from samlabel.cluster.ray_auto import proposals_on_ray
    from samlabel.cluster.ray_embed import pending_items
    from samlabel.commands.predict import resolve_model
    from samlabel.inference.embedding_cache import EmbeddingCache

    document = store.document
    images, unreadable = _images_in(document, folder, store.path.parent)
    category = _category(document, args.category)
    ids = {str(path): image_id for path, image_id in images}
    todo = [p for p, i in images if AUTO_FIELD not in document.image(i).extra]
    already = len(images) - len(todo)
    hashed = FolderTally()
    items = pending_items(todo, "", None, hashed)
    unreadable += hashed.failed
    print(
        f"{len(images) + len(unreadable)} images in {folder}: {already} pre-labelled before, "
        f"{len(items)} to do on the Ray cluster {args.ray}",
        file=sys.stderr,
    )
    cache = EmbeddingCache()
    done = masks_added = 0
    progress = _progress(len(items))
    for result in proposals_on_ray(items, resolve_model(args.model), args, params):
        image_id = ids[str(result.path)]
        if result.error:
            unreadable.append(result.error)
            progress.write(f"skipped {result.error}")
        elif AUTO_FIELD not in document.image(image_id).extra:
            cache.put(result.cache_key, result.embedding)
            record = {**params, "model": result.model_name, "category": args.category}
            if args.int8_decoder:
                record["decoder"] = "int8"
            added = _add_proposals(document, image_id, category, result.masks, record)
            store.save()
            done += 1
            masks_added += added
            progress.write(f"{result.path.name}: {added} proposals")
        progress.update(1)
    progress.close()
    _summary(done, masks_added, already, unreadable)
    return 0


def _summary(done: int, masks_added: int, already: int, unreadable: list[str]) -> None:
    """The closing lines of a run on stderr: what was done, and each image skipped."""
    print(
        f"done: {done} images pre-labelled with {masks_added} masks; {already} were done "
        f"before; {len(unreadable)} skipped (unreadable).",
        file=sys.stderr,
    )
    for line in unreadable:
        print(f"  skipped {line}", file=sys.stderr)


def _images_in(document, folder: Path, root: Path) -> tuple[list[tuple[Path, int]], list[str]]:
    """``[(path, image id)]`` of the folder's images, adding new ones to the document."""
    from samlabel.core.errors import ImageReadError
    from samlabel.io.images import read_image_size
    from samlabel.io.images.folder import list_images

    found: list[tuple[Path, int]] = []
    unreadable: list[str] = []
    for path in list_images(folder):
        try:
            name = path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            name = path.resolve().as_posix()
        record = document.image_by_name(name)
        if record is None:
            try:
                height, width = read_image_size(path)
            except ImageReadError as error:
                unreadable.append(f"{path.name}: {error}")
                continue
            record = document.add_images([(name, width, height)], undoable=False)[0]
        found.append((path, record.id))
    return found, unreadable


def _category(document, name: str) -> int:
    for category in document.categories:
        if category.name == name:
            return category.id
    try:
        return document.add_category(name).id
    except ValueError as error:
        raise SamlabelError(f"bad --category: {error}.") from None


def _load(args: argparse.Namespace):
    """The predictor, with the batched decoder ready, and the id its embeddings are cached by."""
    from samlabel.commands.predict import resolve_model
    from samlabel.inference import load_predictor
    from samlabel.inference.onnx_backend import OnnxPredictor

    model_path = resolve_model(args.model)

    def report(message: str, fraction: float) -> None:
        print(f"{message} ({fraction:.0%})", file=sys.stderr)

    predictor = load_predictor(model_path, backend=args.backend, progress=report)
    if isinstance(predictor, OnnxPredictor):
        if model_path.is_file():
            from samlabel.inference.automatic_export import ensure_batch_decoder

            report("Preparing the batched decoder (once per model)", 0.0)
            ensure_batch_decoder(predictor.folder.root, model_path)
        if args.int8_decoder:
            predictor.use_int8_batch_decoder()
    elif args.int8_decoder:
        raise SamlabelError("--int8-decoder needs the ONNX Runtime backend.")
    from samlabel.inference.embedding_cache import model_key

    return predictor, model_key(model_path, getattr(predictor, "precision", "fp32"))


def _read(path: Path) -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB as the window hands it to SAM: the file's own window/level for
    16-bit and float images, which the window's cache lookup keys as "no window" (None)."""
    from samlabel.io.images import read_image, to_display_rgb

    return np.ascontiguousarray(to_display_rgb(read_image(path)), dtype=np.uint8)


def _cached_encoder(predictor, model_id: str, path: Path, size: tuple[int, int]):
    """An ``encode(crop, crop_box)`` for the generator that reads and fills the cache, under the
    keys the window looks up (the file's own window/level: ``window`` None)."""
    from samlabel.inference.embedding_cache import EmbeddingCache, EmbeddingKey

    cache = EmbeddingCache()
    height, width = size

    def encode(crop: np.ndarray, box: tuple[int, int, int, int]):
        region = None if tuple(box) == (0, 0, width, height) else tuple(int(v) for v in box)
        try:
            key = EmbeddingKey.for_file(model_id, path, None, region)
        except OSError:
            return predictor.encode(crop)
        embedding = cache.get(key)
        if embedding is None or embedding.original_size != crop.shape[:2]:
            embedding = predictor.encode(crop)
            cache.put(key, embedding)
        return embedding

    return encode


def _add_proposals(document, image_id: int, category_id: int, found, params) -> int:
    """Add the generator's masks (minus those over reviewed work) and mark the image done."""
    from pycocotools import mask as mask_utils

    reviewed = [
        a
        for a in document.annotations_for_image(image_id)
        if a.extra.get(REVIEWED_FIELD) is not False
    ]
    kept = [m for m in found if m.rle.area > 0]
    if reviewed and kept:

        def pyco(rle):
            return {"size": [int(v) for v in rle.size], "counts": rle.counts}

        ours = [pyco(m.rle) for m in kept]
        theirs = [pyco(a.rle) for a in reviewed]
        overlap = np.asarray(mask_utils.iou(ours, theirs, [0] * len(theirs)))
        rows = overlap.reshape(len(kept), len(theirs))
        kept = [m for m, row in zip(kept, rows, strict=True) if not (row > OVERLAP_IOU).any()]
    with document.group("Pre-label image"):
        for mask in kept:
            document.add_annotation(
                image_id,
                category_id,
                mask.rle.decode(),
                score=mask.predicted_iou,
                prompts={"points": [[mask.point[0], mask.point[1], 1]]},
                extra={REVIEWED_FIELD: False},
            )
        document.set_image_extra(image_id, AUTO_FIELD, {**params, "proposals": len(kept)})
    return len(kept)


def _progress(total: int):
    from tqdm import tqdm

    return tqdm(total=total, unit="image", file=sys.stderr, dynamic_ncols=True)
