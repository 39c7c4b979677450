"""``samlabel bench``: encoder and click-to-mask timings, measured side by side in one run.

Full-size networks are built with random weights in this process (speed does not depend on
the weight values), so no download is needed. Everything is compared within one run on the
machine at hand; absolute times differ between machines.

Rows, all from one run:

- encode: our torch model, Meta's ``SamPredictor.set_image`` (with segment-anything, see
  :mod:`samlabel.inference.bench_meta`), ONNX Runtime, OpenVINO f32 / bf16 (interleaved);
  each as a multiple of Meta's torch where Meta's row is there;
- per click at 1 MP and 12 MP (:mod:`samlabel.inference.bench_clicks`): Meta's decoder graph
  with upsampling (three full-size masks) beside ours on screen and ours for saving (the
  chosen mask at full size, straight to RLE), the chosen mask alone against Meta's
  ``postprocess_masks``, and the int8 and OpenVINO decoders on screen.

Each OpenVINO precision is compared with ONNX Runtime fp32 (embedding error, mask agreement)
against the quality gate's limits.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from samlabel.inference.api import ImageEmbedding
from samlabel.inference.bench_clicks import click_rows
from samlabel.inference.bench_common import (
    IMAGE_SIZES,
    clicks_at_random,
    ms,
    time_call,
)
from samlabel.inference.bench_common import seconds as timed
from samlabel.inference.transforms import resized_size

MODEL_CHOICES = ("vit_b", "vit_l", "vit_h", "vit_t", "sam2.1_t", "sam2.1_b+")
#: OpenVINO precisions measured by default (bf16 shows "not available" where the CPU lacks it).
OPENVINO_PRECISIONS = ("fp32", "bf16")
#: The row name of Meta's encoder.
META_ENCODE = "Meta's torch (SamPredictor.set_image)"


@dataclass
class BenchResult:
    """Rows of the final table: (model, what, detail) -> value text."""

    rows: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, model: str, what: str, value: str) -> None:
        self.rows.append((model, what, value))

    def table(self) -> str:
        widths = [
            max(len(r[i]) for r in [("model", "measure", "result"), *self.rows]) for i in range(3)
        ]
        lines = [
            "| "
            + " | ".join(
                h.ljust(w) for h, w in zip(("model", "measure", "result"), widths, strict=True)
            )
            + " |",
            "|" + "|".join("-" * (w + 2) for w in widths) + "|",
        ]
        lines += [
            "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
            for row in self.rows
        ]
        return "\n".join(lines)


def _build_random_model(name: str):
    import torch

    from samlabel.sam.build import VIT_CONFIGS, SamConfig, build_sam

    torch.manual_seed(0)
    if name == "vit_t":
        from samlabel.sam.tiny_vit import TinyViTConfig

        return build_sam(SamConfig(encoder=TinyViTConfig())).eval(), "MobileSAM (TinyViT)"
    title = {"vit_b": "SAM ViT-B", "vit_l": "SAM ViT-L", "vit_h": "SAM ViT-H"}[name]
    return build_sam(SamConfig(encoder=VIT_CONFIGS[title])).eval(), title


def run_benchmark(
    models: list[str],
    clicks: int = 30,
    encode_repeats: int = 2,
    device: str = "cpu",
    log: Callable[[str], None] = print,
    openvino_precisions: tuple[str, ...] = OPENVINO_PRECISIONS,
    openvino_device: str = "CPU",
    include_int8: bool = True,
    include_meta: bool = True,
) -> BenchResult:
    """Measure and return the table; ``log`` gets progress lines.

    ``openvino_precisions`` / ``openvino_device``: which OpenVINO variants to add beside ONNX
    Runtime (empty: none). ``include_int8``: the quantised decoder's rows. ``include_meta``:
    Meta's own paths beside ours where ``segment-anything`` is importable (a note otherwise).
    """
    from samlabel.inference.torch_backend import TorchPredictor

    result = BenchResult()
    random_image = np.random.default_rng(1).integers(0, 256, (864, 1152, 3), dtype=np.uint8)
    for name in models:
        if name.startswith("sam2"):  # SAM 2.1 rows: their own encoder outputs and exports
            from samlabel.inference.sam2_bench import sam2_rows

            openvino = (openvino_precisions, openvino_device)
            sam2_rows(result, name, random_image, clicks, encode_repeats, device, log, openvino)
            continue
        log(f"building {name} with random weights")
        model, title = _build_random_model(name)
        torch_predictor = TorchPredictor(model, device=device)
        result.add(title, "device", torch_predictor.device)
        log(f"{title}: torch encode")
        torch_predictor.encode(random_image)  # warm-up
        times = timed(lambda p=torch_predictor: p.encode(random_image), encode_repeats)
        result.add(title, "encode, torch", f"{statistics.median(times):.2f} s")
        if device != "cpu":
            embedding = torch_predictor.encode(random_image)
            for label, size in IMAGE_SIZES.items():
                emb = ImageEmbedding(embedding.features, size, resized_size(size))
                times = [
                    time_call(lambda p=p, e=emb, t=torch_predictor: t.decode(e, p).masks)
                    for p in clicks_at_random(size, clicks)
                ]
                result.add(title, f"click to full masks, torch, {label}", ms(times))
            continue
        openvino = (openvino_precisions, openvino_device)
        meta = _meta_paths(result, model, title, log) if include_meta else None
        options = (openvino, include_int8, meta)
        _onnx_rows(result, model, title, random_image, clicks, encode_repeats, log, options)
    return result


def _meta_paths(result: BenchResult, model, title: str, log):
    """Meta's paths for ``model``, or None with a row saying why they are missing."""
    from samlabel.inference.bench_meta import MetaPaths, import_segment_anything

    segment_anything, why = import_segment_anything()
    if segment_anything is None:
        result.add(title, "Meta's paths", f"skipped: {why}")
        return None
    try:
        log(f"{title}: loading the same weights into Meta's segment-anything")
        return MetaPaths(segment_anything, model)
    except ValueError as error:
        result.add(title, "Meta's paths", f"skipped: {error}")
        return None


def _onnx_rows(result, model, title, image, clicks, encode_repeats, log, options) -> None:
    import torch

    from samlabel.inference.onnx_backend import OnnxPredictor
    from samlabel.inference.onnx_convert import convert_to_onnx as _export
    from samlabel.inference.onnx_export import export_model
    from samlabel.inference.onnx_folder import open_onnx_folder
    from samlabel.inference.ort_sessions import open_session
    from samlabel.sam.onnx_modules import DecoderWithUpsampling, example_decoder_inputs

    with tempfile.TemporaryDirectory(prefix="samlabel-bench-") as tmp:
        folder = Path(tmp)
        log(f"{title}: exporting to ONNX")
        start = time.perf_counter()
        export_model(model, folder, title, verify=False)
        result.add(title, "ONNX export (once per model)", f"{time.perf_counter() - start:.1f} s")
        openvino_options, include_int8, meta = options
        args = (*example_decoder_inputs(), torch.tensor([864.0, 1152.0]))
        if meta is not None:
            log(f"{title}: exporting Meta's ONNX decoder with upsampling (SamOnnxModel)")
            meta.export_onnx(folder / "naive.onnx")
        else:
            _export(
                DecoderWithUpsampling(model),
                args,
                folder / "naive.onnx",
                [
                    "image_embeddings",
                    "point_coords",
                    "point_labels",
                    "mask_input",
                    "has_mask_input",
                    "orig_im_size",
                ],
                ["iou_predictions", "masks"],
                points_axis={1: 1, 2: 1},
            )
        onnx_folder = open_onnx_folder(folder, check=False)
        predictor = OnnxPredictor(onnx_folder)
        openvino = openvino_predictors(onnx_folder, log, *openvino_options)
        encoders = {"ONNX Runtime": predictor} | {
            name: p for name, p in openvino.items() if not isinstance(p, str)
        }
        if meta is not None:
            encoders[META_ENCODE] = meta
        log(f"{title}: encode in {', '.join(encoders)} (interleaved)")
        embeddings = {name: p.encode(image) for name, p in encoders.items()}  # warm-up
        encode_times: dict[str, list[float]] = {name: [] for name in encoders}
        for _ in range(encode_repeats):
            for name, p in encoders.items():
                encode_times[name] += timed(lambda p=p: p.encode(image), 1)
        reference = embeddings["ONNX Runtime"].features
        base = statistics.median(encode_times["ONNX Runtime"])
        if meta is not None:
            meta_s = statistics.median(encode_times[META_ENCODE])
            result.add(title, f"encode, {META_ENCODE}", f"{meta_s:.2f} s")
        for name in ("ONNX Runtime", *openvino):
            if name not in encoders:
                result.add(title, f"encode, {name}", str(openvino[name]))
                continue
            seconds = statistics.median(encode_times[name])
            text = f"{seconds:.2f} s"
            if meta is not None:
                text += f", {meta_s / seconds:.1f}x Meta's torch"
            elif name != "ONNX Runtime":
                text += f", {base / seconds:.1f}x ONNX Runtime"
            if name != "ONNX Runtime":
                error = np.abs(embeddings[name].features - reference).max()
                text += f", embedding error {error / np.abs(reference).max():.2%} of max"
            result.add(title, f"encode, {name}", text)
        quantised = OnnxPredictor(onnx_folder, decoder_precision="int8") if include_int8 else None
        others = {name: (p, embeddings[name]) for name, p in encoders.items() if name in openvino}
        naive = open_session(folder / "naive.onnx", None)  # as the product's per-click graphs
        for label, size in IMAGE_SIZES.items():
            log(f"{title}: clicks on a {label} image")
            reference_embedding = embeddings["ONNX Runtime"]
            click_rows(
                result,
                title,
                label,
                size,
                reference_embedding,
                predictor,
                quantised,
                naive,
                clicks,
                others,
                meta,
            )


def openvino_predictors(
    folder,
    log: Callable[[str], None] = print,
    precisions: tuple[str, ...] = OPENVINO_PRECISIONS,
    device: str = "CPU",
) -> dict[str, object]:
    """``{"OpenVINO f32": predictor, "OpenVINO bf16": predictor or why it is not available}``."""
    from samlabel.core.errors import InferenceError
    from samlabel.inference import openvino_backend as ovb

    names = {p: f"OpenVINO {ovb.PRECISION_HINTS.get(p, p)}" for p in precisions}
    if device.upper() != "CPU":
        names = {p: f"{name} on {device.upper()}" for p, name in names.items()}
    if not ovb.openvino_available():
        return {name: "not installed (pip install 'samlabel[openvino]')" for name in names.values()}
    found: dict[str, object] = {}
    for precision, name in names.items():
        log(f"compiling {name}")
        try:
            found[name] = ovb.OpenVinoPredictor(folder, device, precision)
        except InferenceError as error:  # bf16 on a processor without it: say so in the table
            found[name] = f"not available: {error}"
    return found
