"""The per-click rows of ``samlabel bench``: every path timed on the same clicks, interleaved.

Paths (one include and one exclude point at random places, the same for every path):

- ``Meta`` (or ``naive`` without segment-anything): the decoder graph with upsampling inside,
  three masks at the original size, thresholded;
- ``ours, mask on screen``: what a person waits for after a first click: the split decoder,
  the best mask resampled from the low-res logits straight to the on-screen size and
  outlined into the pixels the canvas draws (:func:`samlabel.core.mask_outline`); only
  wrapping them in a QImage and painting are left out;
- ``ours, mask on screen, refining click``: the same for a click that refines the mask: the
  include point's selected logits fed back as the mask input (the decoder with a mask);
- ``ours: decode + three full-size masks``: the same work as Meta's graph (three masks at
  the original size, pixel for pixel Meta's), to compare with it;
- ``ours: decode only``: the floor of the row above (its masks cost nothing);
- ``ours: decode + chosen full-size mask to RLE``: what accepting a mask costs;
- ``chosen mask only``: the full-size mask of the chosen candidate from logits already
  decoded: ours (exact, boundary-only), ours to RLE, Meta's ``postprocess_masks`` in torch;
- ``int8`` and ``OpenVINO``: the mask on screen with those decoders.
"""

from __future__ import annotations

import statistics

import numpy as np

from samlabel.core.mask_outline import outlined_mask_pixels
from samlabel.inference.api import ImageEmbedding
from samlabel.inference.bench_common import (
    IMAGE_SIZES,
    SCREEN_SIZE,
    clicks_at_random,
    fit,
    ms,
    p95,
    time_call,
)
from samlabel.inference.transforms import resized_size

NAIVE = "full-size masks in the graph (3)"
THREE = "ours: decode + three full-size masks (exact)"
DECODE = "ours: decode only"
SAVE_RLE = "ours: decode + chosen full-size mask to RLE"
SCREEN = "ours, mask on screen"
REFINE = "ours, mask on screen, refining click"
#: Premultiplied ARGB of the live mask's fill and line (the window's blue at its alpha).
_FILL, _LINE = 0x87225387, 0xFF409CFF


def click_rows(
    result, title, label, size, embedding, predictor, quantised, naive, clicks, others, meta
):
    """Per-click rows at one image size; see the module docstring for the paths."""
    from samlabel.inference.prompts import build_prompt_arrays

    emb = ImageEmbedding(embedding.features, size, resized_size(size))
    predictor.prepare(emb)
    if quantised is not None:
        quantised.prepare(emb)
    # Every OpenVINO precision decodes its own embedding, as it would in use.
    own = {
        name: (p, ImageEmbedding(e.features, size, resized_size(size)))
        for name, (p, e) in (others or {}).items()
    }
    for p, e in own.values():
        p.prepare(e)
    view = fit(size, SCREEN_SIZE)
    prompts = list(clicks_at_random(size, clicks))
    # One decode per click for the rows that time only the full-size mask of the chosen one.
    decoded = {id(points): predictor.decode(emb, points) for points in prompts}
    naive_label = f"{'Meta' if meta is not None else 'naive'}: {NAIVE}"
    mask_output = [o.name for o in naive.get_outputs()].index("masks")

    def naive_click(points):
        coords, labels = build_prompt_arrays(points, None, emb.original_size, emb.input_size)
        outputs = naive.run(
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
        return outputs[mask_output] > 0

    def screen_click(p, points, e=emb, mask_input=None):
        prediction = p.decode(e, points, mask_input=mask_input)
        mask = prediction.mask_logits_for_view(prediction.best_index(), view) > 0
        return outlined_mask_pixels(mask, _FILL, _LINE)

    # The logits a refining click feeds back: the include point alone, decoded before.
    first_logits = {}
    for points in prompts:
        alone = predictor.decode(emb, points[:1])
        first_logits[id(points)] = alone.low_res_logits[alone.best_index()]

    def save_click(points):
        prediction = predictor.decode(emb, points)
        return prediction.full_mask_rle(prediction.best_index())

    def chosen(points):
        prediction = decoded[id(points)]
        return prediction, prediction.best_index()

    paths = {
        naive_label: naive_click,
        SCREEN: lambda points: screen_click(predictor, points),
        REFINE: lambda pts: screen_click(predictor, pts, mask_input=first_logits[id(pts)]),
        THREE: lambda points: predictor.decode(emb, points).masks,
        DECODE: lambda points: predictor.decode(emb, points),
        SAVE_RLE: save_click,
        "chosen mask only: ours, full size": lambda pts: _full(*chosen(pts)),
        "chosen mask only: ours, full size to RLE": lambda pts: _rle(*chosen(pts)),
    }
    if meta is not None:
        paths["chosen mask only: Meta's postprocess_masks (torch)"] = lambda pts: _meta_full(
            meta, *chosen(pts)
        )
    if quantised is not None:
        paths["ours int8, mask on screen"] = lambda points: screen_click(quantised, points)
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
            rows[what].append(time_call(lambda fn=fn, points=points: fn(points)))
    for what, times in rows.items():
        result.add(title, f"click {label}: {what}", ms(times))
    naive_p50 = statistics.median(rows[naive_label])
    graph = f"{naive_label.split(':')[0]}'s graph"
    for what, ours in (
        ("three full-size masks", THREE),
        ("floor: decode only", DECODE),
        ("accept: chosen candidate to RLE", SAVE_RLE),
    ):
        result.add(
            title,
            f"click {label}: {graph} vs ours, {what} (p50)",
            f"{naive_p50 / statistics.median(rows[ours]):.2f}x",
        )
    naive_p95 = p95(rows[naive_label])
    result.add(
        title, f"click {label}: speed-up on screen at p95", f"{naive_p95 / p95(rows[SCREEN]):.1f}x"
    )
    if meta is not None:
        ratio = statistics.median(rows["chosen mask only: Meta's postprocess_masks (torch)"])
        ratio /= statistics.median(rows["chosen mask only: ours, full size to RLE"])
        result.add(
            title, f"click {label}: chosen mask only, Meta's torch vs ours + RLE", f"{ratio:.1f}x"
        )
    if label == next(iter(IMAGE_SIZES)):
        if quantised is not None:
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
    if meta is not None:
        same = all(
            np.array_equal(_full(*chosen(pts)), _meta_full(meta, *chosen(pts))) for pts in prompts
        )
        result.add(
            title,
            f"click {label}: chosen full-size mask vs Meta's postprocess_masks",
            "identical pixels" if same else "DIFFERENT pixels",
        )


def _full(prediction, index):
    return prediction.full_mask(index)


def _rle(prediction, index):
    return prediction.full_mask_rle(index)


def _meta_full(meta, prediction, index):
    return meta.full_mask(
        prediction.low_res_logits[index], prediction.input_size, prediction.original_size
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
