"""``samlabel bench`` rows for SAM 2.1 (Hiera-T, Hiera-B+), next to the SAM 1 rows.

Full-size networks with random weights, built and exported in this process; encoders of
torch, ONNX Runtime and OpenVINO timed in one run, then a click (one include and one exclude
point) to the mask on screen and to the full-size mask to save, on 1 MP and 12 MP images. A
click on a new object has no mask input and runs the split decoder (its per-image part done
once per embedding); a refining click feeds the previous mask back and runs the whole one.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from samlabel.inference.api import ImageEmbedding
from samlabel.inference.bench_common import (
    IMAGE_SIZES,
    SCREEN_SIZE,
    clicks_at_random,
    fit,
    ms,
    seconds,
    time_call,
)

#: Bench model names -> size in :data:`samlabel.sam.sam2_model.HIERA_CONFIGS`.
SAM2_BENCH_MODELS = {"sam2.1_t": "tiny", "sam2.1_b+": "base_plus"}


def build_random_sam2(name: str):
    """A full-size SAM 2 of bench model ``name`` with seeded random weights, and its title."""
    import torch

    from samlabel.sam.sam2_model import HIERA_CONFIGS, SIZE_NAMES, Sam2Config, build_sam2

    size = SAM2_BENCH_MODELS[name]
    torch.manual_seed(0)
    model = build_sam2(Sam2Config(size, HIERA_CONFIGS[size])).eval()
    return model, f"SAM 2.1 {SIZE_NAMES[size]}"


def sam2_rows(
    result,
    name: str,
    image: np.ndarray,
    clicks: int,
    encode_repeats: int,
    device: str,
    log: Callable[[str], None],
    openvino_options: tuple[tuple[str, ...], str],
) -> None:
    """Add the rows of SAM 2.1 model ``name`` to ``result`` (a ``BenchResult``)."""
    from samlabel.inference.benchmark import openvino_predictors
    from samlabel.inference.onnx_backend import OnnxPredictor
    from samlabel.inference.onnx_folder import open_onnx_folder
    from samlabel.inference.sam2_export import export_sam2_model
    from samlabel.inference.sam2_torch import Sam2TorchPredictor

    log(f"building {name} with random weights")
    model, title = build_random_sam2(name)
    torch_predictor = Sam2TorchPredictor(model, device=device)
    result.add(title, "device", torch_predictor.device)
    log(f"{title}: torch encode")
    torch_predictor.encode(image)  # warm-up
    times = seconds(lambda: torch_predictor.encode(image), encode_repeats)
    result.add(title, "encode, torch", f"{statistics.median(times):.2f} s")
    with tempfile.TemporaryDirectory(prefix="samlabel-bench-") as tmp:
        folder = Path(tmp)
        log(f"{title}: exporting to ONNX")
        start = time.perf_counter()
        export_sam2_model(model, folder, title, verify=False)
        result.add(title, "ONNX export (once per model)", f"{time.perf_counter() - start:.1f} s")
        onnx_folder = open_onnx_folder(folder, check=False)
        encoders = {"ONNX Runtime": OnnxPredictor(onnx_folder)}
        openvino = openvino_predictors(onnx_folder, log, *openvino_options)
        encoders |= {n: p for n, p in openvino.items() if not isinstance(p, str)}
        log(f"{title}: encode in {', '.join(encoders)} (interleaved)")
        embeddings = {n: p.encode(image) for n, p in encoders.items()}  # warm-up
        encode_times: dict[str, list[float]] = {n: [] for n in encoders}
        for _ in range(encode_repeats):
            for n, p in encoders.items():
                encode_times[n] += seconds(lambda p=p: p.encode(image), 1)
        for n in ("ONNX Runtime", *openvino):
            text = f"{statistics.median(encode_times[n]):.2f} s" if n in encoders else openvino[n]
            result.add(title, f"encode, {n}", str(text))
        for label, size in IMAGE_SIZES.items():
            log(f"{title}: clicks on a {label} image")
            view = fit(size, SCREEN_SIZE)
            prompts = list(clicks_at_random(size, clicks))
            paths: dict[str, Callable] = {}
            for n, p in encoders.items():
                e = embeddings[n]
                emb = ImageEmbedding(
                    e.features,
                    size,
                    e.input_size,
                    high_res_features=e.high_res_features,
                    stretched=True,
                )

                def screen(points, p=p, emb=emb, view=view):
                    prediction = p.decode(emb, points)
                    return prediction.mask_logits_for_view(prediction.best_index(), view) > 0

                def refine(points, p=p, emb=emb, view=view):
                    # A further click on the same object: the previous mask goes back in,
                    # so the whole decoder runs instead of the split one.
                    previous = p.decode(emb, points[:1])
                    start = time.perf_counter()
                    prediction = p.decode(emb, points, mask_input=previous.low_res_logits[0])
                    prediction.mask_logits_for_view(prediction.best_index(), view)
                    return time.perf_counter() - start

                paths[f"{n}, mask on screen"] = screen
                paths[f"{n}, mask on screen, refining click"] = refine
                if n == "ONNX Runtime":

                    def save(points, p=p, emb=emb):
                        prediction = p.decode(emb, points)
                        return prediction.full_mask(prediction.best_index())

                    paths[f"{n}, full-size mask to save"] = save
            for fn in paths.values():  # warm-up
                fn(prompts[0])
            rows: dict[str, list[float]] = {what: [] for what in paths}
            order = list(paths.items())
            for i, points in enumerate(prompts):  # interleaved, rotating order (as SAM 1 rows)
                shift = i % len(order)
                for what, fn in order[shift:] + order[:shift]:
                    if what.endswith("refining click"):
                        rows[what].append(fn(points))  # times only the refining decode
                    else:
                        rows[what].append(time_call(lambda fn=fn, points=points: fn(points)))
            for what, values in rows.items():
                result.add(title, f"click {label}: {what}", ms(values))
