"""``samlabel bench``: encoder and click-to-mask timings, measured side by side in one run.

Full-size networks are built with random weights in this process (speed does not depend on
the weight values), so no download is needed. Everything is compared within one run on the
machine at hand; absolute times differ between machines.

Paths compared for a click (one include point plus one exclude point, random places):

- ``naive``: the decoder with upsampling to the full image inside the graph (as Meta's ONNX
  export does), then thresholding the full-size masks;
- ``ours (screen)``: the split decoder (per-image work done at encode time) and the best
  mask resampled from the low-res logits straight to the on-screen size;
- ``ours (save)``: the same decode plus the full-resolution mask of the chosen candidate,
  as it is computed when the user accepts it;
- ``int8 (screen)``: ``ours (screen)`` with the dynamically quantised decoder;
- ``OpenVINO f32 / bf16 (screen)``: ``ours (screen)`` in OpenVINO, each on its own embedding
  (when the ``openvino`` extra is installed; bf16 where the processor computes it).

Encodes of ONNX Runtime and OpenVINO are interleaved too, and each OpenVINO precision is
compared with ONNX Runtime fp32 (embedding error, mask agreement) against the quality gate's
limits.
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
from samlabel.inference.transforms import resized_size

#: Image sizes (H, W) for the click benchmark.
IMAGE_SIZES: dict[str, tuple[int, int]] = {"1 MP": (864, 1152), "12 MP": (3000, 4000)}
#: The canvas area an image is fitted into on screen (a laptop window).
SCREEN_SIZE = (1000, 1600)
MODEL_CHOICES = ("vit_b", "vit_l", "vit_h", "vit_t", "sam2.1_t", "sam2.1_b+")
#: OpenVINO precisions measured by default (bf16 shows "not available" where the CPU lacks it).
OPENVINO_PRECISIONS = ("fp32", "bf16")


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


def _seconds(fn: Callable[[], object], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _ms(values: list[float]) -> str:
    p50 = statistics.median(values)
    p95 = _p95(values)
    return f"p50 {p50 * 1000:6.1f} ms, p95 {p95 * 1000:6.1f} ms"


def _fit(image_hw: tuple[int, int], screen_hw: tuple[int, int]) -> tuple[int, int]:
    scale = min(screen_hw[0] / image_hw[0], screen_hw[1] / image_hw[1], 1.0)
    return max(1, round(image_hw[0] * scale)), max(1, round(image_hw[1] * scale))


def _clicks(image_hw: tuple[int, int], count: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    h, w = image_hw
    for _ in range(count):
        yield [
            (float(rng.uniform(0, w)), float(rng.uniform(0, h)), 1),
            (float(rng.uniform(0, w)), float(rng.uniform(0, h)), 0),
        ]


def run_benchmark(
    models: list[str],
    clicks: int = 30,
    encode_repeats: int = 2,
    device: str = "cpu",
    log: Callable[[str], None] = print,
    openvino_precisions: tuple[str, ...] = OPENVINO_PRECISIONS,
    openvino_device: str = "CPU",
) -> BenchResult:
    """Measure and return the table; ``log`` gets progress lines.

    ``openvino_precisions`` / ``openvino_device``: which OpenVINO variants to add beside ONNX
    Runtime (empty: none).
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
        times = _seconds(lambda p=torch_predictor: p.encode(random_image), encode_repeats)
        result.add(title, "encode, torch", f"{statistics.median(times):.2f} s")
        if device != "cpu":
            embedding = torch_predictor.encode(random_image)
            for label, size in IMAGE_SIZES.items():
                emb = ImageEmbedding(embedding.features, size, resized_size(size))
                times = [
                    _time_click(lambda p=p, e=emb, t=torch_predictor: t.decode(e, p).masks)
                    for p in _clicks(size, clicks)
                ]
                result.add(title, f"click to full masks, torch, {label}", _ms(times))
            continue
        openvino = (openvino_precisions, openvino_device)
        _onnx_rows(result, model, title, random_image, clicks, encode_repeats, log, openvino)
    return result


def _time_click(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _onnx_rows(result, model, title, image, clicks, encode_repeats, log, openvino_options) -> None:
    import torch

    from samlabel.inference.onnx_backend import OnnxPredictor, _session
    from samlabel.inference.onnx_export import _export, export_model
    from samlabel.inference.onnx_folder import open_onnx_folder
    from samlabel.sam.onnx_modules import DecoderWithUpsampling, example_decoder_inputs

    with tempfile.TemporaryDirectory(prefix="samlabel-bench-") as tmp:
        folder = Path(tmp)
        log(f"{title}: exporting to ONNX")
        start = time.perf_counter()
        export_model(model, folder, title, verify=False)
        result.add(title, "ONNX export (once per model)", f"{time.perf_counter() - start:.1f} s")
        args = (*example_decoder_inputs(), torch.tensor([864.0, 1152.0]))
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
        log(f"{title}: encode in {', '.join(encoders)} (interleaved)")
        embeddings = {name: p.encode(image) for name, p in encoders.items()}  # warm-up
        encode_times: dict[str, list[float]] = {name: [] for name in encoders}
        for _ in range(encode_repeats):
            for name, p in encoders.items():
                encode_times[name] += _seconds(lambda p=p: p.encode(image), 1)
        reference = embeddings["ONNX Runtime"].features
        for name in ("ONNX Runtime", *openvino):
            if name not in encoders:
                result.add(title, f"encode, {name}", str(openvino[name]))
                continue
            text = f"{statistics.median(encode_times[name]):.2f} s"
            if name != "ONNX Runtime":
                error = np.abs(embeddings[name].features - reference).max()
                text += f", embedding error {error / np.abs(reference).max():.2%} of max"
            result.add(title, f"encode, {name}", text)
        quantised = OnnxPredictor(onnx_folder, decoder_precision="int8")
        others = {name: (p, embeddings[name]) for name, p in encoders.items() if name in openvino}
        naive = _session(folder / "naive.onnx", None)  # same options as the product's sessions
        for label, size in IMAGE_SIZES.items():
            log(f"{title}: clicks on a {label} image")
            reference_embedding = embeddings["ONNX Runtime"]
            _click_rows(
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


def _click_rows(
    result, title, label, size, embedding, predictor, quantised, naive, clicks, others=None
):
    from samlabel.inference.prompts import build_prompt_arrays

    emb = ImageEmbedding(embedding.features, size, resized_size(size))
    predictor.prepare(emb)
    quantised.prepare(emb)
    # Every OpenVINO precision decodes its own embedding, as it would in use.
    own = {
        name: (p, ImageEmbedding(e.features, size, resized_size(size)))
        for name, (p, e) in (others or {}).items()
    }
    for p, e in own.values():
        p.prepare(e)
    view = _fit(size, SCREEN_SIZE)
    prompts = list(_clicks(size, clicks))

    def naive_click(points):
        coords, labels = build_prompt_arrays(points, None, emb.original_size, emb.input_size)
        _, masks = naive.run(
            None,
            {
                "image_embeddings": emb.features,
                "point_coords": coords,
                "point_labels": labels,
                "mask_input": np.zeros((1, 1, 256, 256), np.float32),
                "has_mask_input": np.zeros(1, np.float32),
                "orig_im_size": np.array(size, np.float32),
            },
        )
        return masks > 0

    def screen_click(p, points, e=emb):
        prediction = p.decode(e, points)
        return prediction.mask_logits_for_view(prediction.best_index(), view) > 0

    def save_click(points):
        prediction = predictor.decode(emb, points)
        return prediction.full_mask(prediction.best_index())

    paths = {
        "naive (upsampling in graph)": naive_click,
        "ours, mask on screen": lambda points: screen_click(predictor, points),
        "ours, full-size mask to save": save_click,
        "ours int8, mask on screen": lambda points: screen_click(quantised, points),
    }
    for name, (p, e) in own.items():
        paths[f"{name}, mask on screen"] = lambda points, p=p, e=e: screen_click(p, points, e)
    for fn in paths.values():  # warm-up
        fn(prompts[0])
    rows: dict[str, list[float]] = {what: [] for what in paths}
    # Interleaved, so a busy moment of the machine hits every path alike, and in a rotating
    # order, so each path follows every other one equally often (the run before leaves the
    # caches cold: a 12 MP naive mask alone is 190 MB).
    order = list(paths.items())
    for i, points in enumerate(prompts):
        shift = i % len(order)
        for what, fn in order[shift:] + order[:shift]:
            rows[what].append(_time_click(lambda fn=fn, points=points: fn(points)))
    for what, times in rows.items():
        result.add(title, f"click {label}: {what}", _ms(times))
    naive_p95 = _p95(rows["naive (upsampling in graph)"])
    ours_p95 = _p95(rows["ours, mask on screen"])
    result.add(title, f"click {label}: speed-up at p95", f"{naive_p95 / ours_p95:.1f}x")
    if label == next(iter(IMAGE_SIZES)):
        agreements, score_diffs = [], []
        for points in prompts:
            a = predictor.decode(emb, points)
            b = quantised.decode(emb, points)
            agreements.extend((a.masks[i] == b.masks[i]).mean() for i in range(3))
            score_diffs.append(float(np.abs(a.scores - b.scores).max()))
        result.add(
            title,
            "int8 decoder vs fp32",
            f"mask agreement mean {np.mean(agreements):.2%}, worst {np.min(agreements):.2%}; "
            f"score diff max {max(score_diffs):.3f}",
        )
        for name, (p, e) in own.items():
            result.add(
                title, f"{name} vs ONNX Runtime fp32", _agreement(predictor, emb, p, e, prompts)
            )


def _agreement(reference, ref_embedding, candidate, embedding, prompts) -> str:
    """Mask agreement end to end (each on its own embedding), against the quality gate."""
    from samlabel.inference.precision_gate import EMBEDDING_TOLERANCE, MASK_AGREEMENT

    agreements = []
    for points in prompts:
        a = reference.decode(ref_embedding, points)
        b = candidate.decode(embedding, points)
        agreements.extend(float((a.masks[i] == b.masks[i]).mean()) for i in range(3))
    peak = np.abs(ref_embedding.features).max()
    error = float(np.abs(embedding.features - ref_embedding.features).max() / peak)
    passes = error <= EMBEDDING_TOLERANCE and min(agreements) >= MASK_AGREEMENT
    return (
        f"mask agreement mean {np.mean(agreements):.2%}, worst {np.min(agreements):.2%}; "
        f"embedding error {error:.2%}: {'within' if passes else 'outside'} the quality gate"
    )
