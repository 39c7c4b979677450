"""Benchmark rows for segment everything: ours against Meta's generator, in one run.

Both start from the same random-weight network and the same 1 MP image and are timed wall
clock, encode included: ours is the path of ``samlabel auto`` (ONNX Runtime encoder, batched
decoder graph, filters on the low-res logits, survivors to RLE), Meta's is
``SamAutomaticMaskGenerator.generate()`` (torch). Meta's row needs the ``segment_anything``
package (and torchvision); without them it is skipped with a note. Default thresholds
(Meta's), so the numbers are what a user running either with defaults would wait; the row
says how many masks each returned and how many of Meta's ours matched (mask IoU >= 0.9).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

#: The image segment everything is timed on: 1 MP, the size of a phone photo shrunk for SAM.
IMAGE_SIZE = (864, 1152)


def segment_everything_rows(
    result,
    model,
    title: str,
    points_per_side: int = 32,
    log: Callable[[str], None] = print,
) -> None:
    """Add the rows for ``model`` (a torch SamModel) to ``result`` (a ``BenchResult``)."""
    _rows(result, model, title, points_per_side, log)


def _add(result, log: Callable[[str], None], title: str, measure: str, value: str) -> None:
    """A row of the table, also logged at once (Meta's row comes minutes later)."""
    result.add(title, measure, value)
    log(f"{measure}: {value}")


def _rows(result, model, title: str, points_per_side: int, log: Callable[[str], None]) -> None:
    from samlabel.inference.automatic import AutomaticMaskGenerator
    from samlabel.inference.automatic_export import export_batch_decoder
    from samlabel.inference.onnx_backend import OnnxPredictor
    from samlabel.inference.onnx_export import export_model
    from samlabel.inference.onnx_folder import open_onnx_folder

    image = np.random.default_rng(2).integers(0, 256, (*IMAGE_SIZE, 3), dtype=np.uint8)
    what = f"segment everything {points_per_side}x{points_per_side}, 1 MP"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        log(f"{title}: exporting for segment everything")
        export_model(model, folder, model_name=title, verify=False)
        export_batch_decoder(model, folder / "decoder_batch.onnx", verify=False)
        predictor = OnnxPredictor(open_onnx_folder(folder, check=False))
        generator = AutomaticMaskGenerator(
            predictor, points_per_side=points_per_side, output_mode="coco_rle"
        )
        log(f"{title}: segment everything, ours")
        generator.generate(image[:64, :64])  # warm-up: sessions allocate on first run
        start = time.perf_counter()
        ours = generator.generate(image)
        ours_seconds = time.perf_counter() - start
        _add(result, log, title, f"{what}, ours fp32", f"{ours_seconds:.1f} s, {len(ours)} masks")

        log(f"{title}: segment everything, ours with the int8 decoder")
        predictor.use_int8_batch_decoder()
        generator.generate(image[:64, :64])
        start = time.perf_counter()
        int8 = generator.generate(image)
        seconds = time.perf_counter() - start
        _add(
            result,
            log,
            title,
            f"{what}, ours int8 decoder",
            f"{seconds:.1f} s, {len(int8)} masks, {_matched(ours, int8)} of fp32's matched",
        )
    meta = _meta_generator(model, points_per_side)
    if isinstance(meta, str):
        _add(result, log, title, f"{what}, Meta's generate()", f"skipped: {meta}")
        return
    log(f"{title}: segment everything, Meta's generate() (slow)")
    start = time.perf_counter()
    reference = meta.generate(image)
    meta_seconds = time.perf_counter() - start
    _add(
        result,
        log,
        title,
        f"{what}, Meta's generate()",
        f"{meta_seconds:.1f} s, {len(reference)} masks; ours {meta_seconds / ours_seconds:.1f}x "
        f"faster, {_matched(reference, ours)} of Meta's matched",
    )


def _meta_generator(model, points_per_side: int):
    """Meta's generator on a copy of ``model``'s weights, or why it cannot be built."""
    try:
        from segment_anything import SamAutomaticMaskGenerator, sam_model_registry
    except Exception as error:  # not installed, or its torchvision does not load
        return f"segment_anything is not importable here ({error})"
    width = getattr(getattr(model.image_encoder, "patch_embed", None), "proj", None)
    kind = {768: "vit_b", 1024: "vit_l", 1280: "vit_h"}.get(getattr(width, "out_channels", 0))
    if kind is None:
        return "Meta's registry has no such encoder"
    sam = sam_model_registry[kind](checkpoint=None)
    sam.load_state_dict(model.state_dict())
    return SamAutomaticMaskGenerator(
        sam.eval(), points_per_side=points_per_side, output_mode="coco_rle"
    )


def _matched(reference: list[dict], candidates: list[dict]) -> str:
    """``"k/n"``: reference masks with a candidate at mask IoU >= 0.9."""
    if not reference:
        return "0/0"
    if not candidates:
        return f"0/{len(reference)}"
    from pycocotools import mask as mask_utils

    def pyco(records):
        return [
            {"size": r["segmentation"]["size"], "counts": r["segmentation"]["counts"].encode()}
            for r in records
        ]

    ious = np.asarray(mask_utils.iou(pyco(reference), pyco(candidates), [0] * len(candidates)))
    matched = int((ious.reshape(len(reference), -1).max(axis=1) >= 0.9).sum())
    return f"{matched}/{len(reference)}"
